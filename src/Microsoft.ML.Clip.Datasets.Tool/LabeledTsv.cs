namespace ClipData;

/// <summary>
/// Writes what <c>clip compare</c> reads for one data set: <c>train.tsv</c> and <c>test.tsv</c> (header
/// <c>image&lt;TAB&gt;label</c>, image paths relative to the folder) and <c>templates.txt</c> (one zero-shot prompt per
/// line, <c>{}</c> standing for the class name).
/// </summary>
internal static class LabeledTsv
{
    public static void WriteSet(string folder, IEnumerable<(string Path, string Label)> train, IEnumerable<(string Path, string Label)> test,
        IEnumerable<string> templates)
    {
        Directory.CreateDirectory(folder);
        Write(Path.Combine(folder, "train.tsv"), train);
        Write(Path.Combine(folder, "test.tsv"), test);
        File.WriteAllLines(Path.Combine(folder, "templates.txt"), templates);
    }

    private static void Write(string tsv, IEnumerable<(string Path, string Label)> rows)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(tsv))!;
        using var writer = new StreamWriter(tsv) { NewLine = "\n" };
        writer.WriteLine("image\tlabel");
        foreach (var (path, label) in rows)
            writer.WriteLine($"{Path.GetRelativePath(folder, path).Replace('\\', '/')}\t{Clean(label)}");
    }

    private static string Clean(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ').Trim();
}
