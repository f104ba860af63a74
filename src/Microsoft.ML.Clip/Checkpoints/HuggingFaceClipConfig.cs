using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Translates between <see cref="ClipConfig"/> and the <c>config.json</c> of a Hugging Face
/// <c>transformers</c> <c>CLIPModel</c> (<c>text_config</c> / <c>vision_config</c>). Fields a config
/// omits take <c>transformers</c>' defaults, as <c>CLIPConfig.from_pretrained</c> would.
/// </summary>
internal static class HuggingFaceClipConfig
{
    /// <summary>File name of the Hugging Face config beside <c>model.safetensors</c>.</summary>
    public const string FileName = "config.json";

    /// <summary>ln(1/0.07): <c>transformers</c>' default <c>logit_scale_init_value</c> and CLIP's initial temperature.</summary>
    public const float DefaultLogitScale = 2.6592f;

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Parses a Hugging Face <c>CLIPConfig</c> JSON text.</summary>
    /// <param name="json">The text of <c>config.json</c>.</param>
    /// <param name="origin">The file it came from, for messages.</param>
    /// <returns>The architecture and the config's <c>logit_scale_init_value</c>.</returns>
    /// <exception cref="InvalidDataException">The JSON is invalid or describes an impossible model.</exception>
    /// <exception cref="NotSupportedException">The model cannot be expressed as an openai/CLIP architecture (e.g. vision heads ≠ width / 64).</exception>
    public static (ClipConfig Config, float LogitScaleInit) Parse(string json, string origin)
    {
        var root = ConfigJson.ParseObject(json, origin);
        var text = root["text_config"] as JsonObject ?? new JsonObject();
        var vision = root["vision_config"] as JsonObject ?? new JsonObject();

        T Get<T>(JsonObject section, string sectionName, string field, T fallback) => ConfigJson.Get(section, sectionName, field, fallback, origin);

        var projectionDim = Get(root, "config", "projection_dim", 512);
        var textWidth = Get(text, "text_config", "hidden_size", 512);
        var textIntermediate = Get(text, "text_config", "intermediate_size", 2048);
        var textAct = Get(text, "text_config", "hidden_act", "quick_gelu");
        var visionWidth = Get(vision, "vision_config", "hidden_size", 768);
        var visionIntermediate = Get(vision, "vision_config", "intermediate_size", 3072);
        var visionHeads = Get(vision, "vision_config", "num_attention_heads", 12);
        var visionAct = Get(vision, "vision_config", "hidden_act", "quick_gelu");
        var textEps = Get(text, "text_config", "layer_norm_eps", 1e-5f);
        var visionEps = Get(vision, "vision_config", "layer_norm_eps", 1e-5f);

        // openai/CLIP's architecture ties these together; a config that breaks the ties has no ClipConfig.
        if (textIntermediate != 4 * textWidth)
            throw new NotSupportedException($"'{origin}': text_config.intermediate_size {textIntermediate} is not 4 × hidden_size {textWidth}, which the CLIP architecture requires.");
        if (visionIntermediate != 4 * visionWidth)
            throw new NotSupportedException($"'{origin}': vision_config.intermediate_size {visionIntermediate} is not 4 × hidden_size {visionWidth}, which the CLIP architecture requires.");
        if (visionHeads * 64 != visionWidth)
            throw new NotSupportedException($"'{origin}': vision_config.num_attention_heads {visionHeads} is not hidden_size / 64 = {visionWidth / 64.0}, which the CLIP architecture requires.");
        if (textAct != visionAct)
            throw new NotSupportedException($"'{origin}': text hidden_act '{textAct}' differs from vision hidden_act '{visionAct}'; one activation for both towers is supported.");
        if (textEps != visionEps)
            throw new NotSupportedException($"'{origin}': text layer_norm_eps {textEps} differs from vision layer_norm_eps {visionEps}.");

        var config = new ClipConfig
        {
            EmbedDim = projectionDim,
            ImageResolution = Get(vision, "vision_config", "image_size", 224),
            VisionLayers = [Get(vision, "vision_config", "num_hidden_layers", 12)],
            VisionWidth = visionWidth,
            VisionPatchSize = Get(vision, "vision_config", "patch_size", 32),
            ContextLength = Get(text, "text_config", "max_position_embeddings", 77),
            VocabSize = Get(text, "text_config", "vocab_size", 49408),
            TransformerWidth = textWidth,
            TransformerHeads = Get(text, "text_config", "num_attention_heads", 8),
            TransformerLayers = Get(text, "text_config", "num_hidden_layers", 12),
            Activation = ParseActivation(textAct, origin),
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
        return (config, Get(root, "config", "logit_scale_init_value", DefaultLogitScale));
    }

    /// <summary>Reads a Hugging Face <c>config.json</c>.</summary>
    public static (ClipConfig Config, float LogitScaleInit) Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>The <c>config.json</c> text of a ViT <paramref name="config"/>.</summary>
    /// <exception cref="NotSupportedException">The config has a ModifiedResNet vision tower, which <c>transformers</c> does not have.</exception>
    public static string Serialize(ClipConfig config, float logitScale)
    {
        RequireVisionTransformer(config);
        var act = ClipConfigJson.ActivationName(config.Activation);
        var root = new JsonObject
        {
            ["architectures"] = new JsonArray("CLIPModel"),
            ["model_type"] = "clip",
            ["projection_dim"] = config.EmbedDim,
            ["logit_scale_init_value"] = logitScale,
            ["initializer_factor"] = 1.0,
            ["torch_dtype"] = "float32",
            ["text_config"] = new JsonObject
            {
                ["model_type"] = "clip_text_model",
                ["vocab_size"] = config.VocabSize,
                ["hidden_size"] = config.TransformerWidth,
                ["intermediate_size"] = 4 * config.TransformerWidth,
                ["projection_dim"] = config.EmbedDim,
                ["num_hidden_layers"] = config.TransformerLayers,
                ["num_attention_heads"] = config.TransformerHeads,
                ["max_position_embeddings"] = config.ContextLength,
                ["hidden_act"] = act,
                ["layer_norm_eps"] = config.LayerNormEps,
                ["attention_dropout"] = 0.0,
                ["initializer_range"] = 0.02,
                ["initializer_factor"] = 1.0,
                ["pad_token_id"] = 1,
                ["bos_token_id"] = 49406,
                ["eos_token_id"] = 49407,
            },
            ["vision_config"] = new JsonObject
            {
                ["model_type"] = "clip_vision_model",
                ["hidden_size"] = config.VisionWidth,
                ["intermediate_size"] = 4 * config.VisionWidth,
                ["projection_dim"] = config.EmbedDim,
                ["num_hidden_layers"] = config.VisionLayers[0],
                ["num_attention_heads"] = config.VisionHeads,
                ["num_channels"] = 3,
                ["image_size"] = config.ImageResolution,
                ["patch_size"] = config.VisionPatchSize,
                ["hidden_act"] = act,
                ["layer_norm_eps"] = config.LayerNormEps,
                ["attention_dropout"] = 0.0,
                ["initializer_range"] = 0.02,
                ["initializer_factor"] = 1.0,
            },
        };
        return root.ToJsonString(Indented);
    }

    internal static void RequireVisionTransformer(ClipConfig config)
    {
        if (!config.IsVisionTransformer)
            throw new NotSupportedException(
                "Hugging Face transformers' CLIPModel has no ModifiedResNet vision tower, so a ResNet CLIP cannot be written in its format. " +
                $"Write OpenAI-named safetensors instead ({nameof(ClipSafetensors)}.{nameof(ClipSafetensors.Save)}, {nameof(ClipModelConverter)}.{nameof(ClipModelConverter.ConvertToSafetensors)} or `clip convert --format safetensors`), which this library reads back.");
    }

    internal static ClipActivation ParseActivation(string name, string origin) => name switch
    {
        "quick_gelu" => ClipActivation.QuickGelu,
        "gelu" => ClipActivation.Gelu,
        "gelu_pytorch_tanh" or "gelu_new" or "gelu_fast" => ClipActivation.GeluTanh,
        _ => throw new NotSupportedException($"'{origin}': activation '{name}' is not supported (quick_gelu, gelu or gelu_pytorch_tanh)."),
    };
}
