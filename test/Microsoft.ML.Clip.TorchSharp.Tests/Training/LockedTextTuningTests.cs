using Google.Protobuf;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;
using Onnx;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// Training on a frozen text encoder (the real MiniLM, from the restored NuGet package): both towers locked (a generated
/// frozen image encoder and MiniLM, only two heads and the temperature learn), and a CLIP image tower trained against
/// MiniLM; captions encoded once and cached; one caption per image; the model saved, reloaded, converted and exported
/// with the encoder's weights unchanged.
/// </summary>
public class LockedTextTuningTests
{
    private static ClipTrainerOptions BothLocked(string imageEncoder, string cache, int epochs)
    {
        var options = ShapesDataset.FastOptions(batchSize: 12, epochs: epochs);
        options.ImageEncoder = imageEncoder;
        options.TextEncoder = FrozenTextEncoder.MiniLmName;
        options.FeatureCacheDirectory = cache;
        options.EmbeddingSize = 32;
        options.OrthogonalFeatureProjections = true;
        options.LearningRate = 1e-2;
        options.WeightDecay = 0;
        return options;
    }

    [Fact]
    public void Both_locked_training_learns_caches_each_caption_once_and_exports_minilm_unchanged()
    {
        var dir = Fixtures.NewTempDir("locked-text");
        var cache = Path.Combine(dir, "cache");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(48, seed: 11));
        var textCounts = new List<(int Epoch, long Hits, long Misses)>();
        var hooks = new ClipTrainerTestHooks { TextFeatureCacheObserver = (epoch, hits, misses) => textCounts.Add((epoch, hits, misses)) };
        var options = BothLocked(LockedImageTuningTests.WriteConvEncoder(dir), cache, epochs: 12);
        var losses = new List<float>();
        options.Progress = new Progress(p => losses.Add(p.Loss));

        using var model = new ClipTrainerEstimator(ml, "Image", "Caption", options, hooks).Fit(data);

        // 12 distinct captions over 48 rows: encoded once before training, then every look-up is a hit.
        Assert.Equal((-1, 36L, 12L), textCounts[0]);
        Assert.All(textCounts.Skip(1), c => Assert.Equal((48L, 0L), (c.Hits, c.Misses)));
        Assert.True(losses.TakeLast(4).Average() < losses.Take(4).Average() - 0.3, $"loss {losses.Take(4).Average():F3} → {losses.TakeLast(4).Average():F3}");
        Assert.True(model.Config.IsTextFeatureProjection && model.Config.IsImageFeatureProjection);
        Assert.Equal((384, 256, 32), (model.Config.TextFeatureSize!.Value, model.Config.ContextLength, model.Config.EmbedDim));

        // Retrieval on held-out images well above chance (1 in 12 captions).
        var held = ShapesDataset.Generate(24, seed: 99);
        var captions = model.EmbedTexts(ShapesDataset.Captions);
        var d = model.Config.EmbedDim;
        var hits = held.Count(p =>
        {
            var image = model.EmbedImage(p.Image);
            var scores = Enumerable.Range(0, ShapesDataset.Captions.Length).Select(c => Enumerable.Range(0, d).Sum(k => image[k] * captions[c * d + k])).ToArray();
            return Array.IndexOf(scores, scores.Max()) == p.Class;
        });
        Assert.True(hits >= 6, $"image→text top-1 {hits}/24 (chance 2)");

        // A second run encodes nothing: the cache answers every caption.
        var again = new List<(int, long, long)>();
        var second = BothLocked(LockedImageTuningTests.WriteConvEncoder(dir), cache, epochs: 1);
        using (new ClipTrainerEstimator(ml, "Image", "Caption", second, new ClipTrainerTestHooks { TextFeatureCacheObserver = (e, h, m) => again.Add((e, h, m)) }).Fit(data)) { }
        Assert.Equal((-1, 48L, 0L), again[0]);

        // Export: MiniLM's normal-form graph unchanged inside text.onnx, its vocabulary beside it, the same embeddings.
        var exported = Path.Combine(dir, "onnx");
        var info = model.ExportOnnx(exported);
        Assert.Equal(("wordpiece", "vocab.txt", "dynamic"), (info.Tokenizer.Kind, info.Tokenizer.File, info.TextSequence));
        var frozen = ModelProto.Parser.ParseFrom(model.TextEncoder!.GraphBytes).Graph.Initializer;
        var text = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(exported, info.TextModelFile))).Graph.Initializer.ToDictionary(t => t.Name);
        Assert.True(frozen.Count > 50);
        Assert.All(frozen, t => Assert.True(text.TryGetValue(t.Name, out var kept) && kept.ToByteString().Equals(t.ToByteString()), t.Name));
        using var onnx = ClipModel.Load(exported);
        var fromOnnx = onnx.EmbedTexts(ShapesDataset.Captions);
        for (var i = 0; i < fromOnnx.Length; i++)
        {
            ClipModel.Normalize(fromOnnx[i]);
            Assert.True(OrtTestHelpers.MaxAbsDiff(captions.AsSpan(i * d, d).ToArray(), fromOnnx[i]) <= 1e-4, $"caption {i}");
        }

        // Saved with both encoders inside, the model reloads and converts on its own to the same files.
        var saved = Path.Combine(dir, "model.clipmodel");
        model.Save(saved);
        using (var loaded = ClipTrainerTransformer.Load(ml, saved))
        {
            Assert.Equal(model.TextEncoder.Id, loaded.TextEncoder!.Id);
            Assert.Equal(model.EmbedText("a red circle"), loaded.EmbedText("a red circle"));
        }
        var converted = Path.Combine(dir, "converted");
        ClipModelConverter.ConvertToOnnx(saved, converted);
        foreach (var file in new[] { "text.onnx", "image.onnx", "vocab.txt" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(exported, file)), File.ReadAllBytes(Path.Combine(converted, file)));
        Assert.Throws<NotSupportedException>(() => ClipModelConverter.ConvertToSafetensors(saved, Path.Combine(dir, "st")));
    }

    [Fact]
    public void One_caption_per_image_trains_an_epoch_over_the_images_and_draws_the_same_captions_for_a_seed()
    {
        var dir = Fixtures.NewTempDir("one-caption");
        // Each image twice, once with its caption and once with a second phrasing: 16 images, 32 rows.
        var images = ShapesDataset.Generate(16, seed: 3);
        var rows = images.SelectMany(p => new[] { p, new ShapesDataset.Pair { Image = p.Image, Caption = "a drawing of " + p.Caption[2..], Class = p.Class } }).ToList();
        var ml = new MLContext(seed: 1);
        var source = new DataViewBatchSource(ml.Data.LoadFromEnumerable(rows), "Image", "Caption", new Imaging.ClipImagePreprocessor(Imaging.ClipPreprocessSettings.OpenAI(32)),
            ShapesDataset.Tokenize, 16, shuffleBufferSize: 64, seed: 5, oneCaptionPerImage: true);
        Assert.Equal((16L, 32L), (source.RowCount, source.CaptionCount));
        List<string> Epoch(DataViewBatchSource s, int epoch) =>
            s.ReadEpoch(epoch, 4, 0, CancellationToken.None).SelectMany(b => { using (b) return DecodeTexts(b).ToList(); }).ToList();
        var first = Epoch(source, 0);
        Assert.Equal(16, first.Count);
        Assert.Equal(16, first.Count(t => t.Length > 0));
        // Both phrasings are drawn over a few epochs, and a new source with the same seed draws the same ones.
        var seen = Enumerable.Range(0, 4).SelectMany(e => Epoch(source, e)).ToHashSet();
        Assert.Contains(seen, t => t.StartsWith("a drawing of", StringComparison.Ordinal));
        Assert.Contains(seen, t => !t.StartsWith("a drawing of", StringComparison.Ordinal));
        var twin = new DataViewBatchSource(ml.Data.LoadFromEnumerable(rows), "Image", "Caption", new Imaging.ClipImagePreprocessor(Imaging.ClipPreprocessSettings.OpenAI(32)),
            ShapesDataset.Tokenize, 16, shuffleBufferSize: 64, seed: 5, oneCaptionPerImage: true);
        Assert.Equal(Epoch(source, 2), Epoch(twin, 2));
    }

    // The batch's token rows decoded back to text (to see which caption was drawn).
    private static IEnumerable<string> DecodeTexts(ClipTrainingBatch batch)
    {
        var ids = batch.Tokens.data<long>().ToArray();
        var length = (int)batch.Tokens.shape[1];
        for (var r = 0; r < batch.Count; r++)
            yield return Tokenization.ClipTokenizer.Default.Decode(ids.Skip(r * length).Take(length).Select(i => (int)i)).Trim();
    }

    [Fact]
    public void A_clip_image_tower_trains_against_minilm_and_exports()
    {
        var dir = Fixtures.NewTempDir("scratch-image-minilm");
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(24, seed: 4));
        var options = ShapesDataset.FastOptions(batchSize: 8, epochs: 1);
        options.TextEncoder = FrozenTextEncoder.MiniLmName;
        options.FeatureCacheDirectory = Path.Combine(dir, "cache");
        var losses = new List<float>();
        options.Progress = new Progress(p => losses.Add(p.Loss));
        using var model = ml.Transforms.ClipTrainer("Image", "Caption", options).Fit(data);
        Assert.Equal(3, losses.Count);
        Assert.All(losses, l => Assert.True(float.IsFinite(l)));
        Assert.True(model.Config.IsVisionTransformer && model.Config.IsTextFeatureProjection);
        var info = model.ExportOnnx(Path.Combine(dir, "onnx"));
        Assert.Equal(("vit", "wordpiece"), (info.VisionKind, info.Tokenizer.Kind));
        using var onnx = ClipModel.Load(Path.Combine(dir, "onnx"));
        var e = onnx.EmbedTexts(["a red circle"])[0];
        ClipModel.Normalize(e);
        Assert.True(OrtTestHelpers.MaxAbsDiff(model.EmbedText("a red circle"), e) <= 1e-4);
    }

    [Fact]
    public void Contradicting_options_are_refused_before_anything_loads()
    {
        var options = ShapesDataset.FastOptions();
        options.TextEncoder = FrozenTextEncoder.MiniLmName;
        options.LockTextTower = true;
        Assert.Equal(nameof(ClipTrainerOptions.LockTextTower), Assert.Throws<ArgumentException>(() => ClipTrainerOptionsValidation.Validate(options)).ParamName);
        var orthogonal = ShapesDataset.FastOptions();
        orthogonal.OrthogonalFeatureProjections = true;
        Assert.Equal(nameof(ClipTrainerOptions.OrthogonalFeatureProjections), Assert.Throws<ArgumentException>(() => ClipTrainerOptionsValidation.Validate(orthogonal)).ParamName);
        var recipe = ClipTrainerOptions.LockedTowers();
        Assert.Equal(("resnet18", "minilm", 512, 30, 256, 5.0), (recipe.ImageEncoder, recipe.TextEncoder, recipe.EmbeddingSize!.Value, recipe.Epochs, recipe.BatchSize, recipe.WeightDecay));
        ClipTrainerOptionsValidation.Validate(recipe);
    }

    private sealed class Progress(Action<ClipTrainingProgress> report) : IProgress<ClipTrainingProgress>
    {
        public void Report(ClipTrainingProgress value) => report(value);
    }
}
