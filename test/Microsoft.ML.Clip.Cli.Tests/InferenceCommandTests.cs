using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

public class InferenceCommandTests
{
    private static readonly string[] Classes = ["airplane", "automobile", "bird", "cat", "deer"];
    private static readonly Lazy<string> VitFolder = new(() => MakeModelFolder("vit"));

    private static string MakeModelFolder(string kind)
    {
        var dir = Fixtures.NewTempDir($"clip-cli-{kind}");
        File.Copy(Fixtures.Reference("models", $"{kind}.image.onnx"), Path.Combine(dir, "image.onnx"));
        File.Copy(Fixtures.Reference("models", $"{kind}.text.onnx"), Path.Combine(dir, "text.onnx"));
        File.WriteAllText(Path.Combine(dir, "clip_model.json"),
            """{ "format_version": 1, "embed_dim": 64, "image_resolution": 64, "logit_scale": 2.99609375 }""");
        return dir;
    }

    private static string[] E2eImages() =>
        new[] { "clip_diagram_rgba", "hotdog_rgb_portrait", "banana_gray", "fruit_rgba_small" }.Select(n => Fixtures.Reference("preprocess", n + ".png")).ToArray();

    /// <summary>Reads a little-endian float32 .npy (format 1.0) as [rows, cols].</summary>
    private static float[][] ReadMatrix(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8));
        var header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        var shape = header[(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10)..].Split(')')[0]
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        int offset = 10 + headerLength, cols = shape[1];
        return Enumerable.Range(0, shape[0]).Select(r => Enumerable.Range(0, cols)
            .Select(c => BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan(offset + (r * cols + c) * 4))).ToArray()).ToArray();
    }

    private static float[] Floats(JsonElement array) => array.EnumerateArray().Select(e => e.GetSingle()).ToArray();

    [Fact]
    public void ZeroShotAcceptsACheckpointAsModel()
    {
        // --model takes a checkpoint in every command (converted on the fly), not only an ONNX folder.
        var result = CliRunner.Run(null, "zeroshot", "--model", Fixtures.Reference("models", "vit.openai.pt"), "--classes", string.Join(',', Classes),
            "--imagenet-7", "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.True(result.ExitCode == 0, result.StdErr);
        var fromFolder = CliRunner.Run(null, "zeroshot", "--model", VitFolder.Value, "--classes", string.Join(',', Classes),
            "--imagenet-7", "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.True(fromFolder.ExitCode == 0, fromFolder.StdErr);
        Assert.Equal(4, result.Lines.Length);
        for (int i = 0; i < 4; i++)
        {
            using var a = JsonDocument.Parse(result.Lines[i]);
            using var b = JsonDocument.Parse(fromFolder.Lines[i]);
            Assert.Equal(b.RootElement.GetProperty("label").GetString(), a.RootElement.GetProperty("label").GetString());
            var (sa, sb) = (Floats(a.RootElement.GetProperty("scores")), Floats(b.RootElement.GetProperty("scores")));
            for (int c = 0; c < 5; c++)
                Assert.True(Math.Abs(sa[c] - sb[c]) <= 1e-4f, $"row {i} class {c}: {sa[c]} vs {sb[c]}");
        }
    }

    [Fact]
    public void ZeroShotOnPixelsReproducesTheReference()
    {
        var templates = Path.Combine(Fixtures.NewTempDir(), "templates.txt");
        File.WriteAllLines(templates, ["a photo of a {}.", "a blurry photo of a {}.", "a black and white photo of a {}."]);
        var result = CliRunner.Run(null, "zeroshot", "--model", VitFolder.Value, "--classes", string.Join(',', Classes),
            "--templates-file", templates, "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.True(result.ExitCode == 0, result.StdErr);
        var expected = ReadMatrix(Fixtures.Reference("cases", "vit.zeroshot_probs.npy"));
        Assert.Equal(4, result.Lines.Length);
        for (int i = 0; i < 4; i++)
        {
            using var doc = JsonDocument.Parse(result.Lines[i]);
            Assert.Equal(i, doc.RootElement.GetProperty("index").GetInt32());
            var scores = Floats(doc.RootElement.GetProperty("scores"));
            for (int c = 0; c < 5; c++)
                Assert.True(Math.Abs(scores[c] - expected[i][c]) <= 1e-4f, $"row {i} class {c}");
            Assert.Equal(Classes[Array.IndexOf(expected[i], expected[i].Max())], doc.RootElement.GetProperty("label").GetString());
        }
    }

    [Fact]
    public void ZeroShotOnFilesNamesEachFile()
    {
        var classes = Path.Combine(Fixtures.NewTempDir(), "classes.txt");
        File.WriteAllLines(classes, ["diagram", "hot dog", "banana", "fruit"]);
        var files = E2eImages();
        var result = CliRunner.Run(null, ["zeroshot", "--model", VitFolder.Value, "--classes-file", classes, "--imagenet-7", .. files]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Equal(4, result.Lines.Length);
        for (int i = 0; i < 4; i++)
        {
            using var doc = JsonDocument.Parse(result.Lines[i]);
            Assert.Equal(files[i], doc.RootElement.GetProperty("file").GetString());
            Assert.Equal(1.0, Floats(doc.RootElement.GetProperty("scores")).Sum(), 4);
        }
    }

    [Fact]
    public void EmbedImageFilesMatchesTheReference()
    {
        var files = E2eImages();
        var result = CliRunner.Run(null, ["embed-image", "--model", VitFolder.Value, .. files]);
        Assert.True(result.ExitCode == 0, result.StdErr);
        var expected = ReadMatrix(Fixtures.Reference("cases", "vit.e2e_image_features.npy"));
        Assert.Equal(4, result.Lines.Length);
        for (int i = 0; i < 4; i++)
        {
            using var doc = JsonDocument.Parse(result.Lines[i]);
            Assert.Equal(files[i], doc.RootElement.GetProperty("file").GetString());
            var e = Floats(doc.RootElement.GetProperty("embedding"));
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < 64; k++) { dot += e[k] * expected[i][k]; na += e[k] * e[k]; nb += expected[i][k] * expected[i][k]; }
            Assert.True(dot / Math.Sqrt(na * nb) >= 0.9999);
        }
        var normalized = CliRunner.Run(null, "embed-image", "--model", VitFolder.Value, "--normalize", files[0]);
        using var one = JsonDocument.Parse(normalized.Lines.Single());
        Assert.Equal(1.0, Math.Sqrt(Floats(one.RootElement.GetProperty("embedding")).Sum(v => (double)v * v)), 5);
    }

    [Fact]
    public void BadInputGoesToStderrWithExitCode1()
    {
        var missing = Path.Combine(Fixtures.NewTempDir(), "nope.png");
        var bad = CliRunner.Run(null, "embed-image", "--model", VitFolder.Value, missing);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("nope.png", bad.StdErr);

        var noModel = CliRunner.Run(null, "zeroshot", "--model", missing, "--classes", "a,b", "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains(missing, noModel.StdErr);

        var both = CliRunner.Run(null, "zeroshot", "--model", VitFolder.Value, "--classes", "a,b", "--classes-file", missing, E2eImages()[0]);
        Assert.Equal(1, both.ExitCode);
        Assert.Contains("--classes", both.StdErr);
    }
}
