using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>The TorchSharp CLIP against the outputs of the official openai/CLIP code (fixture README tolerances).</summary>
public class ClipTorchModelReferenceTests(ITestOutputHelper output)
{
    // Fixture README: raw features 1e-5; logits 1e-6 · exp(logit_scale) (+ 1e-5 slack as the task allows).
    private const double FeatureTolerance = 1e-5;

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void OpenAiCheckpointReproducesReferenceOutputs(string name)
    {
        using var model = ClipTorchModel.FromCheckpoint(ReferenceData.Checkpoint(name));
        AssertMatchesReference(model, name, output);
    }

    [Fact]
    public void HuggingFaceSafetensorsCheckpointReproducesReferenceOutputs()
    {
        using var model = ClipTorchModel.FromCheckpoint(Fixtures.Reference("models", "vit.hf.safetensors"));
        AssertMatchesReference(model, "vit", output);
    }

    internal static void AssertMatchesReference(ClipTorchModel model, string name, ITestOutputHelper output)
    {
        Assert.False(model.training);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var images = ReferenceData.Float("cases", "images.npy");
        var tokens = ReferenceData.Int64("cases", "tokens.npy");

        var imageError = ReferenceData.MaxAbsDiff(model.EncodeImage(images), ReferenceData.Float("cases", $"{name}.image_features.npy"));
        var textError = ReferenceData.MaxAbsDiff(model.EncodeText(tokens), ReferenceData.Float("cases", $"{name}.text_features.npy"));
        var (perImage, perText) = model.forward(images, tokens);
        var perImageError = ReferenceData.MaxAbsDiff(perImage, ReferenceData.Float("cases", $"{name}.logits_per_image.npy"));
        var perTextError = ReferenceData.MaxAbsDiff(perText, ReferenceData.Float("cases", $"{name}.logits_per_text.npy"));
        output.WriteLine($"{name}: max abs error image_features {imageError:E2}, text_features {textError:E2}, " +
                         $"logits_per_image {perImageError:E2}, logits_per_text {perTextError:E2}");

        var logitTolerance = 1e-6 * model.LogitScale.exp().item<float>() + 1e-5;
        Assert.True(imageError <= FeatureTolerance, $"{name} image features differ by {imageError}");
        Assert.True(textError <= FeatureTolerance, $"{name} text features differ by {textError}");
        Assert.True(perImageError <= logitTolerance, $"{name} logits_per_image differ by {perImageError}");
        Assert.True(perTextError <= logitTolerance, $"{name} logits_per_text differ by {perTextError}");
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void StateDictNamesAndParameterCountMatchReference(string name)
    {
        // The config inferred from the file (checked against the reference constructor arguments in Microsoft.ML.Clip.Tests).
        var checkpoint = PyTorchCheckpoint.Load(ReferenceData.Checkpoint(name));
        using var model = new ClipTorchModel(checkpoint.Config);
        var modelKeys = model.state_dict().Keys.ToHashSet();
        Assert.Equal(checkpoint.StateDict.Keys.OrderBy(k => k, StringComparer.Ordinal), modelKeys.OrderBy(k => k, StringComparer.Ordinal));
        using var json = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("models", "models.json")));
        var expectedCount = json.RootElement.GetProperty(name).GetProperty("derived").GetProperty("n_parameters").GetInt64();
        Assert.Equal(expectedCount, model.parameters().Sum(p => p.numel()));
    }
}
