using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class BadInputTests
{
    private static (string[] Paths, string Dir) Files()
    {
        var dir = Fixtures.NewTempDir("clip-bad");
        var good = ImageFileTests.E2eImages()[1];
        var empty = Path.Combine(dir, "empty.png");
        File.WriteAllBytes(empty, []);
        var corrupt = Path.Combine(dir, "corrupt.png");
        File.WriteAllBytes(corrupt, [1, 2, 3, 4, 5, 6, 7, 8, 9]);
        var missing = Path.Combine(dir, "missing.png");
        return ([good, empty, corrupt, missing, good], dir);
    }

    [Fact]
    public void ListApiNamesTheRowAndFileOrSkips()
    {
        var (paths, _) = Files();
        var log = new List<string>();
        using var model = ClipModel.Load(ModelFolders.For("vit"), new ClipModelOptions { Log = log.Add, BatchSize = 2 });
        var e = Assert.Throws<InvalidDataException>(() => model.EmbedImageFiles(paths));
        Assert.Contains("Row 1", e.Message);
        Assert.Contains("empty.png", e.Message);

        var embeddings = model.EmbedImageFiles(paths, skipBadRows: true);
        Assert.All(embeddings[1..4], row => Assert.All(row, v => Assert.True(float.IsNaN(v))));
        Assert.All(embeddings[0], v => Assert.False(float.IsNaN(v)));
        Assert.Equal(embeddings[0], embeddings[4]);
        Assert.Contains(log, m => m.Contains("Skipped 3 of 5"));
    }

    [Fact]
    public void PipelineNamesTheFileOrGivesNaNRows()
    {
        var (paths, _) = Files();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new PathRow { Path = p, Id = i }));
        var failing = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Path").Fit(data).Transform(data);
        var e = Assert.ThrowsAny<Exception>(() => failing.GetColumn<float[]>("Embedding").ToArray());
        Assert.Contains("empty.png", Flatten(e));

        var skipping = ml.Transforms.ClipImageEmbedding(ModelFolders.For("vit"), new ClipImageEmbeddingOptions { InputColumnName = "Path", SkipBadRows = true })
            .Fit(data).Transform(data).GetColumn<float[]>("Embedding").ToArray();
        Assert.All(skipping[1..4], row => Assert.All(row, v => Assert.True(float.IsNaN(v))));
        Assert.Equal(skipping[0], skipping[4]);
    }

    [Fact]
    public void BulkPathNamesTheRowAndFileOrSkipsWithACount()
    {
        var (paths, _) = Files();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new PathRow { Path = p, Id = i }));
        var log = new List<string>();
        using var model = ClipModel.Load(ModelFolders.For("rn"), new ClipModelOptions { Log = log.Add });
        var e = Assert.Throws<InvalidDataException>(() => model.EmbedImages(data, "Path").GetColumn<float[]>("Embedding").ToArray());
        Assert.Contains("Row 1 ('", e.Message);
        Assert.Contains("empty.png", e.Message);
        var missing = Assert.Throws<InvalidDataException>(() => model.EmbedImages(data.Skip(3), "Path", batchSize: 1).GetColumn<float[]>("Embedding").ToArray());
        Assert.Contains("Row 0 (", missing.Message);
        Assert.Contains("missing.png", missing.Message);

        var rows = model.EmbedImages(data, "Path", skipBadRows: true).GetColumn<float[]>("Embedding").ToArray();
        Assert.True(float.IsNaN(rows[2][0]));
        Assert.False(float.IsNaN(rows[4][0]));
        Assert.Contains(log, m => m.Contains("Skipped 3 of 5"));
    }

    private static string Flatten(Exception e) => e.InnerException is null ? e.Message : e.Message + " | " + Flatten(e.InnerException);
}

internal static class DataViewExtensions
{
    public static IDataView Skip(this IDataView data, long count) => new MLContext().Data.SkipRows(data, count);
}
