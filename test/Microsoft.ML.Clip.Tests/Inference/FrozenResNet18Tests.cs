using Xunit;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// The ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18 as a frozen LiT image encoder: its two ONNX files (batch
/// fixed at 1) chained into one batchable graph must give what the package's graphs give one image at a time.
/// </summary>
public class FrozenResNet18Tests
{
    private static readonly string ModelDirectory = Path.Combine(AppContext.BaseDirectory, ResNet18FeaturesCatalog.DefaultModelDirectory);

    [Fact]
    public void The_chained_batchable_graph_equals_the_package_graphs_run_one_image_at_a_time()
    {
        using var encoder = FrozenImageEncoder.ResNet18(ModelDirectory);
        Assert.Equal(512, encoder.FeatureSize);
        Assert.Equal(224, encoder.Preprocess.Resolution);

        // Three images in the encoder's input space (0–255 RGB after its preprocessing: mean 0, std 1/255).
        const int count = 3, pixels = 3 * 224 * 224;
        var random = new Random(5);
        var input = new float[count * pixels];
        for (var i = 0; i < input.Length; i++) input[i] = (float)(random.NextDouble() * 255);
        var batched = encoder.Featurize(input, count);

        using var prep = new InferenceSession(Path.Combine(ModelDirectory, ResNet18FeaturesCatalog.PreprocessFile));
        using var net = new InferenceSession(Path.Combine(ModelDirectory, ResNet18FeaturesCatalog.NetworkFile));
        for (var n = 0; n < count; n++)
        {
            var image = input.AsSpan(n * pixels, pixels).ToArray();
            using var original = OrtValue.CreateTensorValueFromMemory(image, [1, 3, 224, 224]);
            using var prepared = prep.Run(new RunOptions(), ["OriginalInput"], [original], ["PreprocessedInput"]);
            using var features = net.Run(new RunOptions(), ["Input247"], [prepared[0]], ["Pooling395_Output_0"]);
            var expected = features[0].GetTensorDataAsSpan<float>().ToArray();
            Assert.Equal(512, expected.Length);
            var worst = expected.Select((v, j) => Math.Abs(v - batched[n * 512 + j])).Max();
            Assert.True(worst <= 1e-3 * Math.Max(1, expected.Max()), $"image {n}: max difference {worst}");
        }
    }

    [Fact]
    public void A_missing_model_folder_names_the_file_and_the_package()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FrozenImageEncoder.ResNet18(Path.Combine(Path.GetTempPath(), "no-such-dnn-models")));
        Assert.Contains("ResNetPreprocess.onnx", e.Message);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", e.Message);
    }
}
