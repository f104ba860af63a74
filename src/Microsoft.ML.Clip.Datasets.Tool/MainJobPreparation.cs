using Microsoft.ML.Clip.Datasets;
using Microsoft.ML.Clip.Datasets.Emoji;
using Microsoft.ML.Clip.Datasets.Mnist;

namespace ClipData;

/// <summary>
/// The main job's data: training pairs from three emoji styles (Noto, Twemoji, Fluent 3D), Open Clip Art and Tux
/// Paint stamps; evaluation sets on the held-out style (OpenMoji, by subgroup and by name), Fashion-MNIST and MNIST.
/// </summary>
internal sealed class MainJobPreparation(string dataDirectory, string outDirectory, PrepareSizes sizes, int seed, Action<string> log)
{
    /// <summary>Zero-shot prompts per set; the bare name first because the training captions are bare names.</summary>
    private static readonly string[] EmojiTemplates = ["{}", "an emoji of {}."];
    private static readonly string[] FashionTemplates = ["{}", "a photo of a {}."];
    private static readonly string[] DigitTemplates = ["{}", "a drawing of the number {}."];

    private DatasetOptions Prepared(int? maxItems = null) => new()
    {
        PreparedImageSide = sizes.ImageSide,
        Background = "white",
        MaxItems = maxItems,
        Seed = seed,
    };

    /// <summary>The evaluation sets this class writes under <c>eval/</c>.</summary>
    public static IReadOnlyList<string> EvaluationSets { get; } = ["openmoji-subgroups", "openmoji-names", "fashion-mnist", "mnist"];

    public void Run()
    {
        var (training, openMojiRows) = OpenSources();
        Directory.CreateDirectory(outDirectory);
        // A set skipped now (openmoji-names on the quick fetch) or written smaller must not keep files of an earlier run.
        foreach (var set in EvaluationSets)
        {
            var folder = Path.Combine(outDirectory, "eval", set);
            if (Directory.Exists(folder))
                Directory.Delete(folder, recursive: true);
        }

        var pairs = training.SelectMany(part => part).ToList();
        var pairsTsv = Path.Combine(outDirectory, "train", "pairs.tsv");
        PairsTsv.Write(pairsTsv, pairs);
        log($"train/pairs.tsv: {pairs.Count} pairs ({string.Join(", ", pairs.GroupBy(p => p.Style).Select(g => $"{g.Key} {g.Count()}"))})");

        // The same images with several captions each, one row per caption and weight unit, for a trainer that draws one
        // caption per image and epoch (the both-locked model: clip train --one-caption-per-image).
        var captionsTsv = Path.Combine(outDirectory, "train", "captions.tsv");
        var rows = PairsTsv.Write(captionsTsv, pairs.SelectMany(p => CaptionVariants.For(p).Select(c => new ImageCaptionPair { ImagePath = p.ImagePath, Caption = c })));
        log($"train/captions.tsv: {rows} rows, {pairs.Count} images ({string.Join(" : ", CaptionVariants.Weights.Select(w => $"{w.Variant} {w.Weight}"))})");

        var openMoji = openMojiRows.ToList();
        WriteSubgroups(openMoji);
        WriteNames(openMoji, pairs.Where(p => p.Source == EmojiDataset.SourceName).ToList());
        WriteDigits("fashion-mnist", MnistDataset.ReadFashionMnist, MnistDataset.FashionClassNames.Count, FashionTemplates);
        WriteDigits("mnist", MnistDataset.ReadMnist, MnistDataset.MnistClassNames.Count, DigitTemplates);
    }

    /// <summary>
    /// Lists every source before anything is read or written (listing is cheap; preparing images is not), so a data
    /// folder that lacks a source fails at once with every missing folder or file named, not minutes into the run.
    /// </summary>
    private (List<IEnumerable<ImageCaptionPair>> Training, IEnumerable<ImageCaptionPair> OpenMoji) OpenSources()
    {
        if (!Directory.Exists(dataDirectory))
            throw new DirectoryNotFoundException(
                $"Data folder '{dataDirectory}' not found; pass --data, set {DataPaths.EnvironmentVariable} or run build/fetch-data.sh.");
        var missing = new List<string>();
        T? Open<T>(Func<T> list) where T : class
        {
            try
            {
                return list();
            }
            catch (IOException e) when (e is DirectoryNotFoundException or FileNotFoundException)
            {
                missing.Add(e.Message);
                return null;
            }
        }
        // One set at a time, so that every missing one is named, appended in the order given as ReadPairs would.
        var training = sizes.TrainingSets.Select(set => Open(() => DatasetCatalog.ReadPairs(dataDirectory, Prepared(sizes.PairsPerSet), set))).ToList();
        var openMoji = Open(() => DatasetCatalog.ReadPairs(dataDirectory, Prepared(), PairSet.EmojiOpenMoji));
        foreach (var split in new[] { DatasetSplit.Train, DatasetSplit.Test })
        {
            // Opening reads the IDX headers only; the rows are read when the sets are written.
            Open(() => MnistDataset.ReadFashionMnist(dataDirectory, split));
            Open(() => MnistDataset.ReadMnist(dataDirectory, split));
        }
        if (missing.Count > 0)
        {
            var quickOnly = File.Exists(Path.Combine(dataDirectory, "fetched-quick")) && !File.Exists(Path.Combine(dataDirectory, "fetched-full"));
            throw new DirectoryNotFoundException(
                $"Data folder '{dataDirectory}' lacks what clip-data prepare needs:{Environment.NewLine}  "
                + string.Join(Environment.NewLine + "  ", missing.Distinct())
                + (quickOnly ? $"{Environment.NewLine}It holds the quick fetch only: pass --quick, or run build/fetch-data.sh without --quick." : ""));
        }
        return ([.. training.Select(part => part!)], openMoji!);
    }

    /// <summary>OpenMoji by subgroup: subgroups with enough images, a seeded per-class train/test split.</summary>
    private void WriteSubgroups(List<ImageCaptionPair> openMoji)
    {
        var random = new Random(seed);
        int minimum = sizes.SubgroupTrainPerClass + Math.Max(1, sizes.SubgroupTestPerClass / 2);
        var classes = openMoji.GroupBy(p => p.Subgroup).Where(g => g.Key.Length > 0 && g.Count() >= minimum)
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        classes = [.. Shuffle(classes, random).Take(sizes.SubgroupClasses).OrderBy(g => g.Key, StringComparer.Ordinal)];
        var train = new List<(string, string)>();
        var test = new List<(string, string)>();
        foreach (var group in classes)
        {
            var rows = Shuffle(group.ToList(), random);
            var label = Readable(group.Key);
            train.AddRange(rows.Take(sizes.SubgroupTrainPerClass).Select(p => (p.ImagePath, label)));
            test.AddRange(rows.Skip(sizes.SubgroupTrainPerClass).Take(sizes.SubgroupTestPerClass).Select(p => (p.ImagePath, label)));
        }
        LabeledTsv.WriteSet(Path.Combine(outDirectory, "eval", "openmoji-subgroups"), train, test, EmojiTemplates);
        log($"eval/openmoji-subgroups: {classes.Count} classes, {train.Count} train, {test.Count} test");
    }

    /// <summary>
    /// OpenMoji by name: OpenMoji has one image per name, so the probes learn from the training styles' images of
    /// the same names and are tested on OpenMoji's — a test of the held-out style throughout.
    /// </summary>
    private void WriteNames(List<ImageCaptionPair> openMoji, List<ImageCaptionPair> trainingEmoji)
    {
        var random = new Random(seed + 1);
        // A probe needs two rows per class (one may go to its validation split): names seen in two styles or more.
        var byName = trainingEmoji.GroupBy(p => p.Name).Where(g => g.Count() >= 2).ToDictionary(g => g.Key, g => g.ToList());
        var candidates = openMoji.Where(p => p.Name.Length > 0 && byName.ContainsKey(p.Name))
            .GroupBy(p => p.Name).Select(g => g.First()).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        var chosen = Shuffle(candidates, random).Take(sizes.NameClasses).OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
        if (chosen.Count < 2)
        {
            log("eval/openmoji-names: skipped, fewer than two names have images in two training styles (the quick fetch has one style)");
            return;
        }
        var train = chosen.SelectMany(p => byName[p.Name].Select(t => (t.ImagePath, p.Name))).ToList();
        var test = chosen.Select(p => (p.ImagePath, p.Name)).ToList();
        LabeledTsv.WriteSet(Path.Combine(outDirectory, "eval", "openmoji-names"), train, test, EmojiTemplates);
        log($"eval/openmoji-names: {chosen.Count} classes, {train.Count} train (other styles), {test.Count} test");
    }

    /// <summary>MNIST-like sets: equal shares per class from a seeded pool, PNGs written under <c>images/</c>.</summary>
    private void WriteDigits(string name, Func<string, DatasetSplit, DatasetOptions?, IEnumerable<LabeledImage>> read, int classCount, string[] templates)
    {
        var folder = Path.Combine(outDirectory, "eval", name);
        var images = Path.Combine(folder, "images");
        Directory.CreateDirectory(images);
        List<(string, string)> Take(DatasetSplit split, int count)
        {
            int perClass = Math.Max(1, count / classCount);
            // A pool three times the size is plenty for equal shares and keeps PNG encoding to a slice.
            var pool = read(dataDirectory, split, new DatasetOptions { MaxItems = count * 3, Seed = seed });
            var rows = new List<(string, string)>();
            foreach (var group in pool.GroupBy(r => r.LabelIndex).OrderBy(g => g.Key))
                foreach (var row in group.Take(perClass))
                {
                    var file = Path.Combine(images, $"{split.ToString().ToLowerInvariant()}-{row.Index:D5}.png");
                    File.WriteAllBytes(file, row.Image);
                    rows.Add((file, row.Label));
                }
            return rows;
        }
        var train = Take(DatasetSplit.Train, sizes.DigitsTrain);
        var test = Take(DatasetSplit.Test, sizes.DigitsTest);
        LabeledTsv.WriteSet(folder, train, test, templates);
        log($"eval/{name}: {classCount} classes, {train.Count} train, {test.Count} test");
    }

    /// <summary>Emojibase subgroup names are hyphenated keys or short phrases; prompts read better with spaces.</summary>
    private static string Readable(string label) => label.Replace('-', ' ');

    private static List<T> Shuffle<T>(List<T> items, Random random)
    {
        var copy = items.ToList();
        for (int i = copy.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (copy[i], copy[j]) = (copy[j], copy[i]);
        }
        return copy;
    }
}
