using Microsoft.ML.Clip.Models;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>Checks of the bulk <see cref="Bulk.ClipEmbeddingDataView"/> found in review.</summary>
public class BulkReviewTests
{
    [Fact]
    public void BulkBytesColumnEmbedsLikeThePathColumn()
    {
        var ml = new MLContext(seed: 1);
        var paths = ImageFileTests.E2eImages();
        var pathData = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new PathRow { Path = p, Id = i }));
        var bytesData = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new BytesRow { Bytes = File.ReadAllBytes(p), Id = i }));
        using var model = ModelFolders.Load("rn", batchSize: 2);
        var byPath = model.EmbedImages(pathData, "Path").GetColumn<float[]>("Embedding").ToArray();
        var byBytes = model.EmbedImages(bytesData, "Bytes").GetColumn<float[]>("Embedding").ToArray();
        Assert.Equal(byPath.Length, byBytes.Length);
        for (int i = 0; i < byPath.Length; i++)
            Assert.Equal(byPath[i], byBytes[i]);
    }

    [Fact]
    public void BulkTextErrorNamesTheRowAndColumn()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { new TextRow { Text = "a photo of a dog" }, new TextRow { Text = string.Join(' ', Enumerable.Repeat("dog", 100)) } };
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ModelFolders.Load("rn");
        var e = Assert.Throws<InvalidDataException>(() =>
            model.EmbedTexts(data, "Text", truncation: Microsoft.ML.Clip.Tokenization.ClipTruncation.Throw).GetColumn<float[]>("Embedding").ToArray());
        Assert.Contains("Row 1", e.Message);
        Assert.Contains("'Text'", e.Message);
    }

    [Fact]
    public void BulkTextLogsTheTruncatedCount()
    {
        var ml = new MLContext(seed: 1);
        var rows = new[] { new TextRow { Text = "a photo of a dog" }, new TextRow { Text = string.Join(' ', Enumerable.Repeat("dog", 100)) } };
        var data = ml.Data.LoadFromEnumerable(rows);
        var log = new List<string>();
        using var model = ClipModel.Load(ModelFolders.For("rn"), new ClipModelOptions { Log = log.Add, IntraOpNumThreads = 1 });
        Assert.Equal(2, model.EmbedTexts(data, "Text").GetColumn<float[]>("Embedding").Count());
        Assert.Contains(log, m => m.Contains("1 of 2 texts") && m.Contains("truncated"));
    }
}

/// <summary>Checks of <see cref="Microsoft.ML.Clip.Evaluation.ClipEvaluation"/> found in review.</summary>
public class EvaluationReviewTests
{
    [Fact]
    public void NaNScoreRowIsNeverAHit()
    {
        // A bad image skipped by SkipBadRows scores NaN in every slot; it must count as a miss, not a top-1 hit.
        float[][] scores = [[0.1f, 0.9f], [float.NaN, float.NaN]];
        Assert.Equal(2, Microsoft.ML.Clip.Evaluation.ClipEvaluation.Rank(scores[1], 1));
        Assert.Equal(0.5, Microsoft.ML.Clip.Evaluation.ClipEvaluation.TopKAccuracy(scores, [1, 0], 1));
        Assert.Equal(0.5, Microsoft.ML.Clip.Evaluation.ClipEvaluation.TopKAccuracy(scores, [1, 0], 2));
    }
}
