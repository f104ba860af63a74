namespace ClipCli.Evaluation;

/// <summary>
/// One <c>--data</c> argument of <c>clip compare</c>: a folder holding <c>train.tsv</c> and <c>test.tsv</c>, a folder of
/// class sub-folders (split into train and test, stratified and seeded), or <c>train.tsv,test.tsv</c>. A
/// <c>templates.txt</c> beside the data (one zero-shot prompt per line, <c>{}</c> for the class name) gives the set
/// its own prompts.
/// </summary>
internal static class ComparisonDataSource
{
    /// <summary>File name of a set's own zero-shot prompts.</summary>
    public const string TemplatesFileName = "templates.txt";

    public static (string Name, LabeledImageSet Train, LabeledImageSet Test, IReadOnlyList<string>? Templates) Resolve(string spec, double testFraction, int seed)
    {
        var (name, train, test) = ResolveSets(spec, testFraction, seed);
        var parts = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var folder = parts.Length == 2 ? Path.GetDirectoryName(Path.GetFullPath(parts[0]))! : Path.GetFullPath(parts[0]);
        return (name, train, test, ReadTemplates(Path.Combine(folder, TemplatesFileName)));
    }

    /// <summary>The prompts of <paramref name="path"/> (null when the file is absent); each must contain <c>{}</c>.</summary>
    internal static IReadOnlyList<string>? ReadTemplates(string path)
    {
        if (!File.Exists(path))
            return null;
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0 && !l.StartsWith('#')).ToArray();
        if (lines.Length == 0)
            throw new InvalidDataException($"{path}: no templates (one prompt per line, '{{}}' for the class name).");
        foreach (var line in lines)
            if (!line.Contains("{}", StringComparison.Ordinal))
                throw new InvalidDataException($"{path}: template '{line}' has no '{{}}' for the class name.");
        return lines;
    }

    private static (string Name, LabeledImageSet Train, LabeledImageSet Test) ResolveSets(string spec, double testFraction, int seed)
    {
        var parts = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 2)
        {
            var train = LabeledImageSet.ReadTsv(parts[0]);
            var name = Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(parts[0]))) is { Length: > 0 } dirName ? dirName : Path.GetFileNameWithoutExtension(parts[0]);
            return (name, train, LabeledImageSet.ReadTsv(parts[1]));
        }
        if (parts.Length != 1)
            throw new ArgumentException($"--data '{spec}': expected a folder or 'train.tsv,test.tsv'.");
        var folder = Path.GetFullPath(parts[0]);
        var setName = Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar));
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"--data '{spec}': folder does not exist.");
        string trainTsv = Path.Combine(folder, "train.tsv"), testTsv = Path.Combine(folder, "test.tsv");
        if (File.Exists(trainTsv) && File.Exists(testTsv))
            return (setName, LabeledImageSet.ReadTsv(trainTsv), LabeledImageSet.ReadTsv(testTsv));

        var all = LabeledImageSet.ReadClassFolders(folder);
        var classes = all.ClassNames();
        var (trainRows, testRows) = Microsoft.ML.Clip.Evaluation.StratifiedSampling.TrainValidationSplit(all.ClassIndices(classes), classes.Length, testFraction, seed);
        if (testRows.Length == 0)
            throw new InvalidDataException($"--data '{spec}': too few images per class for a test split.");
        return (setName, all.Subset(trainRows, folder + " (train split)"), all.Subset(testRows, folder + " (test split)"));
    }
}
