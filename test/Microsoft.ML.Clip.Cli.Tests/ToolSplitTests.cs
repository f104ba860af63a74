using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// The <c>clip</c> tool brings no libtorch (inference, conversion and evaluation install small); training is the add-on
/// tool <c>clip-train</c>, which <c>clip train</c> runs. These tests check both halves of that split.
/// </summary>
public class ToolSplitTests
{
    private static CliResult Run(string? stdin, params string[] args) => CliRunner.Run(stdin, args);

    [Fact]
    public void The_clip_tool_brings_no_libtorch_or_TorchSharp()
    {
        var folder = Path.GetDirectoryName(CliRunner.ToolPath)!;
        var deps = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "clip.deps.json")))!;
        var packages = deps["libraries"]!.AsObject().Select(p => p.Key).ToList();
        Assert.Contains(packages, p => p.StartsWith("Microsoft.ML.Clip/", StringComparison.Ordinal));
        Assert.DoesNotContain(packages, p => p.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase) || p.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)
            || p.StartsWith("Microsoft.ML.Clip.TorchSharp", StringComparison.Ordinal));
        Assert.DoesNotContain(Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories),
            f => Path.GetFileName(f).StartsWith("libtorch", StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("TorchSharp", StringComparison.Ordinal));
        // The add-on does bring it.
        var addOn = JsonNode.Parse(File.ReadAllText(Path.ChangeExtension(CliRunner.TrainToolPath, ".deps.json")))!;
        Assert.Contains(addOn["libraries"]!.AsObject(), p => p.Key.StartsWith("libtorch-cpu", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Train_without_the_add_on_says_how_to_install_it()
    {
        var dir = Fixtures.NewTempDir("clip-no-add-on");
        var tsv = Path.Combine(dir, "pairs.tsv");
        File.Copy(Path.Combine(Fixtures.Root, "images", "palette.png"), Path.Combine(dir, "0.png"));
        File.WriteAllLines(tsv, ["0.png\ta picture", "0.png\ta picture"]);
        var train = CliRunner.RunWithoutTrainingAddOn(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"));
        Assert.Equal(1, train.ExitCode);
        Assert.Contains("clip-train", train.StdErr);
        Assert.Contains("libtorch", train.StdErr);
        Assert.Contains("dotnet tool install -g Microsoft.ML.Clip.Cli.Training", train.StdErr);
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }

    [Fact]
    public void Clip_train_passes_every_argument_to_the_add_on_and_returns_its_exit_code()
    {
        var help = Run(null, "train", "--help");
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("clip-train", help.StdOut);
        Assert.Contains("--image-encoder", help.StdOut);
        var missing = Run(null, "train", "--data", Path.Combine(Fixtures.NewTempDir(), "absent.tsv"), "--out", Fixtures.NewTempDir());
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("absent.tsv", missing.StdErr);
        Assert.Contains("train", Run(null, "--help").StdOut);
    }

    [Theory]
    [InlineData("vit.openai.pt", "vit")]
    [InlineData("rn.openai.pt", "rn")]
    [InlineData("vit.hf.safetensors", "vit")]
    public void Convert_and_embed_need_no_libtorch(string checkpoint, string model)
    {
        var dir = Fixtures.NewTempDir("clip-no-libtorch-convert");
        var onnx = Path.Combine(dir, "onnx");
        var converted = Run(null, "convert", Fixtures.Reference("models", checkpoint), onnx);
        Assert.True(converted.ExitCode == 0, converted.StdErr);
        foreach (var file in new[] { "image.onnx", "text.onnx", ClipModelInfo.FileName })
            Assert.True(File.Exists(Path.Combine(onnx, file)), file);

        var safetensors = Path.Combine(dir, "st");
        var written = Run(null, "convert", Fixtures.Reference("models", checkpoint), safetensors, "--format", "safetensors");
        Assert.True(written.ExitCode == 0, written.StdErr);

        // Checkpoints as --model are converted on the fly.
        var embedded = Run(null, "embed-image", "--model", safetensors, "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.True(embedded.ExitCode == 0, embedded.StdErr);
        var expected = Npy.ReadFloat32(Fixtures.Reference("cases", $"{model}.image_features.npy"));
        Assert.Equal(expected.Shape[0], embedded.Lines.Length);
        var first = System.Text.Json.JsonSerializer.Deserialize<float[]>(embedded.Lines[0])!;
        for (var i = 0; i < first.Length; i++)
            Assert.True(MathF.Abs(first[i] - expected.Data[i]) <= 1e-5f, $"feature {i}: {first[i]} vs {expected.Data[i]}");
    }

    [Fact]
    public void A_trained_model_converts_without_libtorch()
    {
        // Trained by the add-on (through `clip train`), converted by clip: the same files as the trainer's own export.
        var dir = Fixtures.NewTempDir("clip-no-libtorch-trained");
        File.Copy(Path.Combine(Fixtures.Root, "images", "palette.png"), Path.Combine(dir, "0.png"));
        File.Copy(Path.Combine(Fixtures.Root, "images", "rgb16.png"), Path.Combine(dir, "1.png"));
        File.WriteAllLines(Path.Combine(dir, "pairs.tsv"), ["0.png\ta palette", "1.png\ta colour picture"]);
        var outDir = Path.Combine(dir, "out");
        var train = Run(null, "train", "--data", Path.Combine(dir, "pairs.tsv"), "--out", outDir, "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu");
        Assert.True(train.ExitCode == 0, train.StdErr);
        var converted = Path.Combine(dir, "converted");
        var convert = Run(null, "convert", Path.Combine(outDir, "model.clipmodel"), converted);
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        foreach (var file in new[] { "image.onnx", "text.onnx" })
            Assert.True(File.ReadAllBytes(Path.Combine(outDir, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(converted, file))), file);
        // clip_model.json: the same but for its list of file hashes (the trainer's folder also holds model.clipmodel and safetensors/).
        static string WithoutFiles(string folder)
        {
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(folder, ClipModelInfo.FileName)))!.AsObject();
            Assert.True(json.Remove("files"), folder);
            return json.ToJsonString();
        }
        Assert.Equal(WithoutFiles(outDir), WithoutFiles(converted));
        var zeroShot = Run(null, "zeroshot", "--model", Path.Combine(outDir, "model.clipmodel"), "--classes", "palette,picture", Path.Combine(dir, "0.png"));
        Assert.True(zeroShot.ExitCode == 0, zeroShot.StdErr);
    }
}
