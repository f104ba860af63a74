using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class PersistenceTests
{
    [Fact]
    public void ZeroShotPipelineSavesAndLoadsIntoAFreshContext()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images("cat", "deer", "bird", "cat"));
        var pipeline = ml.Transforms.Conversion.MapClassNamesToKey("Label", ModelFolders.ZeroShotClasses)
            .Append(ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates))
            .Append(ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image"));
        var model = pipeline.Fit(data);
        var before = model.Transform(data);
        // PredictionEngine over the freshly fitted model (ClipTransformer inside the chain) as well.
        var firstEngine = ml.Model.CreatePredictionEngine<PixelRow, ZeroShotPrediction>(model);
        Assert.True(ModelFolders.MaxAbsDiff(firstEngine.Predict(PipelineData.Images("cat")[2]).Score,
            ModelFolders.Row(ModelFolders.Case("vit.zeroshot_probs.npy"), 2)) <= 1e-4f);
        var path = Path.Combine(Fixtures.NewTempDir(), "zeroshot.zip");
        ml.Model.Save(model, data.Schema, path);

        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(path, out var inputSchema);
        Assert.Equal(data.Schema.Count, inputSchema.Count);
        var freshData = fresh.Data.LoadFromEnumerable(PipelineData.Images("cat", "deer", "bird", "cat"));
        var after = loaded.Transform(freshData);

        Assert.Equal(before.GetColumn<float[]>("Score").SelectMany(s => s), after.GetColumn<float[]>("Score").SelectMany(s => s));
        Assert.Equal(before.GetColumn<uint>("PredictedLabel"), after.GetColumn<uint>("PredictedLabel"));
        Assert.Equal(before.GetColumn<float[]>("Embedding").SelectMany(s => s), after.GetColumn<float[]>("Embedding").SelectMany(s => s));
        VBuffer<ReadOnlyMemory<char>> names = default;
        after.Schema["Score"].GetSlotNames(ref names);
        Assert.Equal(ModelFolders.ZeroShotClasses, names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(0.25, fresh.MulticlassClassification.Evaluate(after).MicroAccuracy, 6);
        Assert.Equal(ml.MulticlassClassification.Evaluate(before).MicroAccuracy, fresh.MulticlassClassification.Evaluate(after).MicroAccuracy);

        // PredictionEngine over the loaded model, row by row.
        var engine = fresh.Model.CreatePredictionEngine<PixelRow, ZeroShotPrediction>(loaded);
        var expected = ModelFolders.Case("vit.zeroshot_probs.npy");
        var rows = PipelineData.Images("cat", "deer", "bird", "cat");
        for (int i = 0; i < 4; i++)
            Assert.True(ModelFolders.MaxAbsDiff(engine.Predict(rows[i]).Score, ModelFolders.Row(expected, i)) <= 1e-4f);
    }

    [Fact]
    public void DisposingAFittedPipelineReleasesItsOnnxRuntimeSessions()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var model = ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, templates: ModelFolders.ZeroShotTemplates)
            .Append(ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image"))
            .Fit(data);
        Assert.Equal(4, model.Transform(data).GetColumn<float[]>("Embedding").Count());
        var onnx = model.OfType<Microsoft.ML.Clip.Transforms.ClipTransformer>().SelectMany(c => c.Inner).OfType<Microsoft.ML.Transforms.Onnx.OnnxTransformer>().ToList();
        Assert.Equal(3, onnx.Count); // zero-shot: encoder and head; embedding: encoder

        // Disposing the chain reaches the transformers inside each ClipTransformer: their sessions are gone, so scoring
        // fails (ML.NET 5.0.1 then throws a bare NullReferenceException from its disposed OnnxModel).
        model.Dispose();
        Assert.ThrowsAny<Exception>(() => model.Transform(data).GetColumn<float[]>("Embedding").ToList());
    }

    [Fact]
    public void TextEmbeddingPipelineSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var rows = PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.ClipTextEmbedding("Embedding", ModelFolders.For("rn"), "Text").Fit(data);
        var path = Path.Combine(Fixtures.NewTempDir(), "text.zip");
        ml.Model.Save(model, data.Schema, path);
        var fresh = new MLContext();
        var loaded = fresh.Model.Load(path, out _);
        var engine = fresh.Model.CreatePredictionEngine<TextRow, EmbeddingPrediction>(loaded);
        var expected = PipelineData.NormalizeRows(ModelFolders.Case("rn.text_features.npy").Data, 64);
        for (int i = 0; i < rows.Length; i++)
            Assert.True(ModelFolders.MaxAbsDiff(engine.Predict(rows[i]).Embedding, expected.AsSpan(i * 64, 64)) <= 1e-5f);
    }

    // Every parameter of the image mapping travels with the saved pipeline: the resolution (200: no grid ever covered it),
    // the resize mode and the bad-row policy.
    [Fact]
    public void SkipBadRowsPipelineAtAnOddResolutionKeepsItsPoliciesAfterReloading()
    {
        var ml = new MLContext(seed: 1);
        var paths = ImageFileTests.E2eImages();
        var rows = paths.Append(Path.Combine(Fixtures.NewTempDir(), "missing.png")).Select((p, i) => new PathRow { Path = p, Id = i }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        var folder = ModelFolders.AtResolution(200, Clip.Imaging.ClipResizeMode.Squash);
        var options = new Transforms.ClipImageEmbeddingOptions { InputColumnName = "Path", SkipBadRows = true, Normalize = false };
        var model = ml.Transforms.ClipImageEmbedding(folder, options).Fit(data);
        var path = Path.Combine(Fixtures.NewTempDir(), "skip200.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = new MLContext().Model.Load(path, out _);

        var before = model.Transform(data).GetColumn<float[]>("Embedding").ToArray();
        var after = loaded.Transform(data).GetColumn<float[]>("Embedding").ToArray();
        Assert.Equal(before.SelectMany(e => e), after.SelectMany(e => e));
        Assert.All(after[4], v => Assert.True(float.IsNaN(v)));
        using var clip = Models.ClipModel.Load(folder);
        var direct = clip.EmbedImageFiles(paths);
        for (int i = 0; i < paths.Length; i++)
            Assert.True(ModelFolders.MaxAbsDiff(direct[i], after[i]) <= 1e-5f, $"row {i}");
    }
}
