using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Every command that reads image TSVs (train, probe, compare, eval-retrieval) reads them by the one rule of
/// <c>src/Shared/ImageTextTsv.cs</c>, which <c>clip-data prepare</c> writes by (the rule itself is unit-tested in
/// <c>Microsoft.ML.Clip.Datasets.Tests/ImageTextTsvTests</c>).
/// </summary>
public class TsvRuleTests
{
    [Fact]
    public void EveryCommandNamesTheSameMalformedLine()
    {
        var dir = Fixtures.NewTempDir("cli-tsv-rule");
        var images = EvaluationData.WriteImages(dir, 1, seed: 5);
        var tsv = Path.Combine(dir, "bad.tsv");
        // Line 3 has a third field: a tab inside a caption or label is not allowed (no quoting in these files).
        File.WriteAllLines(tsv, ["image\tlabel", $"{images[0].Path}\t{images[0].Label}", $"{images[1].Path}\ta\tb", $"{images[2].Path}\t{images[2].Label}"]);
        var outDir = Path.Combine(dir, "out");

        foreach (var args in new[]
        {
            new[] { "train", "--data", tsv, "--out", outDir, "--device", "cpu" },
            ["probe", "--model", EvaluationData.Model, "--train", tsv, "--test", tsv],
            ["compare", "--model", EvaluationData.Model, "--data", $"{tsv},{tsv}", "--out", outDir],
            ["eval-retrieval", "--model", EvaluationData.Model, "--pairs", tsv],
        })
        {
            var result = CliRunner.Run(null, args);
            Assert.True(result.ExitCode == 1, $"clip {args[0]}: exit {result.ExitCode}, stderr {result.StdErr}");
            Assert.Contains($"TSV file '{tsv}' line 3:", result.StdErr);
            Assert.Contains("3 fields", result.StdErr);
        }
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void PathsResolveAgainstTheTsvFolderWithCommentsBlankLinesAndCrlf()
    {
        // The layout clip-data prepare writes: out/train/pairs.tsv pointing up into the data folder's image cache.
        var dir = Fixtures.NewTempDir("cli-tsv-paths");
        var cache = Path.Combine(dir, "data", "cache");
        var images = EvaluationData.WriteImages(cache, 1, seed: 6);
        var trainDir = Directory.CreateDirectory(Path.Combine(dir, "out", "train")).FullName;
        File.Copy(Path.Combine(cache, images[2].Path), Path.Combine(trainDir, "#blue.png"));
        var pairs = Path.Combine(trainDir, "pairs.tsv");
        var lines = new[] { "image\tcaption", "# written by hand", "" }
            .Concat(images.Select(i => $"../../data/cache/{i.Path.Replace('\\', '/')}\ta {i.Label.Replace('_', ' ')}"))
            .Append("./#blue.png\tanother blue square");
        File.WriteAllText(pairs, string.Join("\r\n", lines) + "\r\n");

        var result = CliRunner.Run(null, "eval-retrieval", "--model", EvaluationData.Model, "--pairs", pairs, "--k", "1");

        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains("4 images, 4 captions", result.StdOut);
    }
}
