using Microsoft.ML.Clip.TorchSharp.Modeling;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Named CLIP architectures to train from scratch (all ViT, QuickGELU, context 77, CLIP's vocabulary).</summary>
public static class ClipModelPresets
{
    /// <summary>
    /// A tiny CLIP for tests and small data: 64 px images, patch 8, vision width 128 (2 heads) and 4 blocks; text
    /// width 128, 2 heads, 4 blocks; 64-dimensional embeddings.
    /// </summary>
    public static ClipConfig Tiny { get; } = new()
    {
        EmbedDim = 64,
        ImageResolution = 64,
        VisionLayers = [4],
        VisionWidth = 128,
        VisionPatchSize = 8,
        TransformerWidth = 128,
        TransformerHeads = 2,
        TransformerLayers = 4,
    };

    /// <summary>open_clip's ViT-S/32 shape: 224 px, patch 32, width 384 (6 heads) and 12 blocks on both sides, 384-dimensional embeddings.</summary>
    public static ClipConfig Small { get; } = new()
    {
        EmbedDim = 384,
        ImageResolution = 224,
        VisionLayers = [12],
        VisionWidth = 384,
        VisionPatchSize = 32,
        TransformerWidth = 384,
        TransformerHeads = 6,
        TransformerLayers = 12,
    };

    /// <summary>OpenAI's ViT-B/32: 224 px, patch 32, vision width 768 and 12 blocks; text width 512, 8 heads, 12 blocks; 512-dimensional embeddings.</summary>
    public static ClipConfig Base { get; } = new()
    {
        EmbedDim = 512,
        ImageResolution = 224,
        VisionLayers = [12],
        VisionWidth = 768,
        VisionPatchSize = 32,
        TransformerWidth = 512,
        TransformerHeads = 8,
        TransformerLayers = 12,
    };

    /// <summary>The names <see cref="Get"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["tiny", "small", "base"];

    /// <summary>The preset called <paramref name="name"/> (case-insensitive): tiny, small or base.</summary>
    /// <exception cref="ArgumentException">The name is unknown (the message lists the known ones).</exception>
    public static ClipConfig Get(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToLowerInvariant() switch
        {
            "tiny" => Tiny,
            "small" => Small,
            "base" or "vit-b/32" or "vit-b-32" => Base,
            _ => throw new ArgumentException($"Unknown model preset '{name}'; expected one of: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
