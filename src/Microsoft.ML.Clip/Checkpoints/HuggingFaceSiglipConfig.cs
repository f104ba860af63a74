using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Translates between <see cref="ClipConfig"/> (family <see cref="ClipModelFamily.Siglip"/>) and the <c>config.json</c>
/// of a Hugging Face <c>SiglipModel</c> (<c>model_type</c> <c>siglip</c>; SigLIP 2 FixRes checkpoints use the same).
/// Fields a config omits take <c>transformers</c>' defaults (<c>SiglipTextConfig</c>, <c>SiglipVisionConfig</c>), as
/// <c>from_pretrained</c> would: text vocabulary 32000, width 768, MLP 3072, 12 layers, 12 heads, 64 positions,
/// <c>projection_size</c> = width; vision width 768, MLP 3072, 12 layers, 12 heads, 224 px, patch 16; both
/// <c>gelu_pytorch_tanh</c> and LayerNorm epsilon 1e-6.
/// </summary>
internal static class HuggingFaceSiglipConfig
{
    /// <summary>The <c>model_type</c> of a SigLIP config.</summary>
    public const string ModelType = "siglip";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Whether <paramref name="root"/> is a SigLIP <c>config.json</c> (by <c>model_type</c> or <c>architectures</c>).</summary>
    public static bool IsSiglip(JsonObject root)
    {
        if (root["model_type"] is JsonValue type && type.TryGetValue<string>(out var name))
            return name is ModelType or "siglip2";
        return root["architectures"] is JsonArray architectures
            && architectures.Any(a => a is JsonValue v && v.TryGetValue<string>(out var s) && s.StartsWith("Siglip", StringComparison.Ordinal));
    }

    /// <summary>Parses the text of a SigLIP <c>config.json</c>.</summary>
    /// <exception cref="InvalidDataException">The JSON is invalid or describes an impossible model (the message names the field).</exception>
    /// <exception cref="NotSupportedException">A SigLIP 2 NaFlex config, a vision tower without its pooling head, or towers with
    /// different activations or LayerNorm epsilons.</exception>
    public static ClipConfig Parse(string json, string origin)
    {
        var root = ConfigJson.ParseObject(json, origin);
        if (root["model_type"] is JsonValue type && type.TryGetValue<string>(out var name) && name == "siglip2")
            throw new NotSupportedException(
                $"'{origin}' is a SigLIP 2 NaFlex model (model_type 'siglip2': variable-resolution patches, a pixel attention mask). " +
                "SigLIP 2 FixRes checkpoints (model_type 'siglip') are supported; NaFlex is not.");
        var text = root["text_config"] as JsonObject ?? new JsonObject();
        var vision = root["vision_config"] as JsonObject ?? new JsonObject();

        T Get<T>(JsonObject section, string sectionName, string field, T fallback) => ConfigJson.Get(section, sectionName, field, fallback, origin);

        var textWidth = Get(text, "text_config", "hidden_size", 768);
        var visionWidth = Get(vision, "vision_config", "hidden_size", 768);
        var projection = Get(text, "text_config", "projection_size", textWidth);
        var textAct = Get(text, "text_config", "hidden_act", "gelu_pytorch_tanh");
        var visionAct = Get(vision, "vision_config", "hidden_act", "gelu_pytorch_tanh");
        var textEps = Get(text, "text_config", "layer_norm_eps", 1e-6f);
        var visionEps = Get(vision, "vision_config", "layer_norm_eps", 1e-6f);
        if (!Get(vision, "vision_config", "vision_use_head", true))
            throw new NotSupportedException($"'{origin}': vision_config.vision_use_head is false: the vision tower has no pooling head, so it gives no image embedding (a PaliGemma-style encoder, not a SigLIP image-text model).");
        if (Get(vision, "vision_config", "num_channels", 3) != 3)
            throw new NotSupportedException($"'{origin}': vision_config.num_channels is {vision["num_channels"]}; RGB images (3 channels) are supported.");
        if (textAct != visionAct)
            throw new NotSupportedException($"'{origin}': text hidden_act '{textAct}' differs from vision hidden_act '{visionAct}'; one activation for both towers is supported.");
        if (textEps != visionEps)
            throw new NotSupportedException($"'{origin}': text layer_norm_eps {textEps} differs from vision layer_norm_eps {visionEps}.");
        if (projection != visionWidth)
            throw new InvalidDataException($"'{origin}': text_config.projection_size {projection} differs from vision_config.hidden_size {visionWidth}; the two embeddings cannot be compared.");

        var config = new ClipConfig
        {
            Family = ClipModelFamily.Siglip,
            EmbedDim = visionWidth,
            ImageResolution = Get(vision, "vision_config", "image_size", 224),
            VisionLayers = [Get(vision, "vision_config", "num_hidden_layers", 12)],
            VisionWidth = visionWidth,
            VisionHeads = Get(vision, "vision_config", "num_attention_heads", 12),
            VisionMlpWidth = Get(vision, "vision_config", "intermediate_size", 3072),
            VisionPatchSize = Get(vision, "vision_config", "patch_size", 16),
            ContextLength = Get(text, "text_config", "max_position_embeddings", 64),
            VocabSize = Get(text, "text_config", "vocab_size", 32000),
            TransformerWidth = textWidth,
            TransformerHeads = Get(text, "text_config", "num_attention_heads", 12),
            TransformerLayers = Get(text, "text_config", "num_hidden_layers", 12),
            TransformerMlpWidth = Get(text, "text_config", "intermediate_size", 3072),
            Activation = HuggingFaceClipConfig.ParseActivation(textAct, origin),
            LayerNormEps = textEps,
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{origin}': {e.Message}", e);
        }
        return config;
    }

    /// <summary>The <c>config.json</c> text of a SigLIP <paramref name="config"/> (the text and vision sub-configs in full).</summary>
    public static string Serialize(ClipConfig config)
    {
        if (!config.IsSiglip)
            throw new ArgumentException("Not a SigLIP config.", nameof(config));
        var act = ClipConfigJson.ActivationName(config.Activation);
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("SiglipModel"),
            ["model_type"] = ModelType,
            ["initializer_factor"] = 1.0,
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["model_type"] = "siglip_text_model",
                ["vocab_size"] = config.VocabSize,
                ["hidden_size"] = config.TransformerWidth,
                ["intermediate_size"] = config.TransformerMlpWidth,
                ["num_hidden_layers"] = config.TransformerLayers,
                ["num_attention_heads"] = config.TransformerHeads,
                ["max_position_embeddings"] = config.ContextLength,
                ["hidden_act"] = act,
                ["layer_norm_eps"] = config.LayerNormEps,
                ["attention_dropout"] = 0.0,
                ["projection_size"] = config.EmbedDim,
            },
            ["vision_config"] = new JsonObject
            {
                ["model_type"] = "siglip_vision_model",
                ["hidden_size"] = config.VisionWidth,
                ["intermediate_size"] = config.VisionMlpWidth,
                ["num_hidden_layers"] = config.VisionLayers[0],
                ["num_attention_heads"] = config.VisionHeads,
                ["num_channels"] = 3,
                ["image_size"] = config.ImageResolution,
                ["patch_size"] = config.VisionPatchSize,
                ["hidden_act"] = act,
                ["layer_norm_eps"] = config.LayerNormEps,
                ["attention_dropout"] = 0.0,
            },
        };
        return root.ToJsonString(Indented);
    }
}
