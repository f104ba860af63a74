using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// The main job's wiring (build/run.sh) on tiny generated data instead of the downloads: a <c>pairs.tsv</c> as the data
/// sets tool writes it (with its header) → <c>clip train</c> (ONNX export) → <c>clip compare</c> over two labelled sets,
/// one with its own <c>templates.txt</c>.
/// </summary>
public class MainJobPipelineTests
{
    [Fact]
    public void Train_then_compare_on_the_exported_model_with_per_set_templates()
    {
        var dir = Fixtures.NewTempDir("clip-cli-mainjob");
        var pairsDir = Path.Combine(dir, "train");
        var captions = EvaluationData.WriteImages(pairsDir, perClass: 4, seed: 1)
            .Select(r => $"{r.Path.Replace('\\', '/')}\ta {r.Label.Replace('_', ' ')}");
        var pairs = Path.Combine(pairsDir, "pairs.tsv");
        File.WriteAllLines(pairs, new[] { "image\tcaption" }.Concat(captions));

        var modelDir = Path.Combine(dir, "model");
        var trained = CliRunner.Run(null, "train", "--data", pairs, "--out", modelDir, "--preset", "tiny", "--batch-size", "6", "--epochs", "1", "--device", "cpu");
        Assert.True(trained.ExitCode == 0, trained.StdErr);
        Assert.Contains(trained.Lines, l => l.StartsWith("step 2/2 epoch 1 loss", StringComparison.Ordinal));

        var withTemplates = WriteSet(Path.Combine(dir, "eval", "colours"), seed: 2);
        File.WriteAllLines(Path.Combine(withTemplates, "templates.txt"), ["{}", "a picture of a {}."]);
        var plain = WriteSet(Path.Combine(dir, "eval", "shades"), seed: 3);
        var reportDir = Path.Combine(dir, "report");
        var compared = CliRunner.Run(null, "compare", "--model", modelDir, "--data", withTemplates, "--data", plain,
            "--out", reportDir, "--shots", "1,2", "--seeds", "2", "--l2-steps", "3", "--templates", "single");
        Assert.True(compared.ExitCode == 0, compared.StdErr);

        // One table row per set, in the order given, and a report naming each set's prompts.
        var rows = compared.Lines.Where(l => l.StartsWith('|')).ToList();
        var colours = rows.FindIndex(l => l.Contains("colours", StringComparison.Ordinal));
        var shades = rows.FindIndex(l => l.Contains("shades", StringComparison.Ordinal));
        Assert.True(colours >= 0 && shades > colours, string.Join("\n", compared.Lines));
        var report = File.ReadAllText(Path.Combine(reportDir, "report.md"));
        Assert.Contains("`a picture of a {}.`", report);
        Assert.Contains("Zero-shot prompts: 1 templates.", report);
        Assert.True(File.Exists(Path.Combine(reportDir, "colours.png")));
        Assert.True(File.Exists(Path.Combine(reportDir, "shades.png")));
    }

    [Fact]
    public void A_template_without_a_placeholder_names_the_file()
    {
        var set = WriteSet(Path.Combine(Fixtures.NewTempDir("clip-cli-mainjob-bad"), "colours"), seed: 4);
        var templates = Path.Combine(set, "templates.txt");
        File.WriteAllLines(templates, ["a picture"]);
        var result = CliRunner.Run(null, "compare", "--model", EvaluationData.Model, "--data", set, "--resnet18", "false");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("templates.txt", result.StdErr);
        Assert.Contains("'a picture'", result.StdErr);
    }

    // train.tsv (4 per class) and test.tsv (2 per class) in one folder, as clip-data prepare writes them.
    private static string WriteSet(string folder, int seed)
    {
        Directory.CreateDirectory(folder);
        EvaluationData.WriteTsv(Path.Combine(folder, "train.tsv"), EvaluationData.WriteImages(Path.Combine(folder, "train"), 4, seed)
            .Select(r => (Path.Combine("train", r.Path), r.Label)));
        EvaluationData.WriteTsv(Path.Combine(folder, "test.tsv"), EvaluationData.WriteImages(Path.Combine(folder, "test"), 2, seed + 100)
            .Select(r => (Path.Combine("test", r.Path), r.Label)));
        return folder;
    }
}
