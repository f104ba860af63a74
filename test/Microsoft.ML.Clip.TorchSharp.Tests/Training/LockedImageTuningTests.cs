using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Data;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// Locked-image tuning (LiT) on a frozen ONNX feature extractor: a small generated encoder (a 3×3 convolution, ReLU and
/// global average pooling, batch fixed at 1 as in ML.NET's ResNet-18 files) stands in for the real one.
/// </summary>
public class LockedImageTuningTests
{
    private const int Features = 16;

    /// <summary>Writes the stand-in encoder: float [1, 3, 32, 32] → [1, 16, 1, 1], deterministic weights.</summary>
    internal static string WriteConvEncoder(string folder, int seed = 3, string name = "encoder.onnx", int opset = 17)
    {
        var random = new Random(seed);
        var weights = Enumerable.Range(0, Features * 3 * 3 * 3).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var bias = Enumerable.Range(0, Features).Select(_ => (float)(random.NextDouble() * 0.2)).ToArray();
        var graph = new GraphProto { Name = "conv_features" };
        graph.Input.Add(OnnxGraphBuilder.Value("image", DataType.Float, 1, 3, 32, 32));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor("w", [Features, 3, 3, 3], weights));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor("b", [Features], bias));
        graph.Node.Add(OnnxGraphBuilder.CreateNode("Conv", "conv", ["image", "w", "b"], OnnxGraphBuilder.Ints("strides", 2, 2), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1)));
        graph.Node.Add(OnnxGraphBuilder.CreateNode("Relu", "relu", ["conv"]));
        graph.Node.Add(OnnxGraphBuilder.CreateNode("GlobalAveragePool", "pooled", ["relu"]));
        graph.Output.Add(OnnxGraphBuilder.Value("pooled", DataType.Float, 1, Features, 1, 1));
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, OnnxGraphBuilder.CreateModel(graph, opset).ToByteArray());
        return path;
    }

    private static ClipTrainerOptions LitOptions(string encoder, string cache, int epochs = 2)
    {
        var options = ShapesDataset.FastOptions(batchSize: 8, epochs: epochs);
        options.ImageEncoder = encoder;
        options.FeatureCacheDirectory = cache;
        options.LearningRate = 3e-3;
        return options;
    }

    private sealed class PathPair
    {
        public string ImagePath = "";
        public string Caption = "";
    }

    // Rendered shapes written to files, so that a test can change an image on disk.
    private static List<PathPair> WriteShapes(string folder, int count, int seed) =>
        ShapesDataset.Generate(count, seed).Select((p, i) =>
        {
            var path = Path.Combine(folder, $"shape{i:D3}.png");
            File.WriteAllBytes(path, p.Image);
            return new PathPair { ImagePath = path, Caption = p.Caption };
        }).ToList();

    [Fact]
    public void A_user_encoder_with_a_batch_fixed_at_1_is_made_batchable_and_flattened()
    {
        var dir = Fixtures.NewTempDir("lit-encoder");
        using var encoder = FrozenImageEncoder.FromOnnx(WriteConvEncoder(dir));
        Assert.Equal(Features, encoder.FeatureSize);
        Assert.Equal(32, encoder.Preprocess.Resolution);

        var preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
        var images = ShapesDataset.Generate(5, seed: 1).Select(p => preprocessor.Preprocess(p.Image)).ToList();
        var batched = encoder.Featurize(images.SelectMany(x => x).ToArray(), images.Count);
        Assert.Equal(5 * Features, batched.Length);
        for (var i = 0; i < images.Count; i++)
        {
            var single = encoder.Featurize(images[i], 1);
            for (var j = 0; j < Features; j++)
                Assert.Equal(single[j], batched[i * Features + j], 5);
        }
        Assert.Contains(batched, v => v > 0);
    }

    [Theory]
    [InlineData(17)] // ReduceMean takes its axes as an attribute
    [InlineData(18)] // ... and as an input from opset 18 on
    public void The_exported_head_is_layer_norm_then_projection_in_the_encoders_own_opset(int opset)
    {
        var dir = Fixtures.NewTempDir("lit-head");
        using var encoder = FrozenImageEncoder.FromOnnx(WriteConvEncoder(dir, opset: opset));
        var random = new Random(9);
        float[] Random(int n, double scale, double offset) => Enumerable.Range(0, n).Select(_ => (float)(offset + scale * (random.NextDouble() * 2 - 1))).ToArray();
        const int embed = 5;
        var (weight, bias, projection) = (Random(Features, 0.5, 1), Random(Features, 0.5, 0), Random(Features * embed, 1, 0));
        var graph = FrozenEncoderGraphs.WithProjection(encoder.ParseGraph(), weight, bias, 1e-5f, projection, Features, embed);
        Assert.Equal(opset, graph.OpsetImport.Single().Version);
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(graph.ToByteArray());

        var preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
        var pixels = ShapesDataset.Generate(3, seed: 4).SelectMany(p => preprocessor.Preprocess(p.Image)).ToArray();
        var features = encoder.Featurize(pixels, 3);
        using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(pixels, [3, 3, 32, 32]);
        using var outputs = session.Run(new Microsoft.ML.OnnxRuntime.RunOptions(), [FrozenEncoderGraphs.InputName], [input], [FrozenEncoderGraphs.EmbedsName]);
        var embeds = outputs[0].GetTensorDataAsSpan<float>().ToArray();
        Assert.Equal(3 * embed, embeds.Length);
        for (var n = 0; n < 3; n++)
        {
            // LayerNorm (biased variance, ε inside the root) then the bias-free projection, written out.
            var row = features.AsSpan(n * Features, Features).ToArray();
            var mean = row.Average();
            var variance = row.Select(v => (v - mean) * (v - mean)).Average();
            var normed = row.Select((v, j) => (v - mean) / MathF.Sqrt(variance + 1e-5f) * weight[j] + bias[j]).ToArray();
            for (var d = 0; d < embed; d++)
            {
                var expected = Enumerable.Range(0, Features).Sum(j => normed[j] * projection[j * embed + d]);
                Assert.True(Math.Abs(expected - embeds[n * embed + d]) <= 1e-4, $"image {n}, dim {d}: {expected} vs {embeds[n * embed + d]}");
            }
        }
    }

    [Fact]
    public void An_encoder_with_the_wrong_signature_or_not_onnx_is_refused_naming_the_file()
    {
        var dir = Fixtures.NewTempDir("lit-bad-encoder");
        var graph = new GraphProto { Name = "grey" };
        graph.Input.Add(OnnxGraphBuilder.Value("image", DataType.Float, 1, 1, 32, 32));
        graph.Node.Add(OnnxGraphBuilder.CreateNode("GlobalAveragePool", "pooled", ["image"]));
        graph.Output.Add(OnnxGraphBuilder.Value("pooled", DataType.Float, 1, 1, 1, 1));
        var grey = Path.Combine(dir, "grey.onnx");
        File.WriteAllBytes(grey, OnnxGraphBuilder.CreateModel(graph).ToByteArray());
        var e = Assert.Throws<InvalidDataException>(() => FrozenImageEncoder.FromOnnx(grey));
        Assert.Contains("grey.onnx", e.Message);
        Assert.Contains("[N, 3, R, R]", e.Message);

        var junk = Path.Combine(dir, "junk.onnx");
        File.WriteAllBytes(junk, [0xFF, 0xFF, 0xFF, 0x01, 0x02]);
        var j = Assert.Throws<InvalidDataException>(() => FrozenImageEncoder.FromOnnx(junk));
        Assert.Contains("junk.onnx", j.Message);

        var missing = Path.Combine(dir, "none.onnx");
        Assert.Contains("none.onnx", Assert.Throws<FileNotFoundException>(() => FrozenImageEncoder.FromOnnx(missing)).Message);
    }

    [Fact]
    public void Lit_training_encodes_each_image_once_leaves_the_encoder_untouched_and_exports_the_same_embeddings()
    {
        var dir = Fixtures.NewTempDir("lit-train");
        var encoderPath = WriteConvEncoder(dir);
        var encoderBytes = File.ReadAllBytes(encoderPath);
        var cache = Path.Combine(dir, "cache");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(24, seed: 11));
        var counts = new List<(int Epoch, long Hits, long Misses)>();
        var options = LitOptions(encoderPath, cache, epochs: 3);
        var hooks = new ClipTrainerTestHooks { FeatureCacheObserver = (epoch, hits, misses) => counts.Add((epoch, hits, misses)) };
        var losses = new List<float>();
        options.Progress = new Progress(p => losses.Add(p.Loss));

        using var model = new ClipTrainerEstimator(ml, "Image", "Caption", options, hooks).Fit(data);

        // 24 distinct images: encoded once before training, every epoch (3 full batches) reads the cache.
        Assert.Equal([(-1, 0L, 24L), (0, 24L, 0L), (1, 24L, 0L), (2, 24L, 0L)], counts);
        Assert.True(losses.TakeLast(3).Average() < losses.Take(3).Average(), $"loss {losses.Take(3).Average():F3} → {losses.TakeLast(3).Average():F3}");
        Assert.True(model.Config.IsImageFeatureProjection);
        Assert.Equal(Features, model.Config.ImageFeatureSize);

        // The frozen encoder is bit-identical: its file, and every weight of it inside the exported image graph.
        Assert.Equal(encoderBytes, File.ReadAllBytes(encoderPath));
        var exported = Path.Combine(dir, "onnx");
        var info = model.ExportOnnx(exported);
        Assert.Equal("onnx-features", info.VisionKind);
        var source = ModelProto.Parser.ParseFrom(encoderBytes).Graph.Initializer.ToDictionary(t => t.Name);
        var image = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(exported, info.ImageModelFile))).Graph.Initializer.ToDictionary(t => t.Name);
        Assert.All(source, kv => Assert.Equal(kv.Value.ToByteArray(), image[kv.Key].ToByteArray()));
        Assert.Contains(FrozenEncoderGraphs.ProjectionName, image.Keys);

        // The exported ONNX pair gives the in-memory model's embeddings.
        using var onnx = ClipModel.Load(exported);
        var held = ShapesDataset.Generate(6, seed: 77);
        var pixels = held.SelectMany(p => model.Preprocessor.Preprocess(p.Image)).ToArray();
        var fromOnnx = onnx.EmbedImages(pixels, held.Count);
        for (var i = 0; i < held.Count; i++)
        {
            ClipModel.Normalize(fromOnnx[i]);
            var inMemory = model.EmbedImage(held[i].Image);
            Assert.True(OrtTestHelpers.MaxAbsDiff(inMemory, fromOnnx[i]) <= 1e-4, $"image {i}: {OrtTestHelpers.MaxAbsDiff(inMemory, fromOnnx[i])}");
        }
        var texts = onnx.EmbedTexts(ShapesDataset.Captions);
        var inMemoryTexts = model.EmbedTexts(ShapesDataset.Captions);
        for (var i = 0; i < texts.Length; i++)
        {
            ClipModel.Normalize(texts[i]);
            Assert.True(OrtTestHelpers.MaxAbsDiff(inMemoryTexts.AsSpan(i * model.Config.EmbedDim, model.Config.EmbedDim).ToArray(), texts[i]) <= 1e-4);
        }

        // The transformer's data view runs the frozen encoder too.
        var viewed = ml.Data.CreateEnumerable<EmbeddingRow>(model.Transform(ml.Data.LoadFromEnumerable(held)), reuseRowObject: false).ToList();
        Assert.Equal(held.Count, viewed.Count);
        Assert.True(OrtTestHelpers.MaxAbsDiff(model.EmbedImage(held[2].Image), viewed[2].ImageEmbedding) <= 1e-6);

        // Saved with its encoder inside, the model loads on its own and embeds identically.
        var saved = Path.Combine(dir, "model.clipmodel");
        model.Save(saved);
        Assert.True(ClipTrainerTransformer.IsSavedModel(saved));
        using var loaded = ClipTrainerTransformer.Load(ml, saved);
        Assert.Equal(model.ImageEncoder!.Id, loaded.ImageEncoder!.Id);
        Assert.Equal(model.EmbedImage(held[0].Image), loaded.EmbedImage(held[0].Image));
    }

    [Fact]
    public void The_feature_cache_serves_a_second_run_and_encodes_again_an_image_whose_file_changed()
    {
        var dir = Fixtures.NewTempDir("lit-cache");
        var encoderPath = WriteConvEncoder(dir);
        var cache = Path.Combine(dir, "cache");
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var pairs = WriteShapes(images, 16, seed: 5);
        var ml = new MLContext(seed: 1);

        List<(int Epoch, long Hits, long Misses)> Train()
        {
            var counts = new List<(int, long, long)>();
            var options = LitOptions(encoderPath, cache, epochs: 1);
            var hooks = new ClipTrainerTestHooks { FeatureCacheObserver = (epoch, hits, misses) => counts.Add((epoch, hits, misses)) };
            using var _ = new ClipTrainerEstimator(ml, nameof(PathPair.ImagePath), nameof(PathPair.Caption), options, hooks).Fit(ml.Data.LoadFromEnumerable(pairs));
            return counts;
        }

        Assert.Equal([(-1, 0L, 16L), (0, 16L, 0L)], Train());
        Assert.Equal([(-1, 16L, 0L), (0, 16L, 0L)], Train());
        // A new picture under the same file name is a new key.
        File.WriteAllBytes(pairs[3].ImagePath, ShapesDataset.Render(2, 1, new Random(123), 32));
        Assert.Equal([(-1, 15L, 1L), (0, 16L, 0L)], Train());

        // Another encoder keeps its own cache file.
        var other = WriteConvEncoder(dir, seed: 4, name: "other.onnx");
        var counts = new List<(int, long, long)>();
        var otherOptions = LitOptions(other, cache, epochs: 1);
        var otherHooks = new ClipTrainerTestHooks { FeatureCacheObserver = (epoch, hits, misses) => counts.Add((epoch, hits, misses)) };
        using (new ClipTrainerEstimator(ml, nameof(PathPair.ImagePath), nameof(PathPair.Caption), otherOptions, otherHooks).Fit(ml.Data.LoadFromEnumerable(pairs))) { }
        Assert.Equal([(-1, 0L, 16L), (0, 16L, 0L)], counts);
        Assert.Equal(2, Directory.GetFiles(cache, "*.features").Length);
    }

    [Fact]
    public void A_missing_image_file_is_named_with_its_column_and_row()
    {
        var dir = Fixtures.NewTempDir("lit-missing");
        var images = Directory.CreateDirectory(Path.Combine(dir, "images")).FullName;
        var pairs = WriteShapes(images, 8, seed: 2);
        File.Delete(pairs[5].ImagePath);
        var ml = new MLContext(seed: 1);
        var options = LitOptions(WriteConvEncoder(dir), Path.Combine(dir, "cache"), epochs: 1);
        var thrown = Assert.ThrowsAny<Exception>(
            () => ml.Transforms.ClipTrainer(nameof(PathPair.ImagePath), nameof(PathPair.Caption), options).Fit(ml.Data.LoadFromEnumerable(pairs)));
        var e = Assert.IsType<FileNotFoundException>(thrown is AggregateException a ? a.Flatten().InnerException : thrown);
        Assert.Contains("Column 'ImagePath', row 5", e.Message);
        Assert.Contains("shape005.png", e.Message);
        // The column and row as data too (clip train maps the row to its TSV line).
        Assert.Equal(("ImagePath", 5L), ClipImageRowError.Of(e) is { } row ? (row.Column, row.Row) : default);
    }

    [Fact]
    public void A_torn_cache_record_is_dropped_and_recomputed()
    {
        var dir = Fixtures.NewTempDir("lit-torn");
        using var encoder = FrozenImageEncoder.FromOnnx(WriteConvEncoder(dir));
        string path;
        using (var cache = new FeatureCache(dir, encoder))
        {
            cache.Add(FeatureCache.Key([1]), new float[Features]);
            cache.Add(FeatureCache.Key([2]), Enumerable.Repeat(2f, Features).ToArray());
            path = cache.FilePath;
        }
        using (var file = new FileStream(path, FileMode.Open)) file.SetLength(file.Length - 5);
        using (var reopened = new FeatureCache(dir, encoder))
        {
            Assert.Equal(1, reopened.Count);
            Assert.NotNull(reopened.TryGet(FeatureCache.Key([1])));
            Assert.Null(reopened.TryGet(FeatureCache.Key([2])));
            reopened.Add(FeatureCache.Key([2]), Enumerable.Repeat(2f, Features).ToArray());
        }
        using var third = new FeatureCache(dir, encoder);
        Assert.Equal(2f, third.TryGet(FeatureCache.Key([2]))![0]);
    }

    [Fact]
    public void A_cache_in_use_is_refused_with_a_clear_error()
    {
        var dir = Fixtures.NewTempDir("lit-busy");
        using var encoder = FrozenImageEncoder.FromOnnx(WriteConvEncoder(dir));
        using var first = new FeatureCache(dir, encoder);
        var e = Assert.Throws<IOException>(() => new FeatureCache(dir, encoder));
        Assert.Contains(first.FilePath, e.Message);
        Assert.Contains("another cache folder", e.Message);
    }

    [Fact]
    public void Options_that_contradict_a_frozen_encoder_are_refused()
    {
        var dir = Fixtures.NewTempDir("lit-options");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(8, seed: 1));
        var locked = LitOptions(WriteConvEncoder(dir), Path.Combine(dir, "cache"));
        locked.LockImageTower = true;
        Assert.Contains("LockImageTower", Assert.Throws<ArgumentException>(() => ml.Transforms.ClipTrainer("Image", "Caption", locked).Fit(data)).Message);
        var cropped = LitOptions(WriteConvEncoder(dir), Path.Combine(dir, "cache"));
        cropped.RandomResizedCropMinScale = 0.9;
        Assert.Contains("RandomResizedCropMinScale", Assert.Throws<ArgumentException>(() => ml.Transforms.ClipTrainer("Image", "Caption", cropped).Fit(data)).Message);
    }

    [Fact]
    public void Locking_the_text_tower_as_well_trains_only_the_two_heads_and_the_temperature()
    {
        var dir = Fixtures.NewTempDir("lit-lock-text");
        var options = LitOptions(WriteConvEncoder(dir), Path.Combine(dir, "cache"), epochs: 1);
        options.LockTextTower = true;
        using var session = ClipTrainingSession.Create(options, null);
        var trained = session.Model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => p.name).Order().ToArray();
        Assert.Equal(["logit_scale", "text_projection", "visual.ln_post.bias", "visual.ln_post.weight", "visual.proj"], trained);
    }

    private sealed class EmbeddingRow
    {
        [VectorType(32)]
        public float[] ImageEmbedding = [];
    }

    private sealed class Progress(Action<ClipTrainingProgress> report) : IProgress<ClipTrainingProgress>
    {
        public void Report(ClipTrainingProgress value) => report(value);
    }
}
