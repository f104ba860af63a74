using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class ZeroShotPipelineTests
{
    private static ClipZeroShotEstimator Estimator(MLContext ml, string kind)
        => ml.Transforms.ClipZeroShot(ModelFolders.For(kind), ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates);

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void ZeroShotReproducesTheReferenceWeightsAndProbabilities(string kind)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var estimator = Estimator(ml, kind);
        Assert.True(ModelFolders.MaxAbsDiff(estimator.GetClassWeights(), ModelFolders.Case($"{kind}.zeroshot_weights.npy").Data) <= 1e-5f);

        var output = estimator.Fit(data).Transform(data);
        var scores = ml.Data.CreateEnumerable<ZeroShotPrediction>(output, reuseRowObject: false).ToArray();
        var expected = ModelFolders.Case($"{kind}.zeroshot_probs.npy");
        Assert.True(ModelFolders.MaxAbsDiff(scores.SelectMany(s => s.Score).ToArray(), expected.Data) <= 1e-4f);
        for (int i = 0; i < 4; i++)
            Assert.Equal((uint)ZeroShot.ZeroShotMath.ArgMax(ModelFolders.Row(expected, i)) + 1, scores[i].PredictedLabel);

        VBuffer<ReadOnlyMemory<char>> names = default;
        output.Schema["Score"].GetSlotNames(ref names);
        Assert.Equal(ModelFolders.ZeroShotClasses, names.DenseValues().Select(n => n.ToString()));
        output.Schema["PredictedLabel"].GetKeyValues(ref names);
        Assert.Equal(ModelFolders.ZeroShotClasses, names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 5), output.Schema["Score"].Type);
    }

    [Fact]
    public void EvaluateGivesTheAccuracyCountedByHand()
    {
        var ml = new MLContext(seed: 1);
        var expected = ModelFolders.Case("vit.zeroshot_probs.npy");
        var predicted = Enumerable.Range(0, 4).Select(i => ZeroShot.ZeroShotMath.ArgMax(ModelFolders.Row(expected, i))).ToArray();
        // Labels: the first two rows get their predicted class, the last two a different one.
        var labels = predicted.Select((p, i) => ModelFolders.ZeroShotClasses[i < 2 ? p : (p + 1) % 5]).ToArray();
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images(labels));
        var pipeline = ml.Transforms.Conversion.MapClassNamesToKey("Label", ModelFolders.ZeroShotClasses)
            .Append(Estimator(ml, "vit"));
        var output = pipeline.Fit(data).Transform(data);
        var metrics = ml.MulticlassClassification.Evaluate(output);
        Assert.Equal(0.5, metrics.MicroAccuracy, 6);
        // Log-loss of the probabilities, from the reference values.
        var logLoss = Enumerable.Range(0, 4).Average(i => -Math.Log(expected.Data[i * 5 + Array.IndexOf(ModelFolders.ZeroShotClasses, labels[i])]));
        Assert.Equal(logLoss, metrics.LogLoss, 3);
    }

    [Fact]
    public void ModelLogitScaleOptionChangesTheTemperature()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var estimator = ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), new ClipZeroShotOptions
        {
            ClassNames = ModelFolders.ZeroShotClasses, Templates = ModelFolders.ZeroShotTemplates, UseModelLogitScale = true,
        });
        var scores = ml.Data.CreateEnumerable<ZeroShotPrediction>(estimator.Fit(data).Transform(data), false).ToArray();
        // logits_per_image uses exp(logit_scale) ≈ 20: recompute the softmax at that scale from the reference logits.
        var logits = ModelFolders.Case("vit.zeroshot_logits.npy");
        var scale = MathF.Exp(ModelFolders.LogitScale);
        for (int i = 0; i < 4; i++)
        {
            var z = ModelFolders.Row(logits, i).Select(l => Math.Exp(l / 100.0 * scale)).ToArray();
            var p = z.Select(v => (float)(v / z.Sum())).ToArray();
            Assert.True(ModelFolders.MaxAbsDiff(scores[i].Score, p) <= 1e-4f);
        }
    }

    [Fact]
    public void ClassNamesAreValidated()
    {
        var ml = new MLContext();
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ["a", "a"])).Message);
        Assert.Contains("at least 2", Assert.Throws<ArgumentException>(() => ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ["a"])).Message);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var clash = ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ["Label", "dog"], templates: ["{}"]);
        Assert.Contains("'Label'", Assert.Throws<ArgumentOutOfRangeException>(() => clash.Fit(data)).Message);
    }

    [Fact]
    public void Without_slot_names_the_scores_labels_and_evaluation_are_the_same_and_survive_save_and_load()
    {
        var ml = new MLContext(seed: 1);
        var expected = ModelFolders.Case("vit.zeroshot_probs.npy");
        var labels = Enumerable.Range(0, 4).Select(i => ModelFolders.ZeroShotClasses[i % 2]).ToArray();
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images(labels));
        IEstimator<ITransformer> Pipeline(bool slotNames) => ml.Transforms.Conversion.MapClassNamesToKey("Label", ModelFolders.ZeroShotClasses)
            .Append(ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), new ClipZeroShotOptions
            {
                ClassNames = ModelFolders.ZeroShotClasses, Templates = ModelFolders.ZeroShotTemplates, ScoreSlotNames = slotNames,
            }));
        var named = Pipeline(true).Fit(data).Transform(data);
        var plain = Pipeline(false).Fit(data);
        var output = plain.Transform(data);

        Assert.False(output.Schema["Score"].HasSlotNames());
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 5), output.Schema["Score"].Type);
        var scores = ml.Data.CreateEnumerable<ZeroShotPrediction>(output, reuseRowObject: false).ToArray();
        Assert.Equal(ml.Data.CreateEnumerable<ZeroShotPrediction>(named, reuseRowObject: false).SelectMany(s => s.Score), scores.SelectMany(s => s.Score));
        Assert.True(ModelFolders.MaxAbsDiff(scores.SelectMany(s => s.Score).ToArray(), expected.Data) <= 1e-4f);
        VBuffer<ReadOnlyMemory<char>> keys = default;
        output.Schema["PredictedLabel"].GetKeyValues(ref keys);
        Assert.Equal(ModelFolders.ZeroShotClasses, keys.DenseValues().Select(n => n.ToString()));
        Assert.Equal(ml.MulticlassClassification.Evaluate(named).MicroAccuracy, ml.MulticlassClassification.Evaluate(output).MicroAccuracy);

        using var stream = new MemoryStream();
        ml.Model.Save(plain, data.Schema, stream);
        stream.Position = 0;
        var loaded = new MLContext().Model.Load(stream, out _);
        Assert.Equal(scores.SelectMany(s => s.Score), ml.Data.CreateEnumerable<ZeroShotPrediction>(loaded.Transform(data), reuseRowObject: false).SelectMany(s => s.Score));
    }
}
