using System.Diagnostics;
using ClipData;
using Microsoft.ML.Clip.Datasets.Mnist;
using Microsoft.ML.Clip.Tsv;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// <c>clip-data prepare</c> (the first step of build/run.sh) on a generated data folder laid out like the fetch's: in
/// process with small sizes, and as the built tool with <c>--quick</c> and with sources missing. The TSVs are read back
/// with the reader the <c>clip</c> tool uses, and every image is decoded and recognised by its source's colour.
/// </summary>
public class PrepareTests
{
    private static readonly PrepareSizes Small = new()
    {
        SubgroupTrainPerClass = 3,
        SubgroupTestPerClass = 2,
        SubgroupClasses = 2,
        NameClasses = 5,
        DigitsTrain = 20,
        DigitsTest = 30,
        ImageSide = 32,
    };

    [Fact]
    public void TrainingPairsComeFromTheTrainingSourcesAndTheEvaluationSetsFromHeldOutOnes()
    {
        using var root = new TempFolder();
        var data = Path.Combine(root.Path, "data");
        SyntheticDataFolder.Write(data, full: true);
        var output = Path.Combine(root.Path, "out");
        var log = new List<string>();

        new MainJobPreparation(data, output, Small, seed: 0, log.Add).Run();

        // train/pairs.tsv: every training source, all their drawings, and not one OpenMoji image.
        var pairsTsv = Path.Combine(output, "train", "pairs.tsv");
        Assert.Equal(PairsTsv.Header, File.ReadLines(pairsTsv).First());
        var pairs = ImageTextTsv.Read(pairsTsv, "caption");
        var styles = pairs.Select(p => StyleOf(p.ImagePath, maxSide: Small.ImageSide)).ToList();
        var expected = new Dictionary<string, int>
        {
            ["google"] = Enumerable.Range(0, SyntheticDataFolder.EmojiCount).Count(i => SyntheticDataFolder.Draws("google", i)),
            ["twitter"] = Enumerable.Range(0, SyntheticDataFolder.EmojiCount).Count(i => SyntheticDataFolder.Draws("twitter", i)),
            ["fluent-3d"] = Enumerable.Range(0, SyntheticDataFolder.EmojiCount).Count(i => SyntheticDataFolder.Draws("fluent-3d", i)),
            ["clipart"] = 2,
            ["stamp"] = 2,
        };
        Assert.Equal(expected.OrderBy(kv => kv.Key), styles.GroupBy(s => s).Select(g => KeyValuePair.Create(g.Key, g.Count())).OrderBy(kv => kv.Key));
        Assert.DoesNotContain(pairs, p => p.ImagePath.Contains("openmoji", StringComparison.OrdinalIgnoreCase));
        // Captions stay with their images: the blue (Fluent 3D) images carry the names of the emoji Fluent draws.
        var fluentNames = pairs.Where((p, i) => styles[i] == "fluent-3d").Select(p => p.Text.Split(',')[0]).Order().ToList();
        Assert.Equal(Enumerable.Range(0, SyntheticDataFolder.EmojiCount).Where(i => SyntheticDataFolder.Draws("fluent-3d", i))
            .Select(SyntheticDataFolder.EmojiName).Order(), fluentNames);
        Assert.Contains(pairs, p => p.Text.StartsWith("Ice Cream Cone", StringComparison.Ordinal));
        Assert.Contains(pairs, p => p.Text == "A coin.");

        // train/captions.tsv: the same images, each with its caption variants as rows (name twice: weights are rows).
        var captions = ImageTextTsv.Read(Path.Combine(output, "train", "captions.tsv"), "caption");
        Assert.Equal(pairs.Select(p => p.ImagePath).Distinct().Order(), captions.Select(c => c.ImagePath).Distinct().Order());
        var coin = captions.Where(c => c.ImagePath == pairs.Single(p => p.Text == "A coin.").ImagePath).Select(c => c.Text).ToList();
        Assert.Equal(2, coin.Count(t => t == "coin"));
        Assert.Contains("a drawing of coin.", coin);
        Assert.Contains("A coin.", coin);
        var emoji = pairs.First(p => p.ImagePath.Contains("emoji", StringComparison.Ordinal));
        var emojiCaptions = captions.Where(c => c.ImagePath == emoji.ImagePath).Select(c => c.Text).ToList();
        var emojiName = emoji.Text.Split(',')[0];
        Assert.Equal(2, emojiCaptions.Count(t => t == emojiName));
        Assert.Contains($"an emoji of {emojiName}.", emojiCaptions);
        Assert.Contains(SyntheticDataFolder.SubgroupOf(EmojiIndex(emoji.ImagePath)), emojiCaptions);
        Assert.Contains(emoji.Text, emojiCaptions);

        // OpenMoji by subgroup: two of the three subgroups large enough (the fourth has 2 emoji), 3 + 2 per class.
        var (subTrain, subTest) = ReadSet(output, "openmoji-subgroups", ["{}", "an emoji of {}."]);
        var subgroupClasses = subTrain.Select(r => r.Text).Distinct().ToList();
        Assert.Equal(2, subgroupClasses.Count);
        Assert.Subset(new HashSet<string> { "face smiling", "face affection", "animal mammal" }, subgroupClasses.ToHashSet());
        Assert.All(subgroupClasses, c => Assert.Equal((3, 2), (subTrain.Count(r => r.Text == c), subTest.Count(r => r.Text == c))));
        Assert.Equal(subgroupClasses.Order(), subTest.Select(r => r.Text).Distinct().Order());
        foreach (var row in subTrain.Concat(subTest))
        {
            Assert.Equal("openmoji", StyleOf(row.ImagePath, Small.ImageSide));
            Assert.Equal(SyntheticDataFolder.SubgroupOf(EmojiIndex(row.ImagePath)), row.Text);
        }

        // OpenMoji by name: probes learn from the training styles' images of a name, the test is OpenMoji's.
        var (nameTrain, nameTest) = ReadSet(output, "openmoji-names", ["{}", "an emoji of {}."]);
        Assert.Equal(Small.NameClasses, nameTest.Count);
        Assert.Equal(nameTest.Select(r => r.Text).Order(), nameTrain.Select(r => r.Text).Distinct().Order());
        foreach (var row in nameTest)
        {
            Assert.Equal("openmoji", StyleOf(row.ImagePath, Small.ImageSide));
            Assert.Equal(SyntheticDataFolder.EmojiName(EmojiIndex(row.ImagePath)), row.Text);
        }
        foreach (var group in nameTrain.GroupBy(r => r.Text))
        {
            var index = EmojiIndex(group.First().ImagePath);
            var drawnBy = new[] { "google", "twitter", "fluent-3d" }.Where(s => SyntheticDataFolder.Draws(s, index)).Order().ToList();
            Assert.True(drawnBy.Count >= 2, $"'{group.Key}' is drawn by {drawnBy.Count} training style(s)");
            Assert.Equal(drawnBy, group.Select(r => StyleOf(r.ImagePath, Small.ImageSide)).Order());
            Assert.All(group, r => Assert.Equal(SyntheticDataFolder.EmojiName(EmojiIndex(r.ImagePath)), r.Text));
        }

        // MNIST-like sets: equal shares of every class, train images from the train split, test from t10k.
        AssertDigits(output, "fashion-mnist", MnistDataset.FashionClassNames, trainPerClass: 2, testPerClass: 3, ["{}", "a photo of a {}."]);
        AssertDigits(output, "mnist", MnistDataset.MnistClassNames, trainPerClass: 2, testPerClass: 3, ["{}", "a drawing of the number {}."]);
        Assert.Contains(log, l => l.StartsWith("train/pairs.tsv: 48 pairs", StringComparison.Ordinal));

        // The same seed writes the same files (prepared images come from the cache the first run filled).
        var again = Path.Combine(root.Path, "out2");
        new MainJobPreparation(data, again, Small, seed: 0, _ => { }).Run();
        foreach (var tsv in Directory.EnumerateFiles(output, "*.*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".png", StringComparison.Ordinal)))
            Assert.Equal(File.ReadAllText(tsv), File.ReadAllText(Path.Combine(again, Path.GetRelativePath(output, tsv))));
    }

    [Fact]
    public void APreparationReplacesTheEvaluationSetsOfAnEarlierOne()
    {
        using var root = new TempFolder();
        var data = Path.Combine(root.Path, "data");
        SyntheticDataFolder.Write(data, full: true);
        var output = Path.Combine(root.Path, "out");
        new MainJobPreparation(data, output, Small, seed: 0, _ => { }).Run();
        Assert.True(Directory.Exists(Path.Combine(output, "eval", "openmoji-names")));
        Assert.Equal(50, Directory.GetFiles(Path.Combine(output, "eval", "mnist", "images")).Length);

        // One training style (as --quick has): no name set this time, and fewer digit images.
        var log = new List<string>();
        new MainJobPreparation(data, output, Small with { TrainingSets = [PairSet.EmojiFluent3D], DigitsTrain = 10, DigitsTest = 10 }, seed: 0, log.Add).Run();
        Assert.Contains(log, l => l.StartsWith("eval/openmoji-names: skipped", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Path.Combine(output, "eval", "openmoji-names")));
        Assert.Equal(20, Directory.GetFiles(Path.Combine(output, "eval", "mnist", "images")).Length);
        Assert.All(ImageTextTsv.Read(Path.Combine(output, "train", "pairs.tsv"), "caption"),
            p => Assert.Equal("fluent-3d", StyleOf(p.ImagePath, Small.ImageSide)));
    }

    [Fact]
    public void QuickRunsTheBuiltToolOnWhatTheQuickFetchUnpacks()
    {
        using var root = new TempFolder();
        var data = Path.Combine(root.Path, "data");
        SyntheticDataFolder.Write(data, full: false);
        File.WriteAllText(Path.Combine(data, "fetched-quick"), "");
        var output = Path.Combine(root.Path, "out", "data");

        var (exit, stdout, stderr) = ClipData("prepare", "--data", data, "--out", output, "--quick");

        Assert.True(exit == 0, stderr);
        Assert.Contains("eval/openmoji-names: skipped", stdout);
        var quick = PrepareSizes.Quick;
        var pairs = ImageTextTsv.Read(Path.Combine(output, "train", "pairs.tsv"), "caption");
        Assert.Equal(Enumerable.Range(0, SyntheticDataFolder.EmojiCount).Count(i => SyntheticDataFolder.Draws("fluent-3d", i)), pairs.Count);
        Assert.All(pairs, p => Assert.Equal("fluent-3d", StyleOf(p.ImagePath, quick.ImageSide)));

        // Quick sizes: 4 train + at least 2 test per subgroup: only the two subgroups of 6 emoji qualify.
        var (train, test) = ReadSet(output, "openmoji-subgroups", ["{}", "an emoji of {}."]);
        Assert.Equal(["face affection", "face smiling"], train.Select(r => r.Text).Distinct().Order());
        Assert.All(train.GroupBy(r => r.Text), g => Assert.Equal(quick.SubgroupTrainPerClass, g.Count()));
        Assert.All(test.GroupBy(r => r.Text), g => Assert.Equal(2, g.Count()));
        Assert.All(train.Concat(test), r => Assert.Equal("openmoji", StyleOf(r.ImagePath, quick.ImageSide)));
        Assert.False(Directory.Exists(Path.Combine(output, "eval", "openmoji-names")));
        AssertDigits(output, "fashion-mnist", MnistDataset.FashionClassNames, quick.DigitsTrain / 10, quick.DigitsTest / 10, ["{}", "a photo of a {}."]);
        AssertDigits(output, "mnist", MnistDataset.MnistClassNames, quick.DigitsTrain / 10, quick.DigitsTest / 10, ["{}", "a drawing of the number {}."]);
    }

    [Fact]
    public void MissingSourcesAreNamedBeforeAnythingIsWritten()
    {
        using var root = new TempFolder();
        var data = Path.Combine(root.Path, "data");
        SyntheticDataFolder.Write(data, full: true);
        Directory.Delete(Path.Combine(data, "tuxpaint-stamps"), recursive: true);
        Directory.Delete(Path.Combine(data, "openmoji"), recursive: true);
        var output = Path.Combine(root.Path, "out");

        var (exit, _, stderr) = ClipData("prepare", "--data", data, "--out", output);

        Assert.Equal(1, exit);
        Assert.Contains($"'{Path.Combine(data, "tuxpaint-stamps")}'", stderr);
        Assert.Contains($"'{Path.Combine(data, "openmoji", "color", "svg")}'", stderr);
        Assert.Contains("build/fetch-data.sh", stderr);
        Assert.False(Directory.Exists(output), "nothing is written when a source is missing");

        // The quick fetch's folder without --quick: the four full-only sources are named, and --quick suggested.
        using var quickRoot = new TempFolder();
        var quickData = Path.Combine(quickRoot.Path, "data");
        SyntheticDataFolder.Write(quickData, full: false);
        File.WriteAllText(Path.Combine(quickData, "fetched-quick"), "");
        var quick = ClipData("prepare", "--data", quickData, "--out", Path.Combine(quickRoot.Path, "out"));
        Assert.Equal(1, quick.Exit);
        foreach (var folder in new[] { "emoji-google", "emoji-twitter", "openclipart", "tuxpaint-stamps" })
            Assert.Contains($"'{Path.Combine(quickData, folder)}", quick.StdErr);
        Assert.Contains("--quick", quick.StdErr);

        var none = Path.Combine(root.Path, "no-such-folder");
        var absent = ClipData("prepare", "--data", none, "--out", output);
        Assert.Equal(1, absent.Exit);
        Assert.Contains($"'{none}' not found", absent.StdErr);
    }

    /// <summary>Reads an evaluation set: train and test rows (by the clip tool's reader), no image in both, its prompts.</summary>
    private static (List<ImageTextRow> Train, List<ImageTextRow> Test) ReadSet(string output, string name, string[] templates)
    {
        var folder = Path.Combine(output, "eval", name);
        Assert.Equal("image\tlabel", File.ReadLines(Path.Combine(folder, "train.tsv")).First());
        var train = ImageTextTsv.Read(Path.Combine(folder, "train.tsv"), "label");
        var test = ImageTextTsv.Read(Path.Combine(folder, "test.tsv"), "label");
        Assert.NotEmpty(train);
        Assert.NotEmpty(test);
        Assert.Empty(train.Select(r => r.ImagePath).Intersect(test.Select(r => r.ImagePath)));
        Assert.Equal(templates, File.ReadAllLines(Path.Combine(folder, "templates.txt")));
        return (train, test);
    }

    private static void AssertDigits(string output, string name, IReadOnlyList<string> classes, int trainPerClass, int testPerClass, string[] templates)
    {
        var (train, test) = ReadSet(output, name, templates);
        foreach (var (rows, perClass, isTest) in new[] { (train, trainPerClass, false), (test, testPerClass, true) })
        {
            Assert.Equal(classes.Order(), rows.Select(r => r.Text).Distinct().Order());
            Assert.All(rows.GroupBy(r => r.Text), g => Assert.Equal(perClass, g.Count()));
            foreach (var row in rows)
            {
                using var bitmap = Decode(row.ImagePath);
                Assert.Equal((28, 28), (bitmap.Width, bitmap.Height));
                // The grey level says which label and split the image came from.
                Assert.Equal(SyntheticDataFolder.DigitGrey(classes.ToList().IndexOf(row.Text), isTest), bitmap.GetPixel(5, 5).Red);
            }
        }
        // Distinct pictures too, not only distinct file names: the first pixel holds the record index.
        var trainBytes = train.Select(r => Convert.ToBase64String(File.ReadAllBytes(r.ImagePath))).ToHashSet();
        Assert.DoesNotContain(test, r => trainBytes.Contains(Convert.ToBase64String(File.ReadAllBytes(r.ImagePath))));
    }

    /// <summary>The source whose colour fills the middle of the (prepared: on white, at most <paramref name="maxSide"/>) image.</summary>
    private static string StyleOf(string path, int maxSide)
    {
        using var bitmap = Decode(path);
        Assert.True(Math.Max(bitmap.Width, bitmap.Height) <= maxSide, $"'{path}' is {bitmap.Width}×{bitmap.Height}");
        var corner = bitmap.GetPixel(0, 0);
        Assert.Equal(SKColors.White, corner); // composited on white
        var centre = bitmap.GetPixel(bitmap.Width / 2, bitmap.Height / 2);
        var (style, distance) = SyntheticDataFolder.Colours
            .Select(kv => (kv.Key, Math.Abs(kv.Value.Red - centre.Red) + Math.Abs(kv.Value.Green - centre.Green) + Math.Abs(kv.Value.Blue - centre.Blue)))
            .MinBy(x => x.Item2);
        Assert.True(distance <= 30, $"'{path}' has centre colour {centre}, not one of the sources'");
        return style;
    }

    private static SKBitmap Decode(string path) =>
        SKBitmap.Decode(path) ?? throw new InvalidDataException($"'{path}' does not decode.");

    /// <summary>The emoji index behind an image path (the prepared file is named after the emojibase hexcode).</summary>
    private static int EmojiIndex(string path)
    {
        var hex = Path.GetFileNameWithoutExtension(path);
        var index = Enumerable.Range(0, SyntheticDataFolder.EmojiCount).FirstOrDefault(i => SyntheticDataFolder.Hexcode(i) == hex, -1);
        Assert.True(index >= 0, $"'{path}' is not named after an emoji of the generated set");
        return index;
    }

    /// <summary>Runs the built <c>clip-data</c> as build/run.sh does (<c>dotnet …/clip-data.dll</c>), in its own process.</summary>
    private static (int Exit, string StdOut, string StdErr) ClipData(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(ToolPath());
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        psi.Environment.Remove(DataPaths.EnvironmentVariable);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"clip-data {string.Join(' ', args)} did not finish in 5 minutes.");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    internal static string ToolPath()
    {
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.Clip.sln")))
            {
                var tool = Path.Combine(dir.FullName, "src", "Microsoft.ML.Clip.Datasets.Tool", "bin", config, "net10.0", "clip-data.dll");
                return File.Exists(tool) ? tool : throw new FileNotFoundException($"clip-data is not built at '{tool}'.", tool);
            }
        }
        throw new DirectoryNotFoundException($"No Microsoft.ML.Clip.sln above '{AppContext.BaseDirectory}'.");
    }
}
