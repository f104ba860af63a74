using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Microsoft.ML.Clip.Transforms.Mappings;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>ML.NET <c>Image</c> (MLImage) input columns in the catalog pipelines, in memory and saved.</summary>
public class MLImageColumnTests
{
    public sealed class ImageInput
    {
        [AnySizeImageType] public MLImage? Image;
    }

    public sealed class EmbeddingOutput
    {
        public float[] Embedding = [];
    }

    /// <summary>The e2e PNGs as path rows, and the same rows with an <c>Image</c> column from <c>LoadImages</c>.</summary>
    internal static (IDataView Paths, IDataView Images) Data(MLContext ml)
    {
        var paths = ml.Data.LoadFromEnumerable(ImageFileTests.E2eImages().Select((p, i) => new PathRow { Path = p, Id = i }));
        var images = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Path").Fit(paths).Transform(paths);
        return (paths, images);
    }

    private static float[][] Embeddings(IDataView data) => data.GetColumn<float[]>("Embedding").ToArray();

    private static void AssertSame(float[][] expected, float[][] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(ModelFolders.MaxAbsDiff(expected[i], actual[i]) <= tolerance, $"row {i}: max |diff| {ModelFolders.MaxAbsDiff(expected[i], actual[i])}");
    }

    [Fact]
    public void ImageColumnEmbedsLikeThePathColumnAndTheReference()
    {
        var ml = new MLContext(seed: 1);
        var (paths, images) = Data(ml);
        var byPath = Embeddings(ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Path", normalize: false).Fit(paths).Transform(paths));
        var estimator = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image", normalize: false);
        var output = estimator.Fit(images).Transform(images);
        var byImage = Embeddings(output);
        AssertSame(byPath, byImage, 1e-6f);
        ImageFileTests.AssertCosine(byImage, "vit");
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 64), output.Schema["Embedding"].Type);
        Assert.Equal([0, 1, 2, 3], output.GetColumn<int>("Id").ToArray());
        // A second pass over the same cursor source: the copied pixels never see a disposed image.
        AssertSame(byImage, Embeddings(output), 0f);
    }

    [Fact]
    public void PredictionEngineTakesAnMLImage()
    {
        var ml = new MLContext(seed: 1);
        var (paths, images) = Data(ml);
        var byPath = Embeddings(ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Path", normalize: false).Fit(paths).Transform(paths));
        var model = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image", normalize: false).Fit(images);
        var engine = ml.Model.CreatePredictionEngine<ImageInput, EmbeddingOutput>(model);
        var files = ImageFileTests.E2eImages();
        for (int i = 0; i < files.Length; i++)
        {
            using var image = MLImage.CreateFromFile(files[i]);
            var embedding = engine.Predict(new ImageInput { Image = image }).Embedding;
            Assert.True(ModelFolders.MaxAbsDiff(byPath[i], embedding) <= 1e-6f, $"image {i}");
        }
    }

    [Fact]
    public void ImageColumnPipelineSavesAndLoadsIntoAFreshContext()
    {
        var ml = new MLContext(seed: 1);
        var (paths, images) = Data(ml);
        // The saveable pipeline users build: path column → LoadImages → CLIP on the Image column.
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image", normalize: false));
        var model = pipeline.Fit(paths);
        var before = Embeddings(model.Transform(paths));
        var zip = Path.Combine(Fixtures.NewTempDir(), "mlimage.zip");
        ml.Model.Save(model, paths.Schema, zip);

        var fresh = new MLContext();
        var loaded = fresh.Model.Load(zip, out var inputSchema);
        Assert.Equal(TextDataViewType.Instance, inputSchema["Path"].Type);
        AssertSame(before, Embeddings(loaded.Transform(paths)), 0f);

        // Only the CLIP part saved, for data that already has the Image column.
        var clipOnly = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image", normalize: false).Fit(images);
        var clipZip = Path.Combine(Fixtures.NewTempDir(), "mlimage-clip.zip");
        ml.Model.Save(clipOnly, images.Schema, clipZip);
        var reloaded = new MLContext().Model.Load(clipZip, out _);
        AssertSame(before, Embeddings(reloaded.Transform(images)), 0f);
        ImageFileTests.AssertCosine(Embeddings(reloaded.Transform(images)), "vit");
    }

    [Fact]
    public void SizedImageColumnFromResizeImagesWorksAndSaves()
    {
        var ml = new MLContext(seed: 1);
        var (paths, _) = Data(ml);
        var sized = ml.Transforms.LoadImages("Raw", imageFolder: null, inputColumnName: "Path")
            .Append(ml.Transforms.ResizeImages("Image", imageWidth: 96, imageHeight: 80, inputColumnName: "Raw"))
            .Fit(paths).Transform(paths);
        Assert.Equal(new ImageDataViewType(80, 96), sized.Schema["Image"].Type);
        var model = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image").Fit(sized);
        var before = Embeddings(model.Transform(sized));
        Assert.All(before, e => Assert.Equal(1.0, Math.Sqrt(e.Sum(v => (double)v * v)), 4));
        var zip = Path.Combine(Fixtures.NewTempDir(), "sized.zip");
        ml.Model.Save(model, sized.Schema, zip);
        AssertSame(before, Embeddings(new MLContext().Model.Load(zip, out _).Transform(sized)), 0f);
    }

    [Fact]
    public void ZeroShotWorksOnAnImageColumn()
    {
        var ml = new MLContext(seed: 1);
        var (paths, images) = Data(ml);
        ClipZeroShotEstimator Estimator(string column) => ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, column, ModelFolders.ZeroShotTemplates);
        var byPath = Estimator("Path").Fit(paths).Transform(paths);
        var output = Estimator("Image").Fit(images).Transform(images);
        var expected = byPath.GetColumn<float[]>("Score").ToArray();
        var actual = output.GetColumn<float[]>("Score").ToArray();
        AssertSame(expected, actual, 1e-6f);
        Assert.Equal(byPath.GetColumn<uint>("PredictedLabel"), output.GetColumn<uint>("PredictedLabel"));
        Assert.All(actual, s => Assert.Equal(1.0, s.Sum(), 4));
    }

    [Fact]
    public void MistypedImageColumnErrorListsTheImageType()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new { Image = 1 } }.Select(x => new EstimatorContractTests.WrongTypeRow { Image = x.Image }));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image").Fit(data));
        Assert.Equal("inputSchema", e.ParamName);
        Assert.Contains("Schema mismatch for input column 'Image'", e.Message);
        Assert.Contains("Image (MLImage", e.Message);
        Assert.Contains("got Int32", e.Message);
    }

    [Fact]
    public void NullImageIsRejectedOrSkipped()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(new[] { new ImageInput { Image = null } });
        var failing = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image").Fit(data).Transform(data);
        var e = Assert.ThrowsAny<Exception>(() => Embeddings(failing));
        Assert.Contains("null MLImage", e.ToString());
        var skipping = ml.Transforms.ClipImageEmbedding(ModelFolders.For("vit"), new ClipImageEmbeddingOptions { InputColumnName = "Image", SkipBadRows = true })
            .Fit(data).Transform(data);
        Assert.All(Embeddings(skipping).Single(), v => Assert.True(float.IsNaN(v)));
    }
}
