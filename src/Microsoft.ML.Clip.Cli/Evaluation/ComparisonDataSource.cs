namespace ClipCli.Evaluation;

/// <summary>
/// One <c>--data</c> argument of <c>clip compare</c>: a folder holding <c>train.tsv</c> and <c>test.tsv</c>, a folder of
/// class sub-folders (split into train and test, stratified and seeded), or <c>train.tsv,test.tsv</c>.
/// </summary>
internal static class ComparisonDataSource
{
    public static (string Name, LabeledImageSet Train, LabeledImageSet Test) Resolve(string spec, double testFraction, int seed)
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
