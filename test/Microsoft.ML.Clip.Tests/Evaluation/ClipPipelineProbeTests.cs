using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Tests.Inference;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class ClipPipelineProbeTests
{
    private sealed class Row
    {
        [VectorType(3 * 64 * 64)] public float[] Image = [];
        public string Label = "";
    }

    /// <summary>Preprocessed 64-px images: a per-class channel offset plus noise (the fixture ViT tells them apart).</summary>
    private static Row[] Images(int perClass, int seed)
    {
        var random = new Random(seed);
        string[] classes = ["reddish", "greenish", "bluish"];
        var rows = new List<Row>();
        for (int i = 0; i < perClass; i++)
            for (int c = 0; c < 3; c++)
            {
                var pixels = new float[3 * 64 * 64];
                for (int p = 0; p < pixels.Length; p++)
                    pixels[p] = (float)(random.NextDouble() - 0.5) + (p / (64 * 64) == c ? 1.5f : -0.5f);
                rows.Add(new Row { Image = pixels, Label = classes[c] });
            }
        return [.. rows];
    }

    [Fact]
    public void ClipEmbeddingThenLinearProbeInOneMLNetPipeline()
    {
        var ml = new MLContext(seed: 1);
        var train = ml.Data.LoadFromEnumerable(Images(8, 1));
        var test = ml.Data.LoadFromEnumerable(Images(4, 2));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.ClipImageEmbedding("Features", ModelFolders.For("vit"), inputColumnName: "Image"))
            .Append(ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions { L2Regularizations = [1e-3f, 1f, 1e3f] }));
        var model = pipeline.Fit(train);

        var probe = model.LastTransformer;
        Assert.Equal(3, probe.Sweep.Count);
        Assert.Equal(["reddish", "greenish", "bluish"], probe.ClassNames);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        Assert.True(metrics.MicroAccuracy >= 0.99, $"accuracy {metrics.MicroAccuracy}");
    }

    [Fact]
    public void ZeroShotTopKFromTheScoreColumnMatchesMLNetEvaluate()
    {
        var ml = new MLContext(seed: 1);
        // Labels chosen so that the rows land at different ranks of the zero-shot scores.
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images("cat", "bird", "deer", "airplane"));
        var scored = ml.Transforms.Conversion.MapClassNamesToKey("Label", ModelFolders.ZeroShotClasses)
            .Append(ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates))
            .Fit(data).Transform(data);
        var (scores, labels) = ClipEvaluation.ReadScores(scored);
        Assert.Equal([3, 2, 4, 0], labels);
        for (int k = 1; k <= 5; k++)
        {
            var metrics = ml.MulticlassClassification.Evaluate(scored, topKPredictionCount: k);
            Assert.Equal(metrics.TopKAccuracy, ClipEvaluation.TopKAccuracy(scored, k), 9);
            Assert.Equal(metrics.TopKAccuracy, ClipEvaluation.TopKAccuracy(scores, labels, k), 9);
        }
        Assert.Equal(1.0, ClipEvaluation.TopKAccuracy(scored, 5));
    }

    [Fact]
    public void ScoreAndLabelColumnsAreCheckedByName()
    {
        var ml = new MLContext(seed: 1);
        var view = SyntheticFeatures.Blobs(2, 2, 3, 1, 0.1f, 1).ToDataView(ml);
        var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ClipEvaluation.Accuracy(view));
        Assert.Contains("'Score'", missing.Message);
        var notKey = Assert.Throws<ArgumentOutOfRangeException>(() => ClipEvaluation.Accuracy(view, labelColumnName: "Features", scoreColumnName: "Features"));
        Assert.Contains("'Features'", notKey.Message);
    }
}
