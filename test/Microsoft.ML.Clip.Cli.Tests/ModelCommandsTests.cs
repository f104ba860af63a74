using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>Converts the ViT fixture to an ONNX folder once, with the tool itself, for the tests below.</summary>
public sealed class ConvertedVitFolder : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(Fixtures.NewTempDir("clip-cli-vit"), "onnx");
    public CliResult Result { get; }

    public ConvertedVitFolder() => Result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.hf.safetensors"), Path);

    public void Dispose() => Directory.Delete(System.IO.Path.GetDirectoryName(Path)!, recursive: true);
}

public class ModelCommandsTests(ConvertedVitFolder vit) : IClassFixture<ConvertedVitFolder>
{
    private const float Tolerance = 1e-5f;

    private static float[][] ParseRows(CliResult result)
    {
        Assert.True(result.ExitCode == 0, result.StdErr);
        return result.Lines.Select(l => JsonSerializer.Deserialize<float[]>(l)!).ToArray();
    }

    private static void AssertClose(NpyArray<float> expected, float[][] rows, bool normalized = false)
    {
        Assert.Equal(expected.Shape[0], rows.Length);
        var d = expected.Shape[1];
        for (var r = 0; r < rows.Length; r++)
        {
            var reference = expected.Data.AsSpan(r * d, d).ToArray();
            if (normalized)
            {
                var norm = MathF.Sqrt(reference.Sum(v => v * v));
                reference = reference.Select(v => v / norm).ToArray();
            }
            Assert.Equal(d, rows[r].Length);
            for (var i = 0; i < d; i++)
                Assert.True(MathF.Abs(rows[r][i] - reference[i]) <= Tolerance, $"row {r} col {i}: {rows[r][i]} vs {reference[i]}");
        }
    }

    private static string Captions()
    {
        var cases = JsonNode.Parse(File.ReadAllText(Fixtures.Reference("cases", "cases.json")))!;
        return string.Join('\n', cases["captions"]!.AsArray().Select(c => JsonSerializer.Serialize(c!.GetValue<string>()))) + "\n";
    }

    [Fact]
    public void ConvertWritesAnOnnxFolder()
    {
        Assert.True(vit.Result.ExitCode == 0, vit.Result.StdErr);
        var info = ClipModelInfo.Load(Path.Combine(vit.Path, ClipModelInfo.FileName));
        Assert.Equal("vit", info.VisionKind);
        Assert.True(File.Exists(Path.Combine(vit.Path, "image.onnx")));
        Assert.True(File.Exists(Path.Combine(vit.Path, "text.onnx")));
    }

    [Fact]
    public void EmbedImageFromOnnxFolderMatchesReference()
    {
        var result = CliRunner.Run(null, "embed-image", "--model", vit.Path, "--pixels", Fixtures.Reference("cases", "images.npy"));
        AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.image_features.npy")), ParseRows(result));
    }

    [Fact]
    public void EmbedTextFromOnnxFolderMatchesReferenceIncludingTruncatedCaption()
    {
        var result = CliRunner.Run(Captions(), "embed-text", "--model", vit.Path);
        AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.text_features.npy")), ParseRows(result));
    }

    [Fact]
    public void EmbedTextNormalizeGivesUnitVectors()
    {
        var result = CliRunner.Run(Captions(), "embed-text", "--model", vit.Path, "--normalize");
        AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.text_features.npy")), ParseRows(result), normalized: true);
    }

    [Fact]
    public void EmbedFromResNetCheckpointConvertsOnTheFly()
    {
        var model = Fixtures.Reference("models", "rn.openai.pt");
        AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "rn.image_features.npy")),
            ParseRows(CliRunner.Run(null, "embed-image", "--model", model, "--pixels", Fixtures.Reference("cases", "images.npy"))));
        AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "rn.text_features.npy")),
            ParseRows(CliRunner.Run(Captions(), "embed-text", "--model", model)));
    }

    [Fact]
    public void ConvertWithFp16HalvesTheFolderAndKeepsTheFeaturesOfAFloat16Checkpoint()
    {
        var dir = Fixtures.NewTempDir("clip-cli-fp16");
        try
        {
            var half = Path.Combine(dir, "fp16");
            var result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), half, "--fp16");
            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.DoesNotContain("rounded", result.StdErr); // the fixture's weights are float16 values: nothing to round
            foreach (var file in new[] { "image.onnx", "text.onnx" })
                Assert.True(new FileInfo(Path.Combine(half, file)).Length < 0.6 * new FileInfo(Path.Combine(vit.Path, file)).Length, file);
            AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.image_features.npy")),
                ParseRows(CliRunner.Run(null, "embed-image", "--model", half, "--pixels", Fixtures.Reference("cases", "images.npy"))));
            AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.text_features.npy")), ParseRows(CliRunner.Run(Captions(), "embed-text", "--model", half)));

            var safetensors = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), Path.Combine(dir, "st"), "--format", "safetensors", "--fp16");
            Assert.Equal(1, safetensors.ExitCode);
            Assert.Contains("--fp16 applies to --format onnx only", safetensors.StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Convert_refuses_bad_options_before_touching_the_output_folder()
    {
        var dir = Fixtures.NewTempDir("clip-cli-convert-refused");
        // Its parent is missing too: locking the folder would create it.
        var parent = Path.Combine(dir, "new");
        var output = Path.Combine(parent, "model");
        foreach (var (args, message) in new[]
        {
            (new[] { "--format", "safetensors", "--fp16" }, "--fp16 applies to --format onnx only"),
            (["--format", "safetensors", "--int8"], "--int8 applies to --format onnx only"),
            (["--activation", "relu"], "--activation must be quick_gelu or gelu, got 'relu'"),
        })
        {
            // Before: refused after the output folder was locked, which had created its parent.
            var r = CliRunner.Run(null, ["convert", Fixtures.Reference("models", "vit.openai.pt"), output, .. args]);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains(message, r.StdErr);
            Assert.False(Directory.Exists(parent), $"{string.Join(' ', args)}: '{parent}' was created");
        }
    }

    // A TSV (image<TAB>label, full paths) of decodable fixture images.
    private static string CalibrationTsv(string dir)
    {
        var images = Path.Combine(Fixtures.Root, "images");
        var tsv = Path.Combine(dir, "calibration.tsv");
        File.WriteAllLines(tsv, ["image\tlabel", .. new[] { "landscape_420.jpg", "portrait_444.jpg", "gray.jpg", "palette.png" }.Select(f => $"{Path.Combine(images, f)}\tx")]);
        return tsv;
    }

    [Fact]
    public void ConvertWithInt8CalibrationQuantizesConvolutions()
    {
        var dir = Fixtures.NewTempDir("clip-cli-int8-static");
        try
        {
            var int8 = Path.Combine(dir, "int8");
            var result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "rn.openai.pt"), int8, "--int8", "--int8-calibration", CalibrationTsv(dir));
            Assert.True(result.ExitCode == 0, result.StdErr);
            var graph = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(int8, "image.onnx"))).Graph;
            Assert.Contains(graph.Node, n => n.OpType == "QuantizeLinear");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    // The tool's own refusals of --int8-calibration (without --int8, a source that is no folder or file, a folder without
    // images, a TSV row naming a missing image) and, for the library's refusals, the one found while converting (an image
    // that does not decode): exit code 1, the message on stderr, nothing left behind. The library's refusals themselves
    // are tested in Microsoft.ML.Clip.Tests (ClipModelConverterTests, StaticInt8QuantizationTests).
    [Fact]
    public void ConvertRefusesCalibrationInputThatCannotWork()
    {
        var dir = Fixtures.NewTempDir("clip-cli-int8-refused");
        try
        {
            var checkpoint = Fixtures.Reference("models", "rn.openai.pt");
            var images = Path.Combine(Fixtures.Root, "images");
            var tsv = CalibrationTsv(dir);

            // A private temp folder: what a refused run leaves there is its own.
            var temp = Fixtures.NewTempDir("clip-cli-int8-tmp");
            CliResult Refused(string source, params string[] extra)
            {
                // The writer stages beside the target ('.refused.clip-staging-…', the lock '.refused.clip-lock'), so nothing
                // left behind is checked in the target's parent (the same entries as before the run, a target at most empty)
                // and in the temp folder (this library's entries there all have 'clip' in their names).
                var before = Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
                var r = CliRunner.RunWith(new Dictionary<string, string?> { ["TMPDIR"] = temp }, null,
                    ["convert", checkpoint, Path.Combine(dir, "refused"), .. extra, "--int8-calibration", source]);
                Assert.Equal(1, r.ExitCode);
                var refused = Path.Combine(dir, "refused");
                if (Directory.Exists(refused) && !Directory.EnumerateFileSystemEntries(refused).Any())
                    Directory.Delete(refused);
                Assert.Equal(before, Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
                Assert.Empty(Directory.GetFileSystemEntries(temp, "*clip*").Select(Path.GetFileName));
                return r;
            }
            Assert.Contains("--int8-calibration applies with --int8 only", Refused(tsv).StdErr);
            Assert.Contains("is neither a folder nor a file", Refused(Path.Combine(dir, "nowhere"), "--int8").StdErr);
            var empty = Directory.CreateDirectory(Path.Combine(dir, "empty")).FullName;
            Assert.Contains("holds no images", Refused(empty, "--int8").StdErr);
            var missing = Path.Combine(dir, "missing.tsv");
            File.WriteAllLines(missing, ["image\tlabel", "not-there.png\tx"]);
            var missingResult = Refused(missing, "--int8").StdErr;
            Assert.Contains("not-there.png", missingResult);
            Assert.Contains("line 2", missingResult);
            // A folder with an image that does not decode: named when calibration reads it.
            var broken = Directory.CreateDirectory(Path.Combine(dir, "broken")).FullName;
            File.Copy(Path.Combine(images, "gray.jpg"), Path.Combine(broken, "a.jpg"));
            File.Copy(Path.Combine(images, "truncated.png"), Path.Combine(broken, "b.png"));
            Assert.Contains("b.png", Refused(broken, "--int8").StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ConvertWithInt8QuantizesTheLinearLayersAndKeepsTheFeaturesClose()
    {
        var dir = Fixtures.NewTempDir("clip-cli-int8");
        try
        {
            var int8 = Path.Combine(dir, "int8");
            var result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), int8, "--int8");
            Assert.True(result.ExitCode == 0, result.StdErr);
            var graph = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(int8, "image.onnx"))).Graph;
            Assert.Contains(graph.Node, n => n.OpType == "MatMulInteger");
            Assert.DoesNotContain(graph.Node, n => n.OpType == "Gemm");
            // Close to openai/CLIP's features, not equal: cosine per row.
            var expected = Npy.ReadFloat32(Fixtures.Reference("cases", "vit.text_features.npy"));
            var rows = ParseRows(CliRunner.Run(Captions(), "embed-text", "--model", int8));
            int width = checked((int)expected.Shape[1]);
            Assert.Equal(expected.Shape[0], rows.Length);
            for (var r = 0; r < rows.Length; r++)
            {
                var reference = expected.Data.AsSpan(r * width, width).ToArray();
                var cosine = rows[r].Zip(reference, (a, b) => (double)a * b).Sum() / Math.Sqrt(rows[r].Sum(v => (double)v * v) * reference.Sum(v => (double)v * v));
                Assert.True(cosine >= 0.99, $"row {r}: cosine {cosine}");
            }
            var safetensors = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), Path.Combine(dir, "st"), "--format", "safetensors", "--int8");
            Assert.Equal(1, safetensors.ExitCode);
            Assert.Contains("--int8 applies to --format onnx only", safetensors.StdErr);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void BatchOptionChangesTheCallsNotTheEmbeddings()
    {
        var expected = Npy.ReadFloat32(Fixtures.Reference("cases", "vit.text_features.npy"));
        foreach (var batch in new[] { "1", "4" })
        {
            AssertClose(expected, ParseRows(CliRunner.Run(Captions(), "embed-text", "--model", vit.Path, "--batch", batch)));
            AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.image_features.npy")),
                ParseRows(CliRunner.Run(null, "embed-image", "--model", vit.Path, "--pixels", Fixtures.Reference("cases", "images.npy"), "--batch", batch)));
        }
        foreach (var command in new[] { "embed-text", "embed-image", "zeroshot" })
        {
            var bad = CliRunner.Run("", command, "--model", vit.Path, "--batch", "0");
            Assert.NotEqual(0, bad.ExitCode);
            Assert.Contains("--batch must be at least 1, got", bad.StdErr);
        }
    }

    [Fact]
    public void ConvertToSafetensorsWritesHuggingFaceForViTAndOpenAINamesForResNet()
    {
        var dir = Fixtures.NewTempDir("clip-cli-st");
        try
        {
            var hf = Path.Combine(dir, "vit-hf");
            var result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), hf, "--format", "safetensors");
            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.True(File.Exists(Path.Combine(hf, "config.json")));
            // The Hugging Face folder is itself a --model.
            AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "vit.image_features.npy")),
                ParseRows(CliRunner.Run(null, "embed-image", "--model", hf, "--pixels", Fixtures.Reference("cases", "images.npy"))));

            var rn = Path.Combine(dir, "rn-st");
            result = CliRunner.Run(null, "convert", Fixtures.Reference("models", "rn.openai.pt"), rn, "--format", "safetensors");
            Assert.True(result.ExitCode == 0, result.StdErr);
            Assert.Contains("ModifiedResNet", result.StdErr);
            Assert.True(File.Exists(Path.Combine(rn, "clip_config.json")));
            AssertClose(Npy.ReadFloat32(Fixtures.Reference("cases", "rn.image_features.npy")),
                ParseRows(CliRunner.Run(null, "embed-image", "--model", rn, "--pixels", Fixtures.Reference("cases", "images.npy"))));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ErrorsNameTheirCause()
    {
        var missing = CliRunner.Run(null, "embed-image", "--model", "/no/such/model", "--pixels", Fixtures.Reference("cases", "images.npy"));
        Assert.NotEqual(0, missing.ExitCode);
        Assert.Contains("/no/such/model", missing.StdErr);

        var badLine = CliRunner.Run("\"fine\"\nnot json\n", "embed-text", "--model", vit.Path);
        Assert.NotEqual(0, badLine.ExitCode);
        Assert.Contains("line 2", badLine.StdErr);

        var tokens = Fixtures.Reference("cases", "rn.text_features.npy");   // float32 [6, 64]: not images
        var badPixels = CliRunner.Run(null, "embed-image", "--model", vit.Path, "--pixels", tokens);
        Assert.NotEqual(0, badPixels.ExitCode);
        Assert.Contains("rn.text_features.npy", badPixels.StdErr);
        Assert.Contains("[N, 3, 64, 64]", badPixels.StdErr);

        var badFormat = CliRunner.Run(null, "convert", Fixtures.Reference("models", "vit.openai.pt"), "/tmp/x", "--format", "tflite");
        Assert.NotEqual(0, badFormat.ExitCode);
    }
}
