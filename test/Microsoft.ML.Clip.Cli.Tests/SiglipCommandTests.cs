using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// The commands the held-out SigLIP check runs, on the fixture's Hugging Face folder and on the folder <c>clip convert</c>
/// makes of it: <c>tokenize --model M --context 64</c>, <c>embed-image --pixels</c> and with files, <c>embed-text</c> (raw
/// get_text_features, no mask), <c>convert</c> (also <c>--fp16</c>) and <c>zeroshot</c> (key <c>scores</c>: sigmoid
/// probabilities with the model's scale and bias).
/// </summary>
public class SiglipCommandTests(ITestOutputHelper output)
{
    private static string HfFolder => Fixtures.Siglip("model");

    private static readonly Lazy<string> s_converted = new(() =>
    {
        var folder = Path.Combine(Fixtures.NewTempDir("siglip-cli"), "onnx");
        var result = CliRunner.Run(null, "convert", HfFolder, folder);
        Assert.True(result.ExitCode == 0, result.StdErr);
        return folder;
    });

    private static readonly JsonSerializerOptions RawUtf8 = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static float[] Reference(string name) => Npy.ReadFloat32(Fixtures.Siglip("outputs", name + ".npy")).Data;

    private static float[] Rows(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.StdErr);
        return [.. result.Lines.SelectMany(l => JsonDocument.Parse(l).RootElement.EnumerateArray().Select(e => e.GetSingle()))];
    }

    private float Check(string what, float[] actual, float[] expected, float tolerance = 1e-4f)
    {
        Assert.Equal(expected.Length, actual.Length);
        var max = actual.Zip(expected, (a, b) => MathF.Abs(a - b)).Max();
        output.WriteLine($"{what}: max |diff| {max:E2}");
        Assert.True(max <= tolerance, $"{what} differs by {max}");
        return max;
    }

    private static string[] Captions()
    {
        using var cases = JsonDocument.Parse(File.ReadAllText(Fixtures.Siglip("cases.json")));
        return [.. cases.RootElement.GetProperty("captions").EnumerateArray().Select(e => e.GetString()!)];
    }

    private static string JsonLines(IEnumerable<string> texts) => string.Concat(texts.Select(t => JsonSerializer.Serialize(t, RawUtf8) + "\n"));

    [Theory]
    [InlineData("hf")]
    [InlineData("onnx")]
    public void TokenizeWithTheModelsOwnTokenizerGivesEveryReferenceRow(string source)
    {
        var lines = File.ReadAllText(Fixtures.Siglip("tokenizer", "tokenizer_cases.jsonl")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var cases = lines.Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        var stdin = string.Concat(cases.Select(c => JsonSerializer.Serialize(c.GetProperty("text").GetString(), RawUtf8) + "\n"));
        var result = CliRunner.Run(stdin, "tokenize", "--model", source == "hf" ? HfFolder : s_converted.Value, "--context", "64");
        Assert.True(result.ExitCode == 0, result.StdErr);
        var expected = cases.Select(c => "[" + string.Join(",", c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32())) + "]").ToArray();
        var actual = result.StdOut.Split('\n')[..^1];
        Assert.Equal(301, actual.Length);
        var matched = expected.Zip(actual).Count(p => p.First == p.Second);
        output.WriteLine($"clip tokenize --model {source}: {matched}/301 rows");
        Assert.Equal(expected, actual);
        Assert.Contains("5 of 301 texts were longer than 64 tokens", result.StdErr);

        // The model's own context is the default; another is given with --context.
        var defaults = CliRunner.Run(JsonLines(["a photo of a cat"]), "tokenize", "--model", HfFolder);
        Assert.Equal(64, JsonDocument.Parse(defaults.Lines[0]).RootElement.GetArrayLength());
        var shorter = CliRunner.Run(JsonLines(["a photo of a cat"]), "tokenize", "--model", HfFolder, "--context", "8");
        Assert.Equal(8, JsonDocument.Parse(shorter.Lines[0]).RootElement.GetArrayLength());
    }

    [Theory]
    [InlineData("hf")]
    [InlineData("onnx")]
    public void EmbedCommandsGiveTheReferenceFeatures(string source)
    {
        var model = source == "hf" ? HfFolder : s_converted.Value;
        Check($"{source} embed-image --pixels", Rows(CliRunner.Run(null, "embed-image", "--model", model, "--pixels", Fixtures.Siglip("preprocess", "pixel_values.npy"))), Reference("image_features"));
        var files = new[] { "rgb_200x150.png", "rgba_97x143.png", "grey_131x77.png", "rgb_tiny_9x7.png" }.Select(f => Fixtures.Siglip("images", f));
        var fromFiles = CliRunner.Run(null, ["embed-image", "--model", model, .. files]);
        Assert.True(fromFiles.ExitCode == 0, fromFiles.StdErr);
        Check($"{source} embed-image FILES", [.. fromFiles.Lines.SelectMany(l => JsonDocument.Parse(l).RootElement.GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()))], Reference("image_features"));
        Check($"{source} embed-text", Rows(CliRunner.Run(JsonLines(Captions()), "embed-text", "--model", model)), Reference("text_features"));
    }

    [Fact]
    public void ZeroShotReportsSigmoidScoresAndRefusesAScale()
    {
        var dir = Fixtures.NewTempDir("siglip-cli-zeroshot");
        var classes = Path.Combine(dir, "classes.txt");
        var templates = Path.Combine(dir, "templates.txt");
        File.WriteAllLines(classes, ["cat", "dog", "red car", "airplane", "apple tree"]);
        File.WriteAllLines(templates, ["This is a photo of {}."]);
        var pixels = Fixtures.Siglip("preprocess", "pixel_values.npy");
        var result = CliRunner.Run(null, "zeroshot", "--model", HfFolder, "--classes-file", classes, "--templates-file", templates, "--pixels", pixels);
        Assert.True(result.ExitCode == 0, result.StdErr);
        var scores = result.Lines.SelectMany(l => JsonDocument.Parse(l).RootElement.GetProperty("scores").EnumerateArray().Select(e => e.GetSingle())).ToArray();
        Check("zeroshot scores", scores, Reference("zeroshot_probs"));

        var scaled = CliRunner.Run(null, "zeroshot", "--model", s_converted.Value, "--classes-file", classes, "--templates-file", templates, "--pixels", pixels, "--scale", "100");
        Assert.Equal(1, scaled.ExitCode);
        Assert.Contains("--scale does not apply", scaled.StdErr);
    }

    [Fact]
    public void ConvertWithFloat16WeightsKeepsTheFeatures()
    {
        var folder = Path.Combine(Fixtures.NewTempDir("siglip-cli-fp16"), "onnx");
        var convert = CliRunner.Run(null, "convert", HfFolder, folder, "--fp16");
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        Assert.DoesNotContain("rounded", convert.StdErr); // the fixture's weights are float16 values
        Assert.True(File.Exists(Path.Combine(folder, "spiece.model")));
        Check("--fp16 embed-image --pixels", Rows(CliRunner.Run(null, "embed-image", "--model", folder, "--pixels", Fixtures.Siglip("preprocess", "pixel_values.npy"))), Reference("image_features"));
        Check("--fp16 embed-text", Rows(CliRunner.Run(JsonLines(Captions()), "embed-text", "--model", folder)), Reference("text_features"));
    }
}
