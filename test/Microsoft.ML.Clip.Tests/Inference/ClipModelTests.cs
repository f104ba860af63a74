using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.ZeroShot;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class ClipModelTests
{
    [Theory]
    [InlineData("vit", 32)]
    [InlineData("rn", 3)]
    public void ImageEmbeddingsMatchTheReference(string kind, int batchSize)
    {
        using var model = ModelFolders.Load(kind, batchSize);
        var images = ModelFolders.Case("images.npy");
        var expected = ModelFolders.Case($"{kind}.image_features.npy");
        var actual = model.EmbedImages(images.Data, 4);
        Assert.Equal(4, actual.Length);
        Assert.True(ModelFolders.MaxAbsDiff(actual.SelectMany(r => r).ToArray(), expected.Data) <= 1e-5f);
        Assert.Equal("CPU", model.ExecutionProvider);
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void TokenEmbeddingsMatchTheReference(string kind)
    {
        using var model = ModelFolders.Load(kind, batchSize: 4);
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));
        var expected = ModelFolders.Case($"{kind}.text_features.npy");
        var actual = model.EmbedTokens(tokens.Data, 6);
        Assert.True(ModelFolders.MaxAbsDiff(actual.SelectMany(r => r).ToArray(), expected.Data) <= 1e-5f);
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void ZeroShotWeightsAndProbabilitiesMatchTheReference(string kind)
    {
        using var model = ModelFolders.Load(kind);
        var tokens = Npy.ReadInt64(Fixtures.Reference("cases", "zeroshot_tokens.npy"));
        var prompts = model.EmbedTokens(tokens.Data, 15);
        var weights = ZeroShotMath.ClassWeights(prompts, 5, 3);
        Assert.True(ModelFolders.MaxAbsDiff(weights, ModelFolders.Case($"{kind}.zeroshot_weights.npy").Data) <= 1e-5f);

        var images = model.EmbedImages(ModelFolders.Case("images.npy").Data, 4);
        var probs = images.SelectMany(e => ZeroShotMath.Probabilities(e, weights, 5, 100f)).ToArray();
        Assert.True(ModelFolders.MaxAbsDiff(probs, ModelFolders.Case($"{kind}.zeroshot_probs.npy").Data) <= 1e-4f);
    }

    [Fact]
    public void SwappedEncodersAreRejectedNamingFileAndSignature()
    {
        var dir = ModelFolders.Create("vit", swap: true);
        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(dir));
        Assert.Contains(Path.Combine(dir, "image.onnx"), e.Message);
        Assert.Contains("expected input 'pixel_values' float [batch, 3, 64, 64]", e.Message);
        Assert.Contains("'input_ids' int64 [batch, 77]", e.Message);
    }

    [Fact]
    public void WrongEmbeddingSizeInJsonIsRejected()
    {
        var dir = ModelFolders.Create("vit", swap: false);
        var info = ClipModelInfo.Load(Path.Combine(dir, ClipModelInfo.FileName)) with { EmbedDim = 32 };
        info.Save(Path.Combine(dir, ClipModelInfo.FileName));
        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(dir));
        Assert.Contains("expected output 'image_embeds' float [batch, 32]", e.Message);
        Assert.Contains("found output 'image_embeds' float [batch, 64]", e.Message);
    }

    [Fact]
    public void MissingFolderAndFilesAreNamed()
    {
        var missing = Path.Combine(Fixtures.NewTempDir(), "nope");
        Assert.Contains(missing, Assert.Throws<DirectoryNotFoundException>(() => ClipModel.Load(missing)).Message);
        var dir = ModelFolders.Create("vit", swap: false);
        File.Delete(Path.Combine(dir, "text.onnx"));
        Assert.Contains("text.onnx", Assert.Throws<FileNotFoundException>(() => ClipModel.Load(dir)).Message);
    }

    [Fact]
    public void CudaRequestFallsBackToCpuWithTheCpuPackage()
    {
        var log = new List<string>();
        using var model = ClipModel.Load(ModelFolders.For("vit"), new ClipModelOptions { GpuDeviceId = 0, Log = log.Add });
        // The test project references the CPU ONNX Runtime: CUDA cannot load, the model runs on the CPU and says why.
        Assert.Equal("CPU", model.ExecutionProvider);
        Assert.Contains(log, m => m.Contains("running on the CPU"));
        Assert.Throws<InvalidOperationException>(() => ClipModel.Load(ModelFolders.For("vit"), new ClipModelOptions { GpuDeviceId = 0, FallbackToCpu = false }));
    }

    [Fact]
    public void PromptTemplatesAreShipped()
    {
        Assert.Equal(80, ClipPromptTemplates.ImageNet80.Count);
        Assert.Equal(7, ClipPromptTemplates.ImageNet7.Count);
        Assert.Equal(1000, ClipPromptTemplates.ImageNetClasses.Count);
        Assert.Equal("a photo of a cat.", ClipPromptTemplates.Fill("a photo of a {}.", "cat"));
    }
}
