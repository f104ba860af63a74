using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class LinearProbeTests
{
    private static readonly MLContext Ml = new(seed: 1);

    [Fact]
    public void ProbeReaches99PercentOnSeparableFeaturesAndWorksWithEvaluate()
    {
        var train = SyntheticFeatures.Blobs(classes: 5, perClass: 60, dim: 24, separation: 4, noise: 0.5f, seed: 1);
        var test = SyntheticFeatures.Blobs(classes: 5, perClass: 40, dim: 24, separation: 4, noise: 0.5f, seed: 2);
        var probe = Ml.MulticlassClassification.Trainers.ClipLinearProbe();
        var model = probe.Fit(train.ToDataView(Ml));

        var scored = model.Transform(test.ToDataView(Ml));
        var metrics = Ml.MulticlassClassification.Evaluate(scored);
        Assert.True(metrics.MicroAccuracy >= 0.99, $"accuracy {metrics.MicroAccuracy}");
        Assert.Equal(metrics.MicroAccuracy, ClipEvaluation.Accuracy(scored), 6);
        // The default grid: one value per decade over the paper's 1e-6 … 1e6.
        Assert.Equal(13, model.Sweep.Count);
        Assert.Equal(1e-6f, model.Sweep[0].L2Regularization, 1e-12f);
        Assert.Equal(1e6f, model.Sweep[^1].L2Regularization, 1f);
        Assert.Equal(L2Sweep.SelectBest(model.Sweep).L2Regularization, model.L2Regularization);
        Assert.Equal(train.Count, model.TrainingRowCount);
        Assert.Equal(train.ClassNames, model.ClassNames);
    }

    [Fact]
    public void SweepPicksTheValueWithTheBestValidationAccuracy()
    {
        // Two classes: x0 = ±0.5 with little noise (it alone separates them), x1 = ±1 drowned in noise (std 5).
        // A strong L2 leaves weights along the mean difference (1, 2), which leans on the noisy x1 (≈ 60%
        // accuracy); a weak one learns to rely on x0 (≈ 100%). So λ = 1e-2 is known to be the best of the grid,
        // and the grid order must not matter.
        var random = new Random(12);
        var features = new List<float[]>();
        var labels = new List<int>();
        for (int i = 0; i < 200; i++)
        {
            int c = i % 2;
            float sign = c == 0 ? 1 : -1;
            features.Add([sign * 0.5f + 0.05f * Normal(random), sign + 5f * Normal(random)]);
            labels.Add(c);
        }
        var train = new LabeledFeatures(features, labels, ["left", "right"]);
        var probe = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = [1e6f, 1e-2f, 1e8f] });
        var model = probe.Fit(train);

        Assert.Equal([1e6f, 1e-2f, 1e8f], model.Sweep.Select(p => p.L2Regularization));
        Assert.True(model.Sweep[1].ValidationAccuracy >= 0.95, $"weak L2: {model.Sweep[1].ValidationAccuracy}");
        Assert.True(model.Sweep[0].ValidationAccuracy < 0.85, $"strong L2: {model.Sweep[0].ValidationAccuracy}");
        Assert.True(model.Sweep[2].ValidationAccuracy < 0.85, $"strongest L2: {model.Sweep[2].ValidationAccuracy}");
        Assert.Equal(1e-2f, model.L2Regularization);
    }

    private static float Normal(Random random)
        => (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    [Fact]
    public void SelectBestTakesTheMaximumAndTheLargestLambdaOnTies()
    {
        L2SweepPoint[] sweep = [new(1e-3f, 0.80), new(1e-1f, 0.90), new(1f, 0.90), new(10f, 0.85)];
        Assert.Equal(1f, L2Sweep.SelectBest(sweep).L2Regularization);
        Assert.Equal(1e-3f, L2Sweep.SelectBest([new(1e-3f, 0.95), .. sweep]).L2Regularization);
        Assert.Throws<ArgumentException>(() => L2Sweep.SelectBest([]));
    }

    [Fact]
    public void LogSpaceIsLogarithmicallySpaced()
    {
        var grid = L2Sweep.LogSpace(1e-4, 1e4, 17);
        Assert.Equal(17, grid.Length);
        for (int i = 1; i < grid.Length; i++)
            Assert.Equal(Math.Sqrt(10), grid[i] / (double)grid[i - 1], 3);
        Assert.Equal(1e-4, grid[0], 8);
    }

    [Fact]
    public void RefitUsesTrainPlusValidationUnlessDisabled()
    {
        var train = SyntheticFeatures.Blobs(classes: 3, perClass: 10, dim: 6, separation: 4, noise: 0.3f, seed: 4);
        float[] grid = [1e-2f, 1f];
        var all = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = grid }).Fit(train);
        var part = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = grid, RefitOnAllData = false }).Fit(train);
        Assert.Equal(30, all.TrainingRowCount);
        Assert.Equal(24, part.TrainingRowCount); // 20% of 10 per class held out.
    }

    [Fact]
    public void SeparateValidationDataIsUsedForTheSweep()
    {
        var train = SyntheticFeatures.Blobs(classes: 3, perClass: 10, dim: 6, separation: 4, noise: 0.3f, seed: 5);
        var validation = SyntheticFeatures.Blobs(classes: 3, perClass: 4, dim: 6, separation: 4, noise: 0.3f, seed: 6);
        var model = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions
        {
            L2Regularizations = [1e-2f],
            ValidationData = validation.ToDataView(Ml),
        }).Fit(train.ToDataView(Ml));
        Assert.Equal(42, model.TrainingRowCount);
        Assert.Single(model.Sweep);
    }

    [Fact]
    public void FixedLambdaSkipsTheSweep()
    {
        var train = SyntheticFeatures.Blobs(classes: 3, perClass: 1, dim: 6, separation: 4, noise: 0.3f, seed: 7);
        var model = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularization = 0.5f }).Fit(train);
        Assert.Empty(model.Sweep);
        Assert.Equal(0.5f, model.L2Regularization);
        Assert.Equal(3, model.TrainingRowCount);
    }

    [Fact]
    public void TooFewRowsForAValidationSplitIsAClearError()
    {
        var train = SyntheticFeatures.Blobs(classes: 3, perClass: 1, dim: 6, separation: 4, noise: 0.3f, seed: 7);
        var e = Assert.Throws<ArgumentException>(() => Ml.MulticlassClassification.Trainers.ClipLinearProbe().Fit(train));
        Assert.Contains("L2Regularization", e.Message);
    }

    [Fact]
    public void BadColumnsAreRejectedWithTheirNames()
    {
        var data = SyntheticFeatures.Blobs(classes: 2, perClass: 5, dim: 4, separation: 4, noise: 0.3f, seed: 8).ToDataView(Ml, "Emb", "Label");
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.ClipLinearProbe().Fit(data));
        Assert.Contains("'Features'", missing.Message);

        var floatLabel = Ml.Data.LoadFromEnumerable(new[] { new FloatLabelRow { Features = [1, 2], Label = 1 } });
        var wrong = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.ClipLinearProbe().Fit(floatLabel));
        Assert.Contains("'Label'", wrong.Message);
        Assert.Contains("MapValueToKey", wrong.Message);

        Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { ValidationFraction = 1 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = [] }));
    }

    [Fact]
    public void OutputSchemaMatchesTheFittedModelAndSavedModelLoadsBack()
    {
        var train = SyntheticFeatures.Blobs(classes: 3, perClass: 10, dim: 6, separation: 4, noise: 0.3f, seed: 9);
        var view = train.ToDataView(Ml);
        var probe = Ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = [1e-1f] });
        var shape = probe.GetOutputSchema(ShapeOf(view.Schema));
        var model = probe.Fit(view);
        var output = model.GetOutputSchema(view.Schema);
        foreach (var name in new[] { "Score", "PredictedLabel" })
        {
            Assert.Contains(shape, c => c.Name == name);
            Assert.NotNull(output.GetColumnOrNull(name));
        }

        using var stream = new MemoryStream();
        Ml.Model.Save(model, view.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _);
        Assert.IsType<MulticlassPredictionTransformer<MaximumEntropyModelParameters>>(loaded);
        var (before, _) = ClipEvaluation.ReadScores(model.Transform(view));
        var (after, _) = ClipEvaluation.ReadScores(loaded.Transform(view));
        for (int i = 0; i < before.Length; i++)
            Assert.Equal(before[i], after[i]);
    }

    // SchemaShape.Create(DataViewSchema) is internal to ML.NET.
    private static SchemaShape ShapeOf(DataViewSchema schema)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic, [typeof(DataViewSchema)])!
            .Invoke(null, [schema])!;

    private sealed class FloatLabelRow
    {
        [VectorType(2)] public float[] Features = [];
        public float Label;
    }
}
