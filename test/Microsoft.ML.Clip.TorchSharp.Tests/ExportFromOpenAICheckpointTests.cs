using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>ONNX export from the OpenAI <c>.pt</c> fixtures (read by <see cref="ClipCheckpoint"/>), both tower kinds.</summary>
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
            using var checkpoint = ClipCheckpoint.Load(Fixtures.Reference("models", $"{model}.openai.pt"));
            using var scale = checkpoint.StateDict["logit_scale"].to(ScalarType.Float32);
            var info = ClipOnnxExporter.Export(checkpoint.Config, checkpoint.StateDict, scale.item<float>(), folder, $"{model}.openai.pt");
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
}
