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

    public void Run()
    {
        Directory.CreateDirectory(outDirectory);
        var pairs = DatasetCatalog.ReadPairs(dataDirectory, Prepared(sizes.PairsPerSet), [.. sizes.TrainingSets]).ToList();
        var pairsTsv = Path.Combine(outDirectory, "train", "pairs.tsv");
        Directory.CreateDirectory(Path.GetDirectoryName(pairsTsv)!);
        PairsTsv.Write(pairsTsv, pairs);
        log($"train/pairs.tsv: {pairs.Count} pairs ({string.Join(", ", pairs.GroupBy(p => p.Style).Select(g => $"{g.Key} {g.Count()}"))})");

        var openMoji = DatasetCatalog.ReadPairs(dataDirectory, Prepared(), PairSet.EmojiOpenMoji).ToList();
        WriteSubgroups(openMoji);
        WriteNames(openMoji, pairs.Where(p => p.Source == "emoji").ToList());
        WriteDigits("fashion-mnist", MnistDataset.ReadFashionMnist, MnistDataset.FashionClassNames.Count, FashionTemplates);
        WriteDigits("mnist", MnistDataset.ReadMnist, MnistDataset.MnistClassNames.Count, DigitTemplates);
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
