using System.Text.Json;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public sealed class PathRow
{
    public string Path = "";
    public int Id;
}

public sealed class BytesRow
{
    public byte[] Bytes = [];
    public int Id;
}

public class ImageFileTests
{
    /// <summary>The e2e images (preprocess/*.png) in the order of cases.json.</summary>
    internal static string[] E2eImages()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("cases", "cases.json")));
        return doc.RootElement.GetProperty("e2e_images").GetProperty("files").EnumerateArray()
            .Select(e => Fixtures.Reference("preprocess", Path.GetFileName(e.GetString()!).Replace(".64.npy", ".png")))
            .ToArray();
    }

    internal static void AssertCosine(float[][] actual, string kind)
    {
        var expected = ModelFolders.Case($"{kind}.e2e_image_features.npy");
        Assert.Equal(4, actual.Length);
        for (int i = 0; i < 4; i++)
        {
            var e = ModelFolders.Row(expected, i);
            double dot = 0, na = 0, nb = 0;
            for (int k = 0; k < e.Length; k++)
            {
                dot += actual[i][k] * e[k];
                na += actual[i][k] * actual[i][k];
                nb += e[k] * e[k];
            }
            Assert.True(dot / Math.Sqrt(na * nb) >= 0.9999, $"image {i}: cosine {dot / Math.Sqrt(na * nb)}");
        }
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void ImageFilesEmbedLikeTheReference(string kind)
    {
        using var model = ModelFolders.Load(kind, batchSize: 3);
        AssertCosine(model.EmbedImageFiles(E2eImages()), kind);
        AssertCosine(model.EmbedEncodedImages(E2eImages().Select(File.ReadAllBytes).ToArray()), kind);
    }

    [Fact]
    public void PathBytesAndImageColumnsEmbedLikeTheReferenceInAPipeline()
    {
        var ml = new MLContext(seed: 1);
        var paths = E2eImages();
        var pathData = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new PathRow { Path = p, Id = i }));
        var byPath = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Path", normalize: false).Fit(pathData).Transform(pathData);
        AssertCosine(byPath.GetColumn<float[]>("Embedding").ToArray(), "vit");

        var bytesData = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new BytesRow { Bytes = File.ReadAllBytes(p), Id = i }));
        var byBytes = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Bytes", normalize: false).Fit(bytesData).Transform(bytesData);
        AssertCosine(byBytes.GetColumn<float[]>("Embedding").ToArray(), "vit");

        // ML.NET Image columns also go through the bulk path (MLImageColumnTests covers the catalog pipelines).
        var images = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Path").Fit(pathData).Transform(pathData);
        using var model = ModelFolders.Load("vit", batchSize: 3);
        AssertCosine(model.EmbedImages(images, "Image", normalize: false).GetColumn<float[]>("Embedding").ToArray(), "vit");
    }

    [Fact]
    public void PathPipelineSavesAndReloads()
    {
        var ml = new MLContext(seed: 1);
        var paths = E2eImages();
        var data = ml.Data.LoadFromEnumerable(paths.Select((p, i) => new PathRow { Path = p, Id = i }));
        var model = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("rn"), "Path", normalize: false).Fit(data);
        var zip = Path.Combine(Fixtures.NewTempDir(), "path.zip");
        ml.Model.Save(model, data.Schema, zip);
        var fresh = new MLContext();
        var loaded = fresh.Model.Load(zip, out _);
        AssertCosine(loaded.Transform(data).GetColumn<float[]>("Embedding").ToArray(), "rn");
    }

    [Fact]
    public void BulkPathEqualsRowPath()
    {
        var ml = new MLContext(seed: 1);
        var paths = E2eImages();
        // 10 rows, batch 4: a partial last batch.
        var rows = Enumerable.Range(0, 10).Select(i => new PathRow { Path = paths[i % 4], Id = i }).ToArray();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var model = ModelFolders.Load("vit");
        var rowPath = ml.Transforms.ClipImageEmbedding("Embedding", model, "Path").Fit(data).Transform(data);
        var bulk = model.EmbedImages(data, "Path", "Embedding", batchSize: 4);
        Assert.Equal(rowPath.Schema["Embedding"].Type, bulk.Schema["Embedding"].Type);
        var a = rowPath.GetColumn<float[]>("Embedding").ToArray();
        var b = bulk.GetColumn<float[]>("Embedding").ToArray();
        Assert.Equal(10, b.Length);
        for (int i = 0; i < 10; i++)
            Assert.True(ModelFolders.MaxAbsDiff(a[i], b[i]) <= 1e-6f, $"row {i}");
        Assert.Equal(Enumerable.Range(0, 10), bulk.GetColumn<int>("Id"));
        Assert.Equal(rows.Select(r => r.Path), bulk.GetColumn<string>("Path"));
        // Pass-through only: no encoder call needed.
        Assert.Equal(Enumerable.Range(0, 10), bulk.GetColumn<int>("Id"));
    }

    [Fact]
    public void BulkTextPathEqualsTheReference()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i }));
        using var model = ModelFolders.Load("rn");
        var bulk = model.EmbedTexts(data, "Text", "Embedding", normalize: false, batchSize: 4);
        Assert.True(ModelFolders.MaxAbsDiff(bulk.GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray(), ModelFolders.Case("rn.text_features.npy").Data) <= 1e-5f);
        Assert.True(ModelFolders.MaxAbsDiff(model.EmbedTexts(PipelineData.Captions()).SelectMany(e => e).ToArray(), ModelFolders.Case("rn.text_features.npy").Data) <= 1e-5f);
    }
}
