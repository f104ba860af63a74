using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

public class ClipTrainerTests(ITestOutputHelper output)
{
    private sealed class Recorder(Action<ClipTrainingProgress>? onReport = null) : IProgress<ClipTrainingProgress>
    {
        public List<ClipTrainingProgress> Reports { get; } = [];

        public void Report(ClipTrainingProgress value)
        {
            Reports.Add(value);
            onReport?.Invoke(value);
        }
    }

    private static IDataView Data(MLContext ml, int count, int seed) => ml.Data.LoadFromEnumerable(ShapesDataset.Generate(count, seed));

    [Fact]
    public void Training_on_rendered_shapes_lowers_the_loss_and_retrieves_held_out_captions_far_above_chance()
    {
        var ml = new MLContext(seed: 1);
        var progress = new Recorder();
        var options = ShapesDataset.FastOptions(batchSize: 12, epochs: 2);
        options.Progress = progress;
        options.LearningRate = 1e-3;
        options.WarmupSteps = 4;
        var estimator = ml.Transforms.ClipTrainer("Image", "Caption", options);
        using var model = estimator.Fit(Data(ml, 288, seed: 100));

        Assert.Equal(48, progress.Reports.Count);
        var first = progress.Reports.Take(4).Average(r => r.Loss);
        var last = progress.Reports.TakeLast(4).Average(r => r.Loss);
        Assert.True(last < 0.6 * first, $"loss {first:F3} → {last:F3}");

        // Image → text retrieval on held-out renderings among the 12 captions (chance: 1/12, and 1/4 for the colour).
        // In this budget (48 steps) the small model learns every colour and half the shapes (53% top-1, 100% colour measured).
        var held = ShapesDataset.Generate(36, seed: 999);
        var captionEmbeddings = model.EmbedTexts(ShapesDataset.Captions);
        var dim = model.Config.EmbedDim;
        int correct = 0, correctColour = 0;
        foreach (var pair in held)
        {
            var image = model.EmbedImage(pair.Image);
            var best = Enumerable.Range(0, ShapesDataset.Captions.Length)
                .MaxBy(c => Enumerable.Range(0, dim).Sum(j => image[j] * captionEmbeddings[c * dim + j]));
            if (best == pair.Class) correct++;
            if (best / ShapesDataset.Shapes.Length == pair.Class / ShapesDataset.Shapes.Length) correctColour++;
        }
        var accuracy = correct / (double)held.Count;
        var colourAccuracy = correctColour / (double)held.Count;
        output.WriteLine($"loss {first:F3} → {last:F3}; held-out top-1 {accuracy:P1}, colour {colourAccuracy:P1}");
        Assert.True(accuracy >= 0.4, $"held-out image→text top-1 {accuracy:P0} (chance 8%)");
        Assert.True(colourAccuracy >= 0.9, $"held-out colour retrieval {colourAccuracy:P0} (chance 25%)");
    }

    [Fact]
    public void A_locked_image_tower_is_bit_identical_after_training_and_not_optimised()
    {
        var ml = new MLContext(seed: 1);
        var options = ShapesDataset.FastOptions();
        options.LockImageTower = true;
        using var session = ClipTrainingSession.Create(options, null);
        var before = session.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
        Assert.DoesNotContain(session.Optimizer.Groups, g => g.Name.StartsWith("visual.", StringComparison.Ordinal));
        Assert.All(session.Model.named_parameters().Where(p => p.name.StartsWith("visual.", StringComparison.Ordinal)), p => Assert.False(p.parameter.requires_grad));

        var source = new DataViewBatchSource(Data(ml, 24, 5), "Image", "Caption", new Imaging.ClipImagePreprocessor(Imaging.ClipPreprocessSettings.OpenAI(32)),
            ShapesDataset.Tokenize, 8, 64, 7);
        session.Run(source);

        var after = session.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.data<float>().ToArray());
        foreach (var (name, values) in before)
        {
            if (name.StartsWith("visual.", StringComparison.Ordinal)) Assert.Equal(values, after[name]);
        }
        Assert.NotEqual(before["text_projection"], after["text_projection"]);
        Assert.NotEqual(before["logit_scale"], after["logit_scale"]);
    }

    [Fact]
    public void Resuming_at_step_k_reaches_the_same_weights_as_an_uninterrupted_run()
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 24, seed: 3); // batch 4: 6 steps per epoch; stop at 3 (mid-epoch), finish at 6
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.ShuffleBufferSize = 10;
        using var straight = ml.Transforms.ClipTrainer("Image", "Caption", options).Fit(data);

        var dir = Fixtures.NewTempDir("clip-resume");
        using var cts = new CancellationTokenSource();
        var interrupted = ShapesDataset.FastOptions(batchSize: 4);
        interrupted.ShuffleBufferSize = 10;
        interrupted.CheckpointDirectory = dir;
        interrupted.CancellationToken = cts.Token;
        interrupted.Progress = new Recorder(p => { if (p.Step == 3) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => ml.Transforms.ClipTrainer("Image", "Caption", interrupted).Fit(data));
        Assert.Equal(3, ClipPackageFile.ReadHeader(Path.Combine(dir, ClipTrainingSession.CheckpointFileName)).Int64("step"));

        var resumed = ShapesDataset.FastOptions(batchSize: 4);
        resumed.ShuffleBufferSize = 10;
        resumed.ResumeFrom = dir;
        var steps = new Recorder();
        resumed.Progress = steps;
        using var finished = ml.Transforms.ClipTrainer("Image", "Caption", resumed).Fit(data);

        Assert.Equal([4L, 5L, 6L], steps.Reports.Select(r => r.Step));
        var expected = straight.Model.state_dict();
        foreach (var (name, value) in finished.Model.state_dict())
            Assert.True(expected[name].data<float>().ToArray().SequenceEqual(value.data<float>().ToArray()), $"{name} differs after resuming");
    }

    [Fact]
    public void A_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint()
    {
        var dir = Fixtures.NewTempDir("clip-nan");
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.CheckpointDirectory = dir;
        options.CheckpointEverySteps = 1;
        using var session = ClipTrainingSession.Create(options, null);
        var e = Assert.Throws<ClipTrainingDivergedException>(() => session.Run(new PoisonedSource(poisonedBatch: 2)));
        Assert.Equal(2, e.Step);
        Assert.Contains("NaN", e.Message);
        Assert.Contains("step 3", e.Message);
        Assert.Equal(Path.Combine(dir, ClipTrainingSession.CheckpointFileName), e.LastCheckpoint);
        Assert.Equal(2, ClipPackageFile.ReadHeader(e.LastCheckpoint!).Int64("step"));
        Assert.True(float.IsFinite(session.Model.LogitScale.item<float>()), "the bad step must not be applied");
    }

    [Fact]
    public void The_temperature_is_clamped_to_100_after_each_step()
    {
        var options = ShapesDataset.FastOptions(batchSize: 4);
        using var session = ClipTrainingSession.Create(options, null);
        using (global::TorchSharp.torch.no_grad()) session.Model.LogitScale.fill_(Math.Log(300));
        using var batch = new PoisonedSource(poisonedBatch: -1).ReadEpoch(0, 4, 0, default).First();
        session.TrainStep(batch, 1e-4);
        Assert.True(session.Model.LogitScale.item<float>() <= (float)Math.Log(100) + 1e-6f);
    }

    [Fact]
    public void A_crash_while_saving_leaves_the_previous_checkpoint_loadable()
    {
        var ml = new MLContext(seed: 1);
        var dir = Fixtures.NewTempDir("clip-crash");
        var options = ShapesDataset.FastOptions(batchSize: 4);
        options.CheckpointDirectory = dir;
        options.CheckpointEverySteps = 1;
        var saves = 0;
        var hooks = new ClipTrainerTestHooks
        {
            CheckpointTensorWritten = tensor =>
            {
                if (tensor == 0) saves++;
                if (saves == 3 && tensor == 10) throw new IOException("simulated crash mid-save");
            },
        };
        var e = Assert.Throws<IOException>(() => new ClipTrainerEstimator(ml, "Image", "Caption", options, hooks).Fit(Data(ml, 16, 4)));
        Assert.Contains("simulated", e.Message);
        var path = Path.Combine(dir, ClipTrainingSession.CheckpointFileName);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        Assert.Equal(2, ClipPackageFile.ReadHeader(path).Int64("step"));

        var resume = ShapesDataset.FastOptions(batchSize: 4);
        resume.ResumeFrom = dir;
        var steps = new Recorder();
        resume.Progress = steps;
        using var model = ml.Transforms.ClipTrainer("Image", "Caption", resume).Fit(Data(ml, 16, 4));
        Assert.Equal([3L, 4L], steps.Reports.Select(r => r.Step));
    }

    [Fact]
    public void Schema_save_load_export_and_logging()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { lock (log) log.Add(e.Message); };
        var data = Data(ml, 8, 6);
        var estimator = ml.Transforms.ClipTrainer("Image", "Caption", ShapesDataset.FastOptions(batchSize: 4));
        var declared = estimator.GetOutputSchema(ShapeOf(data.Schema));
        using var model = estimator.Fit(data);
        Assert.Contains(log, m => m.Contains("step 2/2", StringComparison.Ordinal));

        var output = model.Transform(data);
        foreach (var name in new[] { "ImageEmbedding", "TextEmbedding" })
        {
            var shape = Assert.Single(declared, c => c.Name == name);
            var column = output.Schema[name];
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 32), column.Type);
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, shape.Kind);
            Assert.Equal(NumberDataViewType.Single, shape.ItemType);
        }
        var rows = ml.Data.CreateEnumerable<Embedded>(output, reuseRowObject: false).ToList();
        Assert.Equal(8, rows.Count);
        Assert.All(rows, r => Assert.Equal(1.0, Math.Sqrt(r.ImageEmbedding.Sum(x => (double)x * x)), 4));

        // Save → Load gives the same embeddings.
        using var stream = new MemoryStream();
        model.Save(stream);
        stream.Position = 0;
        using var loaded = ClipTrainerTransformer.Load(ml, stream, "memory", ShapesDataset.Tokenize);
        var reloaded = ml.Data.CreateEnumerable<Embedded>(loaded.Transform(data), reuseRowObject: false).ToList();
        for (var i = 0; i < rows.Count; i++)
        {
            Assert.Equal(rows[i].ImageEmbedding, reloaded[i].ImageEmbedding);
            Assert.Equal(rows[i].TextEmbedding, reloaded[i].TextEmbedding);
        }
        Assert.Throws<NotSupportedException>(() => ml.Model.Save(model, data.Schema, new MemoryStream()));
        Assert.Throws<InvalidDataException>(() => ClipTrainerTransformer.Load(ml, new MemoryStream([1, 2, 3, 4, 5, 6, 7, 8, 9])));

        // The ONNX export computes the same (raw) features; normalised they equal the transformer's output.
        var dir = Fixtures.NewTempDir("clip-export");
        var info = model.ExportOnnx(dir);
        Assert.Equal(32, info.EmbedDim);
        var pixels = model.Preprocessor.Preprocess(ShapesDataset.Generate(1, 6)[0].Image);
        using var session = new InferenceSession(Path.Combine(dir, "image.onnx"));
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("pixel_values", new DenseTensor<float>(pixels, [1, 3, 32, 32]))]);
        var raw = results.First().AsTensor<float>().ToArray();
        var norm = (float)Math.Sqrt(raw.Sum(x => (double)x * x));
        var onnx = raw.Select(x => x / norm).ToArray();
        Assert.True(OrtTestHelpers.MaxAbsDiff(onnx, rows[0].ImageEmbedding) < 1e-4f);
    }

    [Fact]
    public void Bad_columns_are_rejected_naming_the_column()
    {
        var ml = new MLContext(seed: 1);
        var data = Data(ml, 4, 1);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipTrainer("Picture", "Caption", ShapesDataset.FastOptions()).Fit(data));
        Assert.Equal("inputSchema", e.ParamName);
        Assert.Contains("'Picture'", e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipTrainer("Class", "Caption", ShapesDataset.FastOptions()).GetOutputSchema(ShapeOf(data.Schema)));
        Assert.Contains("Schema mismatch for input column 'Class'", e.Message);
        // The one image-column definition of the inference package, shared with its estimators (same wording).
        Assert.Contains("expected " + Microsoft.ML.Clip.Transforms.ClipInputs.ImageExpectation(null), e.Message);
        e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipTrainer("Class", "Caption", ShapesDataset.FastOptions()).Fit(data));
        Assert.Contains("expected " + Microsoft.ML.Clip.Transforms.ClipInputs.ImageExpectation(null), e.Message);
        var bad = ShapesDataset.FastOptions();
        bad.BatchSize = 1;
        Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipTrainer("Image", "Caption", bad).Fit(data));
    }

    // SchemaShape.Create is internal to ML.NET; tests reach it by reflection (the estimator never needs it).
    internal static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    private sealed class Embedded
    {
        public float[] ImageEmbedding = [];
        public float[] TextEmbedding = [];
    }

    /// <summary>Random batches; the batch at <c>poisonedBatch</c> has a NaN pixel.</summary>
    private sealed class PoisonedSource(int poisonedBatch) : IClipBatchSource
    {
        public long RowCount => 16;

        public IEnumerable<ClipTrainingBatch> ReadEpoch(int epoch, int batchSize, long skipBatches, CancellationToken cancellationToken)
        {
            for (var b = (int)skipBatches; b < RowCount / batchSize; b++)
            {
                var images = global::TorchSharp.torch.randn(batchSize, 3, 32, 32);
                if (b == poisonedBatch) images[0, 0, 0, 0] = float.NaN;
                var texts = Enumerable.Range(0, batchSize).Select(i => ShapesDataset.Captions[(b * batchSize + i) % 12]).ToArray();
                yield return new ClipTrainingBatch(images, global::TorchSharp.torch.tensor(ShapesDataset.Tokenize(texts, 8), [batchSize, 8]));
            }
        }
    }
}
