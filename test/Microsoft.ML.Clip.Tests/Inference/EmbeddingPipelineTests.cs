using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class EmbeddingPipelineTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ImageEmbeddingOfPixelsMatchesTheReference(bool normalize)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Images());
        var estimator = ml.Transforms.ClipImageEmbedding("Embedding", ModelFolders.For("rn"), "Image", normalize);
        var output = estimator.Fit(data).Transform(data);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 64), output.Schema["Embedding"].Type);
        Assert.Null(output.Schema.GetColumnOrNull(ClipColumns.Pixels));
        var actual = output.GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        var expected = ModelFolders.Case("rn.image_features.npy").Data;
        if (normalize)
            expected = PipelineData.NormalizeRows(expected, 64);
        Assert.True(ModelFolders.MaxAbsDiff(actual, expected) <= 1e-5f);
        // Pass-through columns are intact.
        Assert.Equal([0, 1, 2, 3], output.GetColumn<int>("Id").ToArray());
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void TextEmbeddingOfCaptionsMatchesTheReference(string kind)
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        ml.Log += (_, e) => { if (e.Source.Contains("Clip")) lock (log) log.Add(e.Message); };
        var data = ml.Data.LoadFromEnumerable(PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i }));
        var estimator = ml.Transforms.ClipTextEmbedding("Embedding", ModelFolders.For(kind), "Text", normalize: false);
        var output = estimator.Fit(data).Transform(data);
        var actual = output.GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(actual, ModelFolders.Case($"{kind}.text_features.npy").Data) <= 1e-5f);
        // The last caption is longer than 77 tokens: truncated by default, and counted in the log at Fit.
        Assert.Contains(log, m => m.Contains("1 of 6 texts") && m.Contains("truncated"));
    }

    [Fact]
    public void TextEmbeddingThrowOptionRejectsLongTexts()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(PipelineData.Captions().Select((t, i) => new TextRow { Text = t, Id = i }));
        var estimator = ml.Transforms.ClipTextEmbedding(ModelFolders.For("vit"), new ClipTextEmbeddingOptions
        {
            InputColumnName = "Text", Truncation = Microsoft.ML.Clip.Tokenization.ClipTruncation.Throw,
        });
        var output = estimator.Fit(data).Transform(data);
        var e = Assert.ThrowsAny<Exception>(() => output.GetColumn<float[]>("Embedding").ToArray());
        Assert.Contains("token", (e.InnerException ?? e).Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void TokenIdColumnsAreAccepted()
    {
        var ml = new MLContext(seed: 1);
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        var schema = SchemaDefinition.Create(typeof(TokenRow));
        schema["Ids"].ColumnType = new VectorDataViewType(NumberDataViewType.Int64, 77);
        var rows = Enumerable.Range(0, 6).Select(i => new TokenRow { Ids = tokens.Data.AsSpan(i * 77, 77).ToArray() });
        var data = ml.Data.LoadFromEnumerable(rows, schema);
        var output = ml.Transforms.ClipTextEmbedding("Embedding", ModelFolders.For("vit"), "Ids").Fit(data).Transform(data);
        var expected = PipelineData.NormalizeRows(ModelFolders.Case("vit.text_features.npy").Data, 64);
        Assert.True(ModelFolders.MaxAbsDiff(output.GetColumn<float[]>("Embedding").SelectMany(e => e).ToArray(), expected) <= 1e-5f);
    }

    public sealed class TokenRow
    {
        public long[] Ids = [];
    }
}
