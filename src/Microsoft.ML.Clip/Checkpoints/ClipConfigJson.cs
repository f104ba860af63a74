using System.Text.Json;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// <see cref="ClipConfig"/> as JSON with openai/CLIP's constructor argument names (<c>embed_dim</c>,
/// <c>image_resolution</c>, <c>vision_layers</c>, ...) plus <c>activation</c> and <c>layer_norm_eps</c>:
/// the <c>clip_config.json</c> written beside OpenAI-named safetensors and the <c>clip_config</c>
/// metadata entry of exported ONNX graphs.
/// </summary>
public static class ClipConfigJson
{
    /// <summary>File name of the config beside an OpenAI-named <c>model.safetensors</c>.</summary>
    public const string FileName = "clip_config.json";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>The JSON text of <paramref name="config"/>.</summary>
    public static string Serialize(ClipConfig config, bool indented = true)
    {
        var node = new JsonObject
        {
            ["embed_dim"] = config.EmbedDim,
            ["image_resolution"] = config.ImageResolution,
            // A ViT has a single layer count; openai/CLIP passes an int there and a 4-tuple for a ResNet.
            ["vision_layers"] = config.IsVisionTransformer ? JsonValue.Create(config.VisionLayers[0]) : new JsonArray(config.VisionLayers.Select(l => (JsonNode)l).ToArray()),
            ["vision_width"] = config.VisionWidth,
            ["vision_patch_size"] = config.VisionPatchSize,
            ["context_length"] = config.ContextLength,
            ["vocab_size"] = config.VocabSize,
            ["transformer_width"] = config.TransformerWidth,
            ["transformer_heads"] = config.TransformerHeads,
            ["transformer_layers"] = config.TransformerLayers,
            ["activation"] = ActivationName(config.Activation),
            ["layer_norm_eps"] = config.LayerNormEps,
        };
        // SigLIP's family and the sizes openai/CLIP derives but SigLIP sets: written only for such a model, so a CLIP's
        // JSON stays openai/CLIP's constructor arguments.
        if (config.IsSiglip)
        {
            node["family"] = "siglip";
            node["vision_heads"] = config.VisionHeads;
            node["vision_mlp_width"] = config.VisionMlpWidth;
            node["transformer_mlp_width"] = config.TransformerMlpWidth;
        }
        // Only a locked-image (LiT) model has it; openai/CLIP's constructor has no such argument.
        if (config.ImageFeatureSize is int features) node["image_feature_size"] = features;
        // Only a model on a frozen text encoder has it.
        if (config.TextFeatureSize is int textFeatures) node["text_feature_size"] = textFeatures;
        return node.ToJsonString(indented ? Indented : null);
    }

    /// <summary>Parses the JSON written by <see cref="Serialize"/> (also the constructor arguments of openai/CLIP).</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="origin">The file it came from, for messages.</param>
    /// <exception cref="InvalidDataException">A field is missing or has the wrong type, or the config is impossible.</exception>
    public static ClipConfig Parse(string json, string origin)
    {
        try
        {
            return ParseCore(json, origin);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            // A field of the wrong JSON type (e.g. a string where a number belongs).
            throw new InvalidDataException($"'{origin}': {e.Message}", e);
        }
    }

    private static ClipConfig ParseCore(string json, string origin)
    {
        var root = ConfigJson.ParseObject(json, origin);
        int Int(string name)
        {
            try
            {
                return root[name]?.GetValue<int>() ?? throw new InvalidDataException($"'{origin}': missing '{name}'.");
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException)
            {
                throw new InvalidDataException($"'{origin}': '{name}' is not an integer.", e);
            }
        }
        int[] layers = root["vision_layers"] switch
        {
            JsonArray array => array.Select(n => n?.GetValue<int>() ?? throw new InvalidDataException($"'{origin}': 'vision_layers' holds a null.")).ToArray(),
            JsonValue value => [value.GetValue<int>()],
            _ => throw new InvalidDataException($"'{origin}': missing 'vision_layers'."),
        };
        var activation = root["activation"]?.GetValue<string>() ?? "quick_gelu";
        var config = new ClipConfig
        {
            EmbedDim = Int("embed_dim"),
            ImageResolution = Int("image_resolution"),
            VisionLayers = layers,
            VisionWidth = Int("vision_width"),
            VisionPatchSize = root["vision_patch_size"]?.GetValue<int>(),
            ContextLength = root["context_length"] is null ? 77 : Int("context_length"),
            VocabSize = root["vocab_size"] is null ? 49408 : Int("vocab_size"),
            TransformerWidth = Int("transformer_width"),
            TransformerHeads = Int("transformer_heads"),
            TransformerLayers = Int("transformer_layers"),
            Activation = HuggingFaceClipConfig.ParseActivation(activation, origin),
            LayerNormEps = root["layer_norm_eps"]?.GetValue<float>() ?? 1e-5f,
            ImageFeatureSize = root["image_feature_size"] is null ? null : Int("image_feature_size"),
            TextFeatureSize = root["text_feature_size"] is null ? null : Int("text_feature_size"),
        };
        switch (root["family"]?.GetValue<string>())
        {
            case null or "clip":
                break;
            case "siglip":
                config = config with
                {
                    Family = ClipModelFamily.Siglip,
                    VisionHeads = Int("vision_heads"),
                    VisionMlpWidth = Int("vision_mlp_width"),
                    TransformerMlpWidth = Int("transformer_mlp_width"),
                };
                break;
            case var family:
                throw new InvalidDataException($"'{origin}': unknown family '{family}' (expected 'clip' or 'siglip').");
        }
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

    /// <summary>Reads a <c>clip_config.json</c> file.</summary>
    public static ClipConfig Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Writes a <c>clip_config.json</c> file.</summary>
    public static void Save(ClipConfig config, string path) => File.WriteAllText(path, Serialize(config));

    /// <summary>The JSON name of <paramref name="activation"/> (Hugging Face's, as <see cref="HuggingFaceClipConfig.ParseActivation"/> reads them).</summary>
    internal static string ActivationName(ClipActivation activation) => activation switch
    {
        ClipActivation.Gelu => "gelu",
        ClipActivation.GeluTanh => "gelu_pytorch_tanh",
        _ => "quick_gelu",
    };
}
