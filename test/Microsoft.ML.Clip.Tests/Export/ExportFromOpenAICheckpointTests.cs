using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>ONNX export from the OpenAI <c>.pt</c> fixtures (read by <see cref="PyTorchCheckpoint"/>), both tower kinds.</summary>
public class ExportFromOpenAICheckpointTests(ITestOutputHelper output)
{
    private const float Tolerance = 1e-5f;

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void ExportOfOpenAICheckpointMatchesReferenceFeatures(string model)
    {
        var folder = Fixtures.NewTempDir($"clip-export-{model}");
        try
        {
            var checkpoint = PyTorchCheckpoint.Load(Fixtures.Reference("models", $"{model}.openai.pt"));
            var info = ClipOnnxExporter.Export(checkpoint.Config, checkpoint.StateDict, checkpoint.LogitScale, folder, $"{model}.openai.pt").Info;
            Assert.Equal(model == "vit" ? "vit" : "resnet", info.VisionKind);
            Assert.Equal(2.99609375f, info.LogitScale);
            var (image, text) = OrtTestHelpers.CompareWithReference(Path.Combine(folder, "image.onnx"), Path.Combine(folder, "text.onnx"), model);
            output.WriteLine($"{model}.openai.pt -> ONNX: image_embeds max abs {image:E3}, text_embeds max abs {text:E3}");
            Assert.True(image <= Tolerance, $"image max abs diff {image}");
            Assert.True(text <= Tolerance, $"text max abs diff {text}");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void Float16_weights_halve_the_files_and_keep_the_reference_features(string model)
    {
        // The fixtures hold float16 weights (as OpenAI's releases do), so storing them as float16 loses nothing.
        var root = Fixtures.NewTempDir($"clip-export-{model}-fp16");
        try
        {
            var checkpoint = PyTorchCheckpoint.Load(Fixtures.Reference("models", $"{model}.openai.pt"));
            string Export(string name, bool fp16)
            {
                var folder = Path.Combine(root, name);
                var result = ClipOnnxExporter.Export(checkpoint.Config, checkpoint.StateDict, checkpoint.LogitScale, folder, null, new ClipOnnxExportOptions { WeightsAsFloat16 = fp16 });
                Assert.False(result.WeightsRoundedToFloat16); // float16 checkpoint: nothing to round
                return folder;
            }
            var full = Export("float32", fp16: false);
            var half = Export("float16", fp16: true);

            foreach (var file in new[] { "image.onnx", "text.onnx" })
            {
                long fullBytes = new FileInfo(Path.Combine(full, file)).Length, halfBytes = new FileInfo(Path.Combine(half, file)).Length;
                output.WriteLine($"{model} {file}: {fullBytes} → {halfBytes} bytes ({halfBytes / (double)fullBytes:P0})");
                Assert.True(halfBytes < 0.6 * fullBytes, $"{file}: {halfBytes} bytes with float16 weights vs {fullBytes}");
                var graph = Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(half, file))).Graph;
                Assert.DoesNotContain(graph.Initializer, t => t.DataType == (int)Onnx.TensorProto.Types.DataType.Float && t.Dims.Count >= 2);
            }
            var (image, text) = OrtTestHelpers.CompareWithReference(Path.Combine(half, "image.onnx"), Path.Combine(half, "text.onnx"), model);
            output.WriteLine($"{model} float16 weights: image_embeds max abs {image:E3}, text_embeds max abs {text:E3}");
            Assert.True(image <= Tolerance, $"image max abs diff {image}");
            Assert.True(text <= Tolerance, $"text max abs diff {text}");

            // ML.NET's row path widens the float16 weights back (its ONNX scoring rejects float16) and agrees too.
            var ml = new MLContext(seed: 1);
            var texts = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = "a diagram" }, new TextRow { Text = "a dog" } });
            using var fullModel = Models.ClipModel.Load(full);
            var expected = fullModel.EmbedTexts(["a diagram", "a dog"]);
            var rows = ml.Transforms.ClipTextEmbedding("Embedding", half, "Text", normalize: false).Fit(texts).Transform(texts)
                .GetColumn<float[]>("Embedding").ToArray();
            for (var r = 0; r < rows.Length; r++)
                Assert.True(OrtTestHelpers.MaxAbsDiff(expected[r], rows[r]) <= Tolerance, $"row {r}: ML.NET on float16 weights differs");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed class TextRow
    {
        public string Text { get; set; } = "";
    }
}
