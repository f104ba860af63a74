using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Siglip;

/// <summary>
/// The TorchSharp SigLIP (<see cref="ClipTorchModel"/> with a SigLIP config) loaded from the fixture's Hugging Face folder
/// against every reference output (Hugging Face's SiglipModel re-stated), within 1e-5.
/// </summary>
public class SiglipTorchModelReferenceTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    internal static Tensor Reference(string folder, string name)
    {
        var path = Fixtures.Siglip(folder, name + ".npy");
        if (folder == "inputs")
        {
            var ids = Npy.ReadInt64(path);
            return tensor(ids.Data, ids.Shape.Select(x => (long)x).ToArray());
        }
        var array = Npy.ReadFloat32(path);
        return tensor(array.Data, array.Shape.Select(x => (long)x).ToArray());
    }

    private void Check(string name, Tensor actual, List<(string, double)> errors)
    {
        var error = ReferenceData.MaxAbsDiff(actual, Reference("outputs", name));
        errors.Add((name, error));
    }

    [Theory]
    [InlineData("model")]
    [InlineData("model/model.fp16.safetensors")]
    public void EveryOutputMatchesTheReference(string checkpoint)
    {
        using var model = ClipTorchModel.FromCheckpoint(Fixtures.Siglip(checkpoint.Split('/')));
        Assert.True(model.Config.IsSiglip);
        Assert.False(model.training);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var pixels = Reference("preprocess", "pixel_values");
        var ids = Reference("inputs", "input_ids");
        var mask = Reference("inputs", "attention_mask");
        var zeroShotIds = Reference("inputs", "zeroshot_input_ids");
        var zeroShotMask = Reference("inputs", "zeroshot_attention_mask");
        var errors = new List<(string, double)>();

        Check("vision_embeddings", model.SiglipVision!.Embed(pixels), errors);
        Check("vision_last_hidden_state", model.SiglipVision.LastHiddenState(pixels), errors);
        Check("text_embeddings", model.SiglipText!.Embed(ids), errors);
        Check("text_last_hidden_state", model.SiglipText.LastHiddenState(ids), errors);
        var imageFeatures = model.EncodeImage(pixels);
        var textFeatures = model.EncodeText(ids);
        Check("image_features", imageFeatures, errors);
        Check("text_features", textFeatures, errors);
        Check("image_embeds", ClipTorchModel.Normalize(imageFeatures), errors);
        Check("text_embeds", ClipTorchModel.Normalize(textFeatures), errors);
        var (perImage, perText) = model.forward(pixels, ids);
        Check("logits_per_image", perImage, errors);
        Check("logits_per_text", perText, errors);
        Check("probs_per_image", perImage.sigmoid(), errors);
        var (zeroShot, _) = model.forward(pixels, zeroShotIds);
        Check("zeroshot_logits", zeroShot, errors);
        Check("zeroshot_probs", zeroShot.sigmoid(), errors);

        // With Hugging Face's optional padding mask (the slow tokenizer's path; SigLIP was trained without it).
        var maskedFeatures = model.SiglipText.forward(ids, mask);
        Check("text_features_masked", maskedFeatures, errors);
        Tensor Logits(Tensor text) => ClipTorchModel.ScaledCosines(imageFeatures, text, model.LogitScale).Plus(model.LogitBias!);
        Check("logits_per_image_masked", Logits(maskedFeatures), errors);
        var zeroShotMasked = Logits(model.SiglipText.forward(zeroShotIds, zeroShotMask));
        Check("zeroshot_logits_masked", zeroShotMasked, errors);
        Check("zeroshot_probs_masked", zeroShotMasked.sigmoid(), errors);

        foreach (var (name, error) in errors)
            output.WriteLine($"{checkpoint} {name}: max |diff| {error:E2}");
        Assert.Equal(17, errors.Count);
        Assert.All(errors, e => Assert.True(e.Item2 <= Tolerance, $"{e.Item1} differs by {e.Item2}"));
    }

    [Fact]
    public void StateDictKeysAreTheFixturesSafetensorsKeys()
    {
        using var model = ClipTorchModel.FromCheckpoint(SiglipFixturePath);
        var fileKeys = SafetensorsReader.ReadHeader(Path.Combine(SiglipFixturePath, "model.safetensors")).Entries.Select(e => e.Name).Order(StringComparer.Ordinal);
        Assert.Equal(fileKeys, model.state_dict().Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 1 }, model.LogitBias!.shape);
        Assert.Equal(1.0f, model.LogitBias.item<float>());
        Assert.Equal(2.302734375f, model.LogitScale.item<float>());
        // The config came from config.json.
        var c = model.Config;
        Assert.Equal((48, 2, 4, 96, 64, 16), (c.VisionWidth, c.VisionLayers[0], c.VisionHeads, c.VisionMlpWidth, c.ImageResolution, c.VisionPatchSize!.Value));
        Assert.Equal((1000, 48, 2, 4, 96, 64, 48), (c.VocabSize, c.TransformerWidth, c.TransformerLayers, c.TransformerHeads, c.TransformerMlpWidth, c.ContextLength, c.EmbedDim));
        Assert.Equal((ClipActivation.GeluTanh, 1e-6f), (c.Activation, c.LayerNormEps));
    }

    [Fact]
    public void ClipWeightsLoadsTheFolderAsFloat32Tensors()
    {
        using var weights = ClipWeights.Load(SiglipFixturePath);
        Assert.True(weights.Config.IsSiglip);
        Assert.Equal(2.302734375f, weights.LogitScale);
        Assert.All(weights.StateDict.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        Assert.Equal(88, weights.StateDict.Count);
    }

    private static string SiglipFixturePath => Fixtures.Siglip("model");
}
