using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>Exports the ViT fixture once (imported from its Hugging Face safetensors) for the tests below.</summary>
public sealed class ExportedVitFixture : IDisposable
{
    public string Folder { get; } = Fixtures.NewTempDir("clip-export-vit");
    public ClipModelInfo Info { get; }

    public ExportedVitFixture()
    {
        var weights = HuggingFaceClip.Load(Fixtures.Reference("models", "vit.hf.safetensors"));
        Info = ClipOnnxExporter.Export(weights.Config, weights.StateDict, weights.LogitScale, Folder, "vit.hf.safetensors").Info;
    }

    public void Dispose() => Directory.Delete(Folder, recursive: true);
}

public class ClipOnnxExporterTests(ExportedVitFixture vit, ITestOutputHelper output) : IClassFixture<ExportedVitFixture>
{
    // The fixture README's tolerance for raw features is 1e-5.
    private const float Tolerance = 1e-5f;

    [Fact]
    public void VitExportMatchesReferenceFeatures()
    {
        var (image, text) = OrtTestHelpers.CompareWithReference(
            Path.Combine(vit.Folder, "image.onnx"), Path.Combine(vit.Folder, "text.onnx"), "vit");
        output.WriteLine($"vit: image_embeds max abs {image:E3}, text_embeds max abs {text:E3}");
        Assert.True(image <= Tolerance, $"image max abs diff {image}");
        Assert.True(text <= Tolerance, $"text max abs diff {text}");
    }

    [Fact]
    public void VitExportWritesModelInfo()
    {
        var info = ClipModelInfo.Load(Path.Combine(vit.Folder, ClipModelInfo.FileName));
        Assert.Equal(64, info.EmbedDim);
        Assert.Equal(64, info.ImageResolution);
        Assert.Equal("vit", info.VisionKind);
        Assert.Equal(2.99609375f, info.LogitScale);
        Assert.Equal(77, info.Tokenizer.ContextLength);
        Assert.Equal("vit.hf.safetensors", info.Source);
        Assert.Equal(vit.Info, info with { Preprocess = vit.Info.Preprocess, Tokenizer = vit.Info.Tokenizer });
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void ReferenceOnnxFilesGiveReferenceFeatures(string model)
    {
        // The inference side's expectations (names, dtypes, batch axis) hold for torch.onnx exports too.
        var (image, text) = OrtTestHelpers.CompareWithReference(
            Fixtures.Reference("models", $"{model}.image.onnx"), Fixtures.Reference("models", $"{model}.text.onnx"), model);
        output.WriteLine($"reference {model}: image max abs {image:E3}, text max abs {text:E3}");
        Assert.True(image <= Tolerance && text <= Tolerance, $"image {image}, text {text}");
    }

    [Fact]
    public void ExportRejectsStateDictThatDoesNotMatchConfig()
    {
        var weights = HuggingFaceClip.Load(Fixtures.Reference("models", "vit.hf.safetensors"));
        var wrong = weights.Config with { TransformerLayers = 3 };
        var folder = Fixtures.NewTempDir("clip-export-bad");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => ClipOnnxExporter.Export(wrong, weights.StateDict, 1f, folder, "weights.bin"));
            Assert.Contains("transformer.resblocks.2.attn.in_proj_weight", e.Message);
            Assert.Contains("weights.bin", e.Message);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
