using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Clip.ZeroShot;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>
/// Zero-shot for a sigmoid (SigLIP) model: the model's own scale and bias, sigmoid per class instead of a softmax. The
/// CLIP fixture's folder marked <c>family: siglip</c> with a bias gives known cosines (its reference logits / 100); the
/// SigLIP fixture itself is checked end to end in the SigLIP model tests.
/// </summary>
public class SigmoidZeroShotTests
{
    private const float Bias = -2.5f;

    private static string SigmoidFolder()
    {
        var folder = ModelFolders.Create("vit", swap: false);
        var path = Path.Combine(folder, ClipModelInfo.FileName);
        (ClipModelInfo.Load(path) with { Family = ClipModelInfo.SiglipFamily, LogitBias = Bias }).Save(path);
        return folder;
    }

    /// <summary>sigmoid(exp(logit_scale) · cosine + bias) from the reference zero-shot logits (100 · cosine).</summary>
    private static float[] Expected()
    {
        var logits = ModelFolders.Case("vit.zeroshot_logits.npy").Data;
        var scale = MathF.Exp(ModelFolders.LogitScale);
        return [.. logits.Select(l => (float)(1 / (1 + Math.Exp(-(l / 100.0 * scale + Bias)))))];
    }

    [Fact]
    public void ClassifierGivesSigmoidProbabilitiesWithTheModelsScaleAndBias()
    {
        using var model = ClipModel.Load(SigmoidFolder());
        var classifier = new ZeroShotClassifier(model, ModelFolders.ZeroShotClasses, ModelFolders.ZeroShotTemplates);
        Assert.Equal(Bias, classifier.Bias);
        Assert.Equal(model.LogitScale, classifier.Scale);
        var images = ModelFolders.Case("images.npy");
        var embeddings = model.EmbedImages(images.Data, 4);
        var scores = embeddings.SelectMany(e => classifier.Probabilities(e)).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(scores, Expected()) <= 1e-4f);
        // Independent per class: these do not sum to 1.
        Assert.True(Math.Abs(scores.Take(5).Sum() - 1) > 0.05);

        Assert.Contains("sigmoid", Assert.Throws<ArgumentException>(() => new ZeroShotClassifier(model, ModelFolders.ZeroShotClasses, scale: 100f)).Message);
        using var clip = ModelFolders.Load("vit");
        Assert.Null(new ZeroShotClassifier(clip, ModelFolders.ZeroShotClasses, ModelFolders.ZeroShotTemplates).Bias);
    }

    [Fact]
    public void PipelineScoresAreSigmoidProbabilitiesAndSurviveSaveAndLoad()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var folder = SigmoidFolder();
        var model = ml.Transforms.ClipZeroShot(folder, ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates).Fit(data);
        var scores = ml.Data.CreateEnumerable<ZeroShotPrediction>(model.Transform(data), reuseRowObject: false).ToArray();
        var expected = Expected();
        Assert.True(ModelFolders.MaxAbsDiff(scores.SelectMany(s => s.Score).ToArray(), expected) <= 1e-4f);
        for (int i = 0; i < 4; i++)
            Assert.Equal((uint)ZeroShotMath.ArgMax(expected.AsSpan(i * 5, 5)) + 1, scores[i].PredictedLabel);

        var zip = Path.Combine(Fixtures.NewTempDir("clip-sigmoid"), "zeroshot.zip");
        ml.Model.Save(model, data.Schema, zip);
        Directory.Delete(folder, recursive: true);
        var loaded = new MLContext().Model.Load(zip, out _);
        var reloaded = ml.Data.CreateEnumerable<ZeroShotPrediction>(loaded.Transform(data), reuseRowObject: false).ToArray();
        Assert.Equal(scores.SelectMany(s => s.Score), reloaded.SelectMany(s => s.Score));
    }

    [Fact]
    public void AScaleOtherThanTheDefaultIsRefusedForASigmoidModel()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var estimator = ml.Transforms.ClipZeroShot(SigmoidFolder(), new ClipZeroShotOptions
        {
            ClassNames = ModelFolders.ZeroShotClasses, Templates = ModelFolders.ZeroShotTemplates, Scale = 50f,
        });
        Assert.Contains("Scale", Assert.Throws<ArgumentException>(() => estimator.Fit(data)).Message);

        // UseModelLogitScale is what a sigmoid model does anyway.
        var same = ml.Transforms.ClipZeroShot(SigmoidFolder(), new ClipZeroShotOptions
        {
            ClassNames = ModelFolders.ZeroShotClasses, Templates = ModelFolders.ZeroShotTemplates, UseModelLogitScale = true,
        }).Fit(data);
        var scores = ml.Data.CreateEnumerable<ZeroShotPrediction>(same.Transform(data), reuseRowObject: false).SelectMany(s => s.Score).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(scores, Expected()) <= 1e-4f);
    }
}
