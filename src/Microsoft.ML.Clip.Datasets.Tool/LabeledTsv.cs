using Microsoft.ML.Clip.Tsv;

namespace ClipData;

/// <summary>
/// Writes what <c>clip compare</c> reads for one data set: <c>train.tsv</c> and <c>test.tsv</c> (header
/// <c>image&lt;TAB&gt;label</c>, image paths relative to the folder; the rule of <c>src/Shared/ImageTextTsv.cs</c>, which
/// the <c>clip</c> tool reads by) and <c>templates.txt</c> (one zero-shot prompt per line, <c>{}</c> standing for the
/// class name).
/// </summary>
internal static class LabeledTsv
{
    public const string TrainFileName = "train.tsv";
    public const string TestFileName = "test.tsv";
    public const string TemplatesFileName = "templates.txt";

    public static void WriteSet(string folder, IEnumerable<(string Path, string Label)> train, IEnumerable<(string Path, string Label)> test,
        IEnumerable<string> templates)
    {
        Directory.CreateDirectory(folder);
        ImageTextTsv.Write(Path.Combine(folder, TrainFileName), "label", train);
        ImageTextTsv.Write(Path.Combine(folder, TestFileName), "label", test);
        File.WriteAllLines(Path.Combine(folder, TemplatesFileName), templates);
    }
}
