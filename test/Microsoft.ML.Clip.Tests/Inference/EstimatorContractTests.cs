using System.Reflection;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>In the spirit of ML.NET's TestEstimatorCore: declared schema = produced schema; bad input rejected everywhere.</summary>
public class EstimatorContractTests
{
    public sealed class WrongTypeRow
    {
        public int Image;
        public int Text;
    }

    public sealed class ShortPixelsRow
    {
        [VectorType(10)] public float[] Image = new float[10];
    }

    public sealed class NoImageRow
    {
        public string Other = "";
    }

    /// <summary>ML.NET's internal SchemaShape.Create(DataViewSchema), the shape a pipeline gives the next estimator.</summary>
    internal static SchemaShape ShapeOf(DataViewSchema schema)
        => (SchemaShape)typeof(SchemaShape).GetMethod("Create", BindingFlags.NonPublic | BindingFlags.Static, [typeof(DataViewSchema)])!.Invoke(null, [schema])!;

    private static void AssertSameSchema(SchemaShape declared, DataViewSchema produced)
    {
        var visible = produced.Where(c => !c.IsHidden).ToArray();
        Assert.Equal(declared.Select(c => c.Name).OrderBy(n => n), visible.Select(c => c.Name).OrderBy(n => n));
        var actual = ShapeOf(produced);
        foreach (var d in declared)
        {
            var a = actual.Single(c => c.Name == d.Name);
            Assert.Equal(d.Kind, a.Kind);
            Assert.Equal(d.ItemType, a.ItemType);
            Assert.Equal(d.IsKey, a.IsKey);
            Assert.Equal(d.Annotations.Select(x => x.Name).OrderBy(n => n), a.Annotations.Select(x => x.Name).OrderBy(n => n));
        }
    }

    public static IEnumerable<object[]> Estimators() => [["image"], ["text"], ["zeroshot"], ["mlimage"], ["zeroshot-mlimage"]];

    private static (IEstimator<ITransformer> Estimator, IDataView Data, string Column) Make(MLContext ml, string which) => which switch
    {
        "image" => (ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image"), ml.Data.LoadFromEnumerable(PipelineData.Images()), "Image"),
        "text" => (ml.Transforms.ClipTextEmbedding("Embedding", ModelFolders.For("vit"), "Text"),
            ml.Data.LoadFromEnumerable(PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i })), "Text"),
        "mlimage" => (ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image"), MLImageColumnTests.Data(ml).Images, "Image"),
        "zeroshot-mlimage" => (ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, "Image", ModelFolders.ZeroShotTemplates),
            MLImageColumnTests.Data(ml).Images, "Image"),
        _ => (ml.Transforms.ClipZeroShot(ModelFolders.For("vit"), ModelFolders.ZeroShotClasses, "Image", ModelFolders.ZeroShotTemplates),
            ml.Data.LoadFromEnumerable(PipelineData.Images()), "Image"),
    };

    [Theory]
    [MemberData(nameof(Estimators))]
    public void DeclaredSchemaEqualsProducedSchemaIncludingAnnotations(string which)
    {
        var ml = new MLContext(seed: 1);
        var (estimator, data, _) = Make(ml, which);
        var declared = estimator.GetOutputSchema(ShapeOf(data.Schema));
        var transformer = estimator.Fit(data);
        AssertSameSchema(declared, transformer.GetOutputSchema(data.Schema));
        var output = transformer.Transform(data);
        AssertSameSchema(declared, output.Schema);
        Assert.DoesNotContain(output.Schema, c => !c.IsHidden && c.Name.StartsWith(ClipColumns.Prefix, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Estimators))]
    public void MissingOrMistypedColumnIsRejectedInGetOutputSchemaFitAndTransform(string which)
    {
        var ml = new MLContext(seed: 1);
        var (estimator, data, column) = Make(ml, which);
        var transformer = estimator.Fit(data);
        var missing = ml.Data.LoadFromEnumerable(new[] { new NoImageRow() });
        var wrong = ml.Data.LoadFromEnumerable(new[] { new WrongTypeRow() });
        var notFound = $"Could not find input column '{column}'";
        var mismatch = $"Schema mismatch for input column '{column}': expected ";

        Assert.Contains(notFound, Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(ShapeOf(missing.Schema))).Message);
        Assert.Contains(notFound, Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(missing)).Message);
        Assert.Contains(notFound, Assert.Throws<ArgumentOutOfRangeException>(() => transformer.Transform(missing)).Message);
        Assert.Contains(notFound, Assert.Throws<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(missing.Schema)).Message);

        var e = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(ShapeOf(wrong.Schema)));
        Assert.Contains(mismatch, e.Message);
        Assert.Contains("got Int32", e.Message);
        Assert.Equal("inputSchema", e.ParamName);
        Assert.Contains(mismatch, Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(wrong)).Message);
        Assert.Contains(mismatch, Assert.Throws<ArgumentOutOfRangeException>(() => transformer.Transform(wrong)).Message);
    }

    [Fact]
    public void WrongPixelVectorSizeIsRejectedAtFitAndTransform()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var estimator = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image");
        var transformer = estimator.Fit(data);
        var small = ml.Data.LoadFromEnumerable(new[] { new ShortPixelsRow() });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(small));
        Assert.Contains("Vector<Single, 12288>", e.Message);
        Assert.Contains("got Vector<Single, 10>", e.Message);
        Assert.Contains("got Vector<Single, 10>", Assert.Throws<ArgumentOutOfRangeException>(() => transformer.Transform(small)).Message);
    }

    [Fact]
    public void CatalogEnvironmentIsReachableForLogging()
    {
        // ClipEnvironment reads TransformsCatalog's private field: this fails if ML.NET renames it.
        var ml = new MLContext { GpuDeviceId = 3, FallbackToCpu = true };
        var env = ClipEnvironment.Of(ml.Transforms);
        Assert.NotNull(env);
        Assert.Equal((3, true), ClipEnvironment.GpuSettings(env));
    }

    [Fact]
    public void ContextGpuRequestFallsBackToCpuWithTheCpuPackage()
    {
        var ml = new MLContext(seed: 1) { GpuDeviceId = 0, FallbackToCpu = true };
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("CUDA")) lock (log) log.Add(e.Message); };
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var output = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image").Fit(data).Transform(data);
        Assert.Equal(4, output.GetColumn<float[]>("Embedding").Count());
        Assert.Contains(log, m => m.Contains("running on the CPU"));
        var strict = new MLContext { GpuDeviceId = 0, FallbackToCpu = false };
        Assert.Throws<InvalidOperationException>(() => strict.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("vit"), "Image").Fit(data));
    }
}
