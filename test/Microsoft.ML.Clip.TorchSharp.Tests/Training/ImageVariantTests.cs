using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// Training variants of frozen-encoder images (<see cref="ClipTrainerOptions.ImageVariantProbability"/>): what a variant
/// looks like, which images and rows get one, and that training encodes them once and uses them.
/// </summary>
public class ImageVariantTests
{
    // 128×128 RGB: white, a black square (rows and columns 32..95) with a pure red 32×32 patch at its centre (48..79).
    private static DecodedImage Drawing()
    {
        var pixels = new byte[128 * 128 * 3];
        for (var y = 0; y < 128; y++)
            for (var x = 0; x < 128; x++)
            {
                var inSquare = x is >= 32 and < 96 && y is >= 32 and < 96;
                var inPatch = x is >= 48 and < 80 && y is >= 48 and < 80;
                var (r, g, b) = inPatch ? (255, 0, 0) : inSquare ? (0, 0, 0) : (255, 255, 255);
                pixels[(y * 128 + x) * 3] = (byte)r;
                pixels[(y * 128 + x) * 3 + 1] = (byte)g;
                pixels[(y * 128 + x) * 3 + 2] = (byte)b;
            }
        return new DecodedImage(128, 128, DecodedPixelFormat.Rgb, pixels);
    }

    private static ImageVariants Variants(double p = 0.25, int seed = 0) => new(p, seed, ClipPreprocessSettings.OpenAI(224));

    [Fact]
    public void The_negative_is_28_pixels_of_grey_light_on_dark()
    {
        var negative = Variants().Make(Drawing(), ImageVariantKind.Negative, "drawing");

        Assert.Equal((28, 28, DecodedPixelFormat.Gray), (negative.Width, negative.Height, negative.Format));
        byte At(int x, int y) => negative.Pixels[y * 28 + x];
        // Pixels whose filter taps see one colour only are exact: white paper → black, the red patch → the negative of its
        // luma (255 − 76 = 179); the black ring (taps reaching paper and patch too) → near white.
        Assert.Equal(0, At(2, 2));
        Assert.Equal(179, At(13, 13));
        Assert.InRange(At(8, 8), 200, 255);
    }

    [Fact]
    public void The_thumbnail_is_32_pixels_in_colour()
    {
        var thumbnail = Variants().Make(Drawing(), ImageVariantKind.Thumbnail, "drawing");

        Assert.Equal((32, 32, DecodedPixelFormat.Rgb), (thumbnail.Width, thumbnail.Height, thumbnail.Format));
        byte[] At(int x, int y) => thumbnail.Pixels.AsSpan((y * 32 + x) * 3, 3).ToArray();
        Assert.Equal([255, 255, 255], At(2, 2));
        Assert.Equal([255, 0, 0], At(16, 16));
        Assert.All(At(9, 9), c => Assert.InRange(c, 0, 80));
    }

    [Fact]
    public void A_share_2p_of_the_images_have_a_variant_shown_half_the_time_fixed_by_content_seed_and_epoch()
    {
        var variants = Variants(p: 0.25, seed: 3);
        var keys = Enumerable.Range(0, 4000).Select(i => FeatureCache.Key($"image {i}")).ToList();
        var kinds = keys.Select(variants.For).ToList();

        Assert.Equal(kinds, keys.Select(Variants(p: 0.25, seed: 99).For));   // by content alone, not the seed
        Assert.InRange(kinds.Count(k => k is not null) / 4000.0, 0.47, 0.53);
        Assert.InRange(kinds.Count(k => k == ImageVariantKind.Negative) / (double)kinds.Count(k => k is not null), 0.45, 0.55);
        var shown = Enumerable.Range(0, 4000).Select(row => variants.Shows(epoch: 1, row)).ToList();
        Assert.InRange(shown.Count(s => s) / 4000.0, 0.47, 0.53);
        Assert.Equal(shown, Enumerable.Range(0, 4000).Select(row => Variants(p: 0.25, seed: 3).Shows(1, row)));
        Assert.NotEqual(shown, Enumerable.Range(0, 4000).Select(row => variants.Shows(2, row)));
        Assert.NotEqual(shown, Enumerable.Range(0, 4000).Select(row => Variants(p: 0.25, seed: 4).Shows(1, row)));
        // From p = 0.5 on, every image has a variant.
        Assert.All(keys.Take(200), k => Assert.NotNull(Variants(p: 0.6).For(k)));
    }

    [Fact]
    public void Training_encodes_each_variant_once_and_trains_on_them()
    {
        var dir = Fixtures.NewTempDir("lit-variants");
        var encoder = LockedImageTuningTests.WriteConvEncoder(dir);
        var ml = new MLContext(seed: 1);
        var pairs = ShapesDataset.Generate(24, seed: 11);
        var data = ml.Data.LoadFromEnumerable(pairs);
        ClipTrainerOptions Options(double p, string cache)
        {
            var options = ShapesDataset.FastOptions(batchSize: 8, epochs: 3);
            options.ImageEncoder = encoder;
            options.FeatureCacheDirectory = Path.Combine(dir, cache);
            options.LearningRate = 3e-3;
            options.ImageVariantProbability = p;
            return options;
        }
        var withVariants = Variants(p: 0.25).For;
        var expected = pairs.Count(p => withVariants(FeatureCache.Key(p.Image)) is not null);
        Assert.InRange(expected, 1, 23);

        var counts = new List<(int Epoch, long Hits, long Misses)>();
        var hooks = new ClipTrainerTestHooks { FeatureCacheObserver = (epoch, hits, misses) => counts.Add((epoch, hits, misses)) };
        using var varied = new ClipTrainerEstimator(ml, "Image", "Caption", Options(0.25, "cache"), hooks).Fit(data);
        // The encoding pass: 24 images and their variants; each epoch looks every row up in the cache, nothing more.
        Assert.Equal([(-1, 0L, 24L + expected), (0, 24L, 0L), (1, 24L, 0L), (2, 24L, 0L)], counts);

        // A second run finds the variants cached too.
        counts.Clear();
        using (new ClipTrainerEstimator(ml, "Image", "Caption", Options(0.25, "cache"), hooks).Fit(data)) { }
        Assert.Equal((-1, 24L, 0L), counts[0]);

        // The variants changed what was trained: the same run without them ends elsewhere.
        using var plain = new ClipTrainerEstimator(ml, "Image", "Caption", Options(0, "cache")).Fit(data);
        Assert.True(OrtTestHelpers.MaxAbsDiff(plain.EmbedImage(pairs[0].Image), varied.EmbedImage(pairs[0].Image)) > 1e-4);
    }

    [Fact]
    public void A_resumed_run_shows_the_same_variants_and_a_resume_with_another_probability_is_refused()
    {
        var dir = Fixtures.NewTempDir("lit-variants-resume");
        var encoder = LockedImageTuningTests.WriteConvEncoder(dir);
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(24, seed: 11));
        ClipTrainerOptions Options(double p = 0.4)
        {
            var options = ShapesDataset.FastOptions(batchSize: 4, epochs: 2);   // 6 steps an epoch
            options.ImageEncoder = encoder;
            options.FeatureCacheDirectory = Path.Combine(dir, "cache");
            options.ImageVariantProbability = p;
            options.ShuffleBufferSize = 10;
            options.EmbeddingSize = 24;   // not the config's: the resume check must compare the architecture as built
            return options;
        }
        using var straight = ml.Transforms.ClipTrainer("Image", "Caption", Options()).Fit(data);

        var checkpoints = Path.Combine(dir, "run");
        using var cts = new CancellationTokenSource();
        var interrupted = Options();
        interrupted.CheckpointDirectory = checkpoints;
        interrupted.CancellationToken = cts.Token;
        interrupted.Progress = new Progress<ClipTrainingProgress>(p => { if (p.Step == 8) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => ml.Transforms.ClipTrainer("Image", "Caption", interrupted).Fit(data));

        var other = Options(p: 0.2);
        other.ResumeFrom = checkpoints;
        Assert.Contains("ImageVariantProbability", Assert.Throws<ClipResumeOptionsException>(() => ml.Transforms.ClipTrainer("Image", "Caption", other).Fit(data)).Message);

        var resumed = Options();
        resumed.ResumeFrom = checkpoints;
        using var finished = ml.Transforms.ClipTrainer("Image", "Caption", resumed).Fit(data);
        var expected = straight.Model.state_dict();
        foreach (var (name, value) in finished.Model.state_dict())
            Assert.True(expected[name].data<float>().ToArray().SequenceEqual(value.data<float>().ToArray()), $"{name} differs after resuming");
    }

    // Reports on the training thread (System.Progress would post to the thread pool, after the step).
    private sealed class Progress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }

    [Fact]
    public void Variants_without_a_frozen_image_encoder_or_out_of_range_are_refused_by_name()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ShapesDataset.Generate(8, seed: 1));
        var noEncoder = ShapesDataset.FastOptions();
        noEncoder.ImageVariantProbability = 0.25;
        Assert.Contains("ImageVariantProbability", Assert.Throws<ArgumentException>(() => ml.Transforms.ClipTrainer("Image", "Caption", noEncoder).Fit(data)).Message);
        var outOfRange = ShapesDataset.FastOptions();
        outOfRange.ImageVariantProbability = 1.5;
        Assert.Equal("ImageVariantProbability", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipTrainer("Image", "Caption", outOfRange).Fit(data)).ParamName);
    }
}
