using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// A copy of the built tool without libtorch (every native file of the <c>libtorch-*</c> and <c>TorchSharp</c> packages
/// left out; the rest linked, the entry files copied so that the copy's folder is the application's): what a user who
/// installs only the inference part has. Training cannot start there; converting and the inference commands work.
/// </summary>
public sealed class ToolWithoutLibTorch
{
    public string ToolPath { get; }

    public ToolWithoutLibTorch()
    {
        var source = Path.GetDirectoryName(CliRunner.ToolPath)!;
        var copy = Fixtures.NewTempDir("clip-no-libtorch");
        var deps = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "clip.deps.json")))!;
        var libtorch = deps["targets"]!.AsObject().Single().Value!.AsObject()
            .Where(p => p.Key.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase) || p.Key.StartsWith("TorchSharp/", StringComparison.Ordinal))
            .SelectMany(p => p.Value!["runtimeTargets"]?.AsObject().Select(t => t.Key) ?? [])
            .Select(path => Path.GetFullPath(Path.Combine(source, path)))
            .ToHashSet(StringComparer.Ordinal);
        Assert.Contains(libtorch, path => Path.GetFileName(path).StartsWith("libtorch_cpu", StringComparison.Ordinal) && File.Exists(path));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            if (libtorch.Contains(file)) continue;
            var target = Path.Combine(copy, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (Path.GetFileName(file).StartsWith("clip.", StringComparison.Ordinal))
                File.Copy(file, target);   // the host resolves the application's folder from these
            else
                File.CreateSymbolicLink(target, file);
        }
        ToolPath = Path.Combine(copy, "clip.dll");
    }
}

public class ConvertWithoutLibTorchTests(ToolWithoutLibTorch tool) : IClassFixture<ToolWithoutLibTorch>
{
    private CliResult Run(string? stdin, params string[] args) => CliRunner.RunTool(tool.ToolPath, stdin, args);

    [Fact]
    public void The_copy_really_has_no_libtorch()
    {
        var dir = Fixtures.NewTempDir("clip-no-libtorch-train");
        var tsv = Path.Combine(dir, "pairs.tsv");
        File.Copy(Path.Combine(Fixtures.Root, "images", "palette.png"), Path.Combine(dir, "0.png"));
        File.WriteAllLines(tsv, ["0.png\ta picture", "0.png\ta picture"]);
        var train = Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu");
        Assert.NotEqual(0, train.ExitCode);
        Assert.Contains("libtorch", train.StdErr, StringComparison.OrdinalIgnoreCase);
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
        // The same files as the complete tool writes.
        var reference = Path.Combine(dir, "reference");
        Assert.Equal(0, CliRunner.Run(null, "convert", Fixtures.Reference("models", checkpoint), reference).ExitCode);
        foreach (var file in new[] { "image.onnx", "text.onnx", ClipModelInfo.FileName })
            Assert.True(File.ReadAllBytes(Path.Combine(reference, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(onnx, file))), file);

        var safetensors = Path.Combine(dir, "st");
        var written = Run(null, "convert", Fixtures.Reference("models", checkpoint), safetensors, "--format", "safetensors");
        Assert.True(written.ExitCode == 0, written.StdErr);

        // Checkpoints as --model are converted on the fly, also without libtorch.
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
        // Trained with the complete tool, converted by the copy: the same files as the trainer's own export.
        var dir = Fixtures.NewTempDir("clip-no-libtorch-trained");
        File.Copy(Path.Combine(Fixtures.Root, "images", "palette.png"), Path.Combine(dir, "0.png"));
        File.Copy(Path.Combine(Fixtures.Root, "images", "rgb16.png"), Path.Combine(dir, "1.png"));
        File.WriteAllLines(Path.Combine(dir, "pairs.tsv"), ["0.png\ta palette", "1.png\ta colour picture"]);
        var outDir = Path.Combine(dir, "out");
        var train = CliRunner.Run(null, "train", "--data", Path.Combine(dir, "pairs.tsv"), "--out", outDir, "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu");
        Assert.True(train.ExitCode == 0, train.StdErr);
        var converted = Path.Combine(dir, "converted");
        var convert = Run(null, "convert", Path.Combine(outDir, "model.clipmodel"), converted);
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        foreach (var file in new[] { "image.onnx", "text.onnx", ClipModelInfo.FileName })
            Assert.True(File.ReadAllBytes(Path.Combine(outDir, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(converted, file))), file);
        var zeroShot = Run(null, "zeroshot", "--model", Path.Combine(outDir, "model.clipmodel"), "--classes", "palette,picture", Path.Combine(dir, "0.png"));
        Assert.True(zeroShot.ExitCode == 0, zeroShot.StdErr);
    }
}
