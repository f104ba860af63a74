using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Microsoft.ML.Clip.TorchSharp.Tests.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// The exported graphs against the TorchSharp <see cref="ClipTorchModel"/> on the same weights: covers the exact
/// GELU (erf) activation, for which no reference output exists, and export from a module's own state dict
/// (the path a trained model takes).
/// </summary>
public class ExportOfTorchSharpModelTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("vit", ClipActivation.Gelu)]
    [InlineData("rn", ClipActivation.Gelu)]
    [InlineData("vit", ClipActivation.QuickGelu)]
    public void ExportedGraphsMatchTheTorchSharpModel(string model, ClipActivation activation)
    {
        var folder = Fixtures.NewTempDir($"clip-export-module-{model}");
        try
        {
            using var weights = ClipWeights.Load(Fixtures.Reference("models", $"{model}.openai.pt"), activation);
            using var module = new ClipTorchModel(weights.Config);
            module.LoadStateDict(weights.StateDict);
            module.eval();
            float[] image, text;
            using (no_grad())
            using (var scope = NewDisposeScope())
            {
                var images = OrtTestHelpers.Images;
                var tokens = OrtTestHelpers.Tokens;
                image = module.EncodeImage(tensor(images.Data, images.Shape.Select(d => (long)d).ToArray())).data<float>().ToArray();
                text = module.EncodeText(tensor(tokens.Data, tokens.Shape.Select(d => (long)d).ToArray())).data<float>().ToArray();
            }

            TorchOnnxExport.Export(module, folder, null);
            var onnxImage = OrtTestHelpers.Run(Path.Combine(folder, "image.onnx"), "pixel_values", "image_embeds", OrtTestHelpers.Images, out _);
            var onnxText = OrtTestHelpers.Run(Path.Combine(folder, "text.onnx"), "input_ids", "text_embeds", OrtTestHelpers.Tokens, out _);
            var (di, dt) = (OrtTestHelpers.MaxAbsDiff(onnxImage, image), OrtTestHelpers.MaxAbsDiff(onnxText, text));
            output.WriteLine($"{model} {activation}: ONNX vs TorchSharp image max abs {di:E3}, text max abs {dt:E3}");
            Assert.True(di <= 1e-5f && dt <= 1e-5f, $"image {di}, text {dt}");
            if (activation == ClipActivation.Gelu)
            {
                // Not vacuous: exact GELU gives features far from the QuickGELU reference.
                var reference = Npy.ReadFloat32(Fixtures.Reference("cases", $"{model}.text_features.npy")).Data;
                Assert.True(OrtTestHelpers.MaxAbsDiff(onnxText, reference) > 1e-3f);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public void Float16_weights_round_float32_weights_only_slightly()
    {
        // A freshly initialised model's float32 weights are not float16-representable: rounded, not lost.
        var root = Fixtures.NewTempDir("clip-export-rounded");
        try
        {
            using var generator = new Generator(3);
            using var model = new ClipTorchModel(ShapesDataset.SmallConfig, generator);
            var full = Path.Combine(root, "float32");
            var half = Path.Combine(root, "float16");
            Assert.False(TorchOnnxExport.Export(model, full, null).WeightsRoundedToFloat16);
            Assert.True(TorchOnnxExport.Export(model, half, null, weightsAsFloat16: true).WeightsRoundedToFloat16);

            using var fullModel = Models.ClipModel.Load(full);
            using var halfModel = Models.ClipModel.Load(half);
            using var pixels = randn([3, 3, 32, 32], generator: generator);
            var values = pixels.data<float>().ToArray();
            var pairs = fullModel.EmbedImages(values, 3).Zip(halfModel.EmbedImages(values, 3))
                .Concat(fullModel.EmbedTexts(["a red circle", "a blue square"]).Zip(halfModel.EmbedTexts(["a red circle", "a blue square"])));
            foreach (var (a, b) in pairs)
            {
                var cosine = a.Zip(b, (x, y) => (double)x * y).Sum() / Math.Sqrt(a.Sum(x => (double)x * x) * b.Sum(y => (double)y * y));
                output.WriteLine($"cosine {cosine:F7}, max abs {OrtTestHelpers.MaxAbsDiff(a, b):E2}");
                Assert.True(cosine > 0.9999, $"cosine {cosine}");
                Assert.True(OrtTestHelpers.MaxAbsDiff(a, b) > 0, "rounding to float16 left float32 weights unchanged?");
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
