using System.Text.Json;
using ClipCli.Evaluation;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

public class SummarizeCommandTests
{
    private static string WriteResults(string dir, double zeroShot, params string[] sets)
    {
        Directory.CreateDirectory(dir);
        var results = sets.Select(s => new DatasetComparison
        {
            Name = s,
            ClassCount = 10,
            TrainCount = 100,
            TestCount = 50,
            ZeroShotTop1 = zeroShot,
            ClipProbe = new ProbeResult(0.5, 1f),
            FewShot = [new FewShotPoint(1, [0.2, 0.3])],
        }).ToList();
        File.WriteAllText(Path.Combine(dir, "results.json"), JsonSerializer.Serialize(results));
        return dir;
    }

    [Fact]
    public void Two_compare_runs_become_one_table_with_each_sets_models_side_by_side()
    {
        var dir = Fixtures.NewTempDir("cli-summarize");
        var lit = WriteResults(Path.Combine(dir, "lit"), 0.25, "mnist", "emoji");
        var scratch = WriteResults(Path.Combine(dir, "scratch"), 0.10, "mnist", "emoji");
        var output = Path.Combine(dir, "report.md");
        var r = CliRunner.Run(null, "summarize", "--run", $"LiT={lit}", "--run", $"scratch={scratch}", "--out", output);
        Assert.True(r.ExitCode == 0, r.StdErr);
        var rows = File.ReadAllLines(output).Where(l => l.StartsWith("| mnist", StringComparison.Ordinal) || l.StartsWith("| emoji", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, rows.Length);
        // Every column: zero-shot top-1, top-5 (none), the two probes, the 1-shot mean ± std over its two draws.
        Assert.Equal("| mnist — LiT | 10 | 100 | 50 | 25.0% | – | 50.0% (λ=1) | – | 25.0% ± 7.1 |", rows[0]);
        Assert.Equal("| mnist — scratch | 10 | 100 | 50 | 10.0% | – | 50.0% (λ=1) | – | 25.0% ± 7.1 |", rows[1]);
        Assert.Equal("| emoji — LiT | 10 | 100 | 50 | 25.0% | – | 50.0% (λ=1) | – | 25.0% ± 7.1 |", rows[2]);
        Assert.Equal("| emoji — scratch | 10 | 100 | 50 | 10.0% | – | 50.0% (λ=1) | – | 25.0% ± 7.1 |", rows[3]);
    }

    [Fact]
    public void A_folder_without_results_is_named()
    {
        var dir = Fixtures.NewTempDir("cli-summarize-missing");
        var r = CliRunner.Run(null, "summarize", "--run", $"LiT={dir}", "--out", Path.Combine(dir, "report.md"));
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("results.json", r.StdErr);
    }
}
