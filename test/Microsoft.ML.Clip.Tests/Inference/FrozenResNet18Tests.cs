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

        using var prep = new InferenceSession(Path.Combine(ModelDirectory, ResNet18Files.PreprocessFile));
        using var net = new InferenceSession(Path.Combine(ModelDirectory, ResNet18Files.NetworkFile));
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
    public void At_a_smaller_side_the_mean_image_is_resampled_and_the_pool_made_global()
    {
        using var native = FrozenImageEncoder.ResNet18(ModelDirectory);
        using var small = FrozenImageEncoder.ResNet18(ModelDirectory, resolution: 128);
        Assert.Equal(128, small.Preprocess.Resolution);
        Assert.NotEqual(native.Id, small.Id);
        var graph = small.ParseGraph().Graph;
        Assert.Equal("GlobalAveragePool", graph.Node.Single(n => n.Output[0] == "Pooling395_Output_0").OpType);
        Assert.Equal([1L, 3, 128, 128], graph.Initializer.Single(t => t.Name == "MeanImage").Dims);
        Assert.Equal("AveragePool", native.ParseGraph().Graph.Node.Single(n => n.Output[0] == "Pooling395_Output_0").OpType);

        // A flat grey image has (almost) the same features at both sides: the network sees the same picture, smaller.
        var grey224 = Enumerable.Repeat(128f, 3 * 224 * 224).ToArray();
        var grey128 = Enumerable.Repeat(128f, 3 * 128 * 128).ToArray();
        var a = native.Featurize(grey224, 1);
        var b = small.Featurize(grey128, 1);
        Assert.Equal((512, 512), (a.Length, b.Length));
        var cosine = a.Zip(b, (x, y) => (double)x * y).Sum() / Math.Sqrt(a.Sum(x => (double)x * x) * b.Sum(y => (double)y * y));
        Assert.True(cosine > 0.9, $"cosine {cosine}");
        Assert.Throws<ArgumentOutOfRangeException>(() => FrozenImageEncoder.ResNet18(ModelDirectory, resolution: 16));
    }

    [Fact]
    public void The_mlnet_pipeline_and_the_batched_encoder_give_the_same_features_up_to_resizing()
    {
        // Photographs (tiny synthetic images are dominated by how each path upsamples them).
        var images = new[] { "hotdog_rgb_portrait.png", "banana_gray.png" }.Select(f => Path.Combine(TestUtilities.Fixtures.Root, "clip-reference", "preprocess", f)).ToArray();
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromEnumerable(images.Select(p => new PathRow { ImagePath = p }));
        var pipeline = ml.Transforms.ResNet18ImageFeatures("Features", nameof(PathRow.ImagePath), modelDirectory: ModelDirectory);
        var viaMlNet = ml.Data.CreateEnumerable<FeatureRow>(pipeline.Fit(data).Transform(data), reuseRowObject: false).Select(r => r.Features).ToArray();

        using var encoder = FrozenImageEncoder.ResNet18(ModelDirectory);
        var preprocessor = new Microsoft.ML.Clip.Imaging.ClipImagePreprocessor(encoder.Preprocess);
        for (var i = 0; i < images.Length; i++)
        {
            var batched = encoder.Featurize(preprocessor.Preprocess(File.ReadAllBytes(images[i])), 1);
            Assert.Equal((512, 512), (batched.Length, viaMlNet[i].Length));
            var cosine = batched.Zip(viaMlNet[i], (x, y) => (double)x * y).Sum()
                / Math.Sqrt(batched.Sum(x => (double)x * x) * viaMlNet[i].Sum(y => (double)y * y));
            Assert.True(cosine > 0.95, $"{images[i]}: cosine {cosine}");
        }
    }

    private sealed class PathRow
    {
        public string ImagePath = "";
    }

    private sealed class FeatureRow
    {
        [Microsoft.ML.Data.VectorType(512)]
        public float[] Features = [];
    }

    [Fact]
    public void Image_files_are_featurised_like_their_preprocessed_pixels_and_a_missing_one_is_named()
    {
        using var encoder = FrozenImageEncoder.ResNet18(ModelDirectory);
        var files = new[] { "gray.jpg", "cmyk.jpg", "bilevel.png" }.Select(f => Path.Combine(Microsoft.ML.Clip.TestUtilities.Fixtures.Root, "images", f)).ToArray();
        var features = encoder.FeaturizeFiles(files);

        var preprocessor = new Microsoft.ML.Clip.Imaging.ClipImagePreprocessor(encoder.Preprocess);
        var pixels = files.SelectMany(f => preprocessor.Preprocess(File.ReadAllBytes(f))).ToArray();
        var expected = encoder.Featurize(pixels, files.Length);
        Assert.Equal(files.Length, features.Length);
        Assert.Equal(expected, features.SelectMany(f => f));

        var missing = Path.Combine(Microsoft.ML.Clip.TestUtilities.Fixtures.Root, "images", "no-such.png");
        var e = Assert.Throws<FileNotFoundException>(() => encoder.FeaturizeFiles([files[0], missing]));
        Assert.Contains(missing, e.Message);
    }

    [Fact]
    public void A_cuda_request_with_the_cpu_package_runs_on_the_cpu_says_so_and_gives_the_same_features()
    {
        using var cpu = FrozenImageEncoder.ResNet18(ModelDirectory);
        var log = new List<string>();
        using var asked = FrozenImageEncoder.ResNet18(ModelDirectory, gpuDeviceId: 0, log: log.Add);
        Assert.Equal("CPU", cpu.Provider);
        Assert.Equal("CPU", asked.Provider);
        Assert.Contains(log, m => m.Contains("CUDA device 0 is not usable", StringComparison.Ordinal) && m.Contains("running on the CPU", StringComparison.Ordinal));
        var input = new float[3 * 224 * 224];
        for (var i = 0; i < input.Length; i++) input[i] = i % 251;
        Assert.Equal(cpu.Featurize(input, 1), asked.Featurize(input, 1));
    }

    [Fact]
    public void A_missing_model_folder_names_the_file_and_the_package()
    {
        var e = Assert.Throws<FileNotFoundException>(() => FrozenImageEncoder.ResNet18(Path.Combine(Path.GetTempPath(), "no-such-dnn-models")));
        Assert.Contains("ResNetPreprocess.onnx", e.Message);
        Assert.Contains("Microsoft.ML.DnnImageFeaturizer.ResNet18", e.Message);
    }
}
