namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Infers a <see cref="ClipConfig"/> from the shapes and names of an OpenAI-named state dict, with the
/// rules of the reference <c>build_model</c>: heads are width / 64 (text) and as <see cref="ClipConfig.VisionHeads"/>.
/// </summary>
internal static class ClipConfigInference
{
    /// <summary>The configuration that <paramref name="stateDict"/> was saved from.</summary>
    /// <exception cref="ArgumentException">A tensor the rules need is missing or has an impossible shape (named).</exception>
    public static ClipConfig FromStateDict(IReadOnlyDictionary<string, StateTensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        long[] Shape(string name) => stateDict.TryGetValue(name, out var t)
            ? t.Shape
            : throw new ArgumentException($"Cannot infer the CLIP configuration: the state dict has no '{name}'.", nameof(stateDict));

        var isVit = stateDict.ContainsKey("visual.proj");
        int visionWidth, imageResolution;
        int? patchSize = null;
        int[] visionLayers;
        if (isVit)
        {
            var conv = Shape("visual.conv1.weight");
            visionWidth = (int)conv[0];
            patchSize = (int)conv[^1];
            visionLayers = [stateDict.Keys.Count(k => k.StartsWith("visual.", StringComparison.Ordinal) && k.EndsWith(".attn.in_proj_weight", StringComparison.Ordinal))];
            var grid = GridSide(Shape("visual.positional_embedding")[0], "visual.positional_embedding");
            imageResolution = patchSize.Value * grid;
        }
        else
        {
            // Blocks per stage: distinct indices N of "visual.layerS.N.*".
            visionLayers = Enumerable.Range(1, 4)
                .Select(stage => stateDict.Keys
                    .Where(k => k.StartsWith($"visual.layer{stage}.", StringComparison.Ordinal))
                    .Select(k => k.Split('.')[2])
                    .Distinct()
                    .Count())
                .ToArray();
            visionWidth = (int)Shape("visual.layer1.0.conv1.weight")[0];
            var grid = GridSide(Shape("visual.attnpool.positional_embedding")[0], "visual.attnpool.positional_embedding");
            imageResolution = grid * 32;
        }

        var transformerWidth = (int)Shape("ln_final.weight")[0];
        var config = new ClipConfig
        {
            EmbedDim = (int)Shape("text_projection")[1],
            ImageResolution = imageResolution,
            VisionLayers = visionLayers,
            VisionWidth = visionWidth,
            VisionPatchSize = patchSize,
            ContextLength = (int)Shape("positional_embedding")[0],
            VocabSize = (int)Shape("token_embedding.weight")[0],
            TransformerWidth = transformerWidth,
            TransformerHeads = Math.Max(1, transformerWidth / 64),
            TransformerLayers = stateDict.Keys
                .Where(k => k.StartsWith("transformer.resblocks.", StringComparison.Ordinal))
                .Select(k => k.Split('.')[2])
                .Distinct()
                .Count(),
        };
        config.Validate();
        return config;
    }

    // Positional embeddings hold grid² + 1 rows (the extra one is the class / mean token).
    private static int GridSide(long rows, string name)
    {
        var side = (int)Math.Round(Math.Sqrt(rows - 1));
        if (side <= 0 || side * side + 1 != rows)
            throw new ArgumentException($"Cannot infer the image resolution: '{name}' has {rows} rows, not a square grid plus one.", "stateDict");
        return side;
    }
}
