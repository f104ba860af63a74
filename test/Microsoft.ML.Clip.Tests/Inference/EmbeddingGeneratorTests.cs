using Microsoft.Extensions.AI;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class EmbeddingGeneratorTests
{
    [Fact]
    public async Task GeneratorEmbedsTextsLikeTheReference()
    {
        using var model = ModelFolders.Load("vit", batchSize: 4);
        IEmbeddingGenerator<string, Embedding<float>> generator = new ClipTextEmbeddingGenerator(model);
        var embeddings = await generator.GenerateAsync(PipelineData.Captions());
        Assert.Equal(6, embeddings.Count);
        var expected = PipelineData.NormalizeRows(ModelFolders.Case("vit.text_features.npy").Data, 64);
        Assert.True(ModelFolders.MaxAbsDiff(embeddings.SelectMany(e => e.Vector.ToArray()).ToArray(), expected) <= 1e-5f);
        Assert.Equal(64, generator.GetService<EmbeddingGeneratorMetadata>()!.DefaultModelDimensions);
        var one = await generator.GenerateVectorAsync("a dog");
        Assert.True(ModelFolders.MaxAbsDiff(one.ToArray(), expected.AsSpan(64, 64)) <= 1e-5f);
    }
}
