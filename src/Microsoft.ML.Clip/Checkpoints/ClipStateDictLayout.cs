namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// The tensors (key names and shapes) a state dict of a given <see cref="ClipConfig"/> holds — OpenAI's names for CLIP,
/// Hugging Face's for SigLIP — and a check of a state dict against them that lists every missing, unexpected and
/// mis-shaped tensor.
/// </summary>
internal static class ClipStateDictLayout
{
    /// <summary>Keys some checkpoints carry that are not weights: the TorchScript archives' buffers, and the
    /// <c>position_ids</c> buffers older Hugging Face SigLIP checkpoints saved (an <c>arange</c>, rebuilt by the model).</summary>
    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.Ordinal)
    {
        "input_resolution", "context_length", "vocab_size",
        "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids",
    };

    /// <summary>Expected OpenAI key → shape, in a stable order. <c>num_batches_tracked</c> buffers are listed as optional.</summary>
    public static List<(string Name, long[] Shape, bool Optional)> Expected(ClipConfig config)
    {
        config.Validate();
        if (config.IsSiglip)
            return ExpectedSiglip(config);
        var list = new List<(string, long[], bool)>();
        void Add(string name, params long[] shape) => list.Add((name, shape, false));

        long w = config.TransformerWidth;
        // A head on frozen text features has CLIP's last two text parameters only (width = the feature size).
        if (!config.IsTextFeatureProjection)
        {
            Add("positional_embedding", config.ContextLength, w);
            Add("token_embedding.weight", config.VocabSize, w);
            for (var i = 0; i < config.TransformerLayers; i++)
                AddResidualBlock(list, $"transformer.resblocks.{i}.", w);
        }
        Add("ln_final.weight", w);
        Add("ln_final.bias", w);
        Add("text_projection", w, config.EmbedDim);
        Add("logit_scale");

        if (config.IsImageFeatureProjection)
        {
            Add("visual.ln_post.weight", config.ImageFeatureSize!.Value);
            Add("visual.ln_post.bias", config.ImageFeatureSize!.Value);
            Add("visual.proj", config.ImageFeatureSize!.Value, config.EmbedDim);
        }
        else if (config.IsVisionTransformer)
            AddVisionTransformer(list, config);
        else
            AddModifiedResNet(list, config);
        return list;
    }

    /// <summary>
    /// Hugging Face <c>SiglipModel</c>'s keys: <c>vision_model.*</c> (patch embedding with bias, one position per patch,
    /// encoder layers, <c>post_layernorm</c>, the attention-pool <c>head</c>), <c>text_model.*</c> (embeddings, encoder
    /// layers, <c>final_layer_norm</c>, <c>head</c>), <c>logit_scale</c> and <c>logit_bias</c> (both [1]).
    /// </summary>
    private static List<(string Name, long[] Shape, bool Optional)> ExpectedSiglip(ClipConfig config)
    {
        var list = new List<(string, long[], bool)>();
        void Add(string name, params long[] shape) => list.Add((name, shape, false));
        void AddNorm(string prefix, long w)
        {
            Add(prefix + "weight", w);
            Add(prefix + "bias", w);
        }
        void AddLinear(string prefix, long output, long input)
        {
            Add(prefix + "weight", output, input);
            Add(prefix + "bias", output);
        }
        void AddLayers(string prefix, int count, long w, long mlp)
        {
            for (var i = 0; i < count; i++)
            {
                var p = $"{prefix}encoder.layers.{i}.";
                AddNorm(p + "layer_norm1.", w);
                foreach (var projection in new[] { "q_proj", "k_proj", "v_proj", "out_proj" })
                    AddLinear($"{p}self_attn.{projection}.", w, w);
                AddNorm(p + "layer_norm2.", w);
                AddLinear(p + "mlp.fc1.", mlp, w);
                AddLinear(p + "mlp.fc2.", w, mlp);
            }
        }

        long tw = config.TransformerWidth;
        Add("text_model.embeddings.token_embedding.weight", config.VocabSize, tw);
        Add("text_model.embeddings.position_embedding.weight", config.ContextLength, tw);
        AddLayers("text_model.", config.TransformerLayers, tw, config.TransformerMlpWidth);
        AddNorm("text_model.final_layer_norm.", tw);
        AddLinear("text_model.head.", config.EmbedDim, tw);

        long vw = config.VisionWidth, patch = config.VisionPatchSize!.Value, grid = config.ImageResolution / patch;
        Add("vision_model.embeddings.patch_embedding.weight", vw, 3, patch, patch);
        Add("vision_model.embeddings.patch_embedding.bias", vw);
        Add("vision_model.embeddings.position_embedding.weight", grid * grid, vw);
        AddLayers("vision_model.", config.VisionLayers[0], vw, config.VisionMlpWidth);
        AddNorm("vision_model.post_layernorm.", vw);
        Add("vision_model.head.probe", 1, 1, vw);
        AddLinear("vision_model.head.attention.in_proj_", 3 * vw, vw);
        AddLinear("vision_model.head.attention.out_proj.", vw, vw);
        AddNorm("vision_model.head.layernorm.", vw);
        AddLinear("vision_model.head.mlp.fc1.", config.VisionMlpWidth, vw);
        AddLinear("vision_model.head.mlp.fc2.", vw, config.VisionMlpWidth);
        Add("logit_scale", 1);
        Add("logit_bias", 1);
        return list;
    }

    private static void AddResidualBlock(List<(string, long[], bool)> list, string prefix, long w)
    {
        list.Add((prefix + "attn.in_proj_weight", [3 * w, w], false));
        list.Add((prefix + "attn.in_proj_bias", [3 * w], false));
        list.Add((prefix + "attn.out_proj.weight", [w, w], false));
        list.Add((prefix + "attn.out_proj.bias", [w], false));
        list.Add((prefix + "ln_1.weight", [w], false));
        list.Add((prefix + "ln_1.bias", [w], false));
        list.Add((prefix + "mlp.c_fc.weight", [4 * w, w], false));
        list.Add((prefix + "mlp.c_fc.bias", [4 * w], false));
        list.Add((prefix + "mlp.c_proj.weight", [w, 4 * w], false));
        list.Add((prefix + "mlp.c_proj.bias", [w], false));
        list.Add((prefix + "ln_2.weight", [w], false));
        list.Add((prefix + "ln_2.bias", [w], false));
    }

    private static void AddVisionTransformer(List<(string, long[], bool)> list, ClipConfig config)
    {
        long w = config.VisionWidth;
        long p = config.VisionPatchSize!.Value;
        long grid = config.ImageResolution / p;
        list.Add(("visual.class_embedding", [w], false));
        list.Add(("visual.positional_embedding", [grid * grid + 1, w], false));
        list.Add(("visual.proj", [w, config.EmbedDim], false));
        list.Add(("visual.conv1.weight", [w, 3, p, p], false));
        list.Add(("visual.ln_pre.weight", [w], false));
        list.Add(("visual.ln_pre.bias", [w], false));
        for (var i = 0; i < config.VisionLayers[0]; i++)
            AddResidualBlock(list, $"visual.transformer.resblocks.{i}.", w);
        list.Add(("visual.ln_post.weight", [w], false));
        list.Add(("visual.ln_post.bias", [w], false));
    }

    private static void AddBatchNorm(List<(string, long[], bool)> list, string prefix, long channels)
    {
        list.Add((prefix + "weight", [channels], false));
        list.Add((prefix + "bias", [channels], false));
        list.Add((prefix + "running_mean", [channels], false));
        list.Add((prefix + "running_var", [channels], false));
        list.Add((prefix + "num_batches_tracked", [], true));
    }

    private static void AddModifiedResNet(List<(string, long[], bool)> list, ClipConfig config)
    {
        long width = config.VisionWidth;
        list.Add(("visual.conv1.weight", [width / 2, 3, 3, 3], false));
        AddBatchNorm(list, "visual.bn1.", width / 2);
        list.Add(("visual.conv2.weight", [width / 2, width / 2, 3, 3], false));
        AddBatchNorm(list, "visual.bn2.", width / 2);
        list.Add(("visual.conv3.weight", [width, width / 2, 3, 3], false));
        AddBatchNorm(list, "visual.bn3.", width);
        foreach (var block in ResNetBlocks(config))
        {
            var prefix = block.Prefix;
            list.Add((prefix + "conv1.weight", [block.Planes, block.InPlanes, 1, 1], false));
            AddBatchNorm(list, prefix + "bn1.", block.Planes);
            list.Add((prefix + "conv2.weight", [block.Planes, block.Planes, 3, 3], false));
            AddBatchNorm(list, prefix + "bn2.", block.Planes);
            list.Add((prefix + "conv3.weight", [block.Planes * 4, block.Planes, 1, 1], false));
            AddBatchNorm(list, prefix + "bn3.", block.Planes * 4);
            if (block.HasDownsample)
            {
                list.Add((prefix + "downsample.0.weight", [block.Planes * 4, block.InPlanes, 1, 1], false));
                AddBatchNorm(list, prefix + "downsample.1.", block.Planes * 4);
            }
        }
        long embed = width * 32;
        long spatial = config.ImageResolution / 32;
        list.Add(("visual.attnpool.positional_embedding", [spatial * spatial + 1, embed], false));
        foreach (var proj in new[] { "q_proj", "k_proj", "v_proj" })
        {
            list.Add(($"visual.attnpool.{proj}.weight", [embed, embed], false));
            list.Add(($"visual.attnpool.{proj}.bias", [embed], false));
        }
        list.Add(("visual.attnpool.c_proj.weight", [config.EmbedDim, embed], false));
        list.Add(("visual.attnpool.c_proj.bias", [config.EmbedDim], false));
    }

    /// <summary>One bottleneck of a ModifiedResNet: its key prefix, widths, stride and whether it has a downsample branch.</summary>
    internal readonly record struct ResNetBlock(string Prefix, long InPlanes, long Planes, int Stride, bool HasDownsample);

    /// <summary>The bottlenecks of a ModifiedResNet in forward order (stage widths 1, 2, 4, 8 × width; stride 2 from stage 2).</summary>
    internal static IEnumerable<ResNetBlock> ResNetBlocks(ClipConfig config)
    {
        long inPlanes = config.VisionWidth;
        for (var stage = 0; stage < 4; stage++)
        {
            long planes = config.VisionWidth << stage;
            for (var b = 0; b < config.VisionLayers[stage]; b++)
            {
                var stride = b == 0 && stage > 0 ? 2 : 1;
                var downsample = stride > 1 || inPlanes != planes * 4;
                yield return new ResNetBlock($"visual.layer{stage + 1}.{b}.", inPlanes, planes, stride, downsample);
                inPlanes = planes * 4;
            }
        }
    }

    /// <summary>
    /// Checks <paramref name="stateDict"/> against <paramref name="config"/>; throws one
    /// <see cref="InvalidDataException"/> that lists every missing key, unexpected key and shape mismatch.
    /// </summary>
    /// <param name="config">The architecture.</param>
    /// <param name="stateDict">OpenAI-named tensors.</param>
    /// <param name="origin">What the state dict came from (a file name), for the message.</param>
    public static void Validate(ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, string origin)
    {
        var expected = Expected(config);
        var problems = new List<string>();
        var missing = new List<string>();
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, shape, optional) in expected)
        {
            known.Add(name);
            if (!stateDict.TryGetValue(name, out var tensor))
            {
                if (!optional) missing.Add(name);
                continue;
            }
            // logit_scale is 0-d in OpenAI checkpoints and [1] in Hugging Face SigLIP's: accept either (logit_bias too).
            if (name is "logit_scale" or "logit_bias" && tensor.ElementCount == 1)
                continue;
            if (!tensor.Shape.SequenceEqual(shape))
                problems.Add($"'{name}' has shape [{string.Join(", ", tensor.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        var unexpected = stateDict.Keys.Where(k => !known.Contains(k) && !IgnoredKeys.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count > 0)
            problems.Insert(0, $"missing keys: {Summarize(missing)}");
        if (unexpected.Count > 0)
            problems.Add($"unexpected keys: {Summarize(unexpected)}");
        if (problems.Count > 0)
            throw new InvalidDataException($"{origin}: the state dict does not match the {(config.IsSiglip ? "SigLIP" : "CLIP")} config ({Describe(config)}): {string.Join("; ", problems)}.");
    }

    /// <summary>A short description of the architecture for messages.</summary>
    internal static string Describe(ClipConfig c)
    {
        if (c.IsSiglip)
            return $"SigLIP ViT width {c.VisionWidth}, {c.VisionLayers[0]} layers, {c.VisionHeads} heads, MLP {c.VisionMlpWidth}, patch {c.VisionPatchSize}, resolution {c.ImageResolution}; text width {c.TransformerWidth}, {c.TransformerLayers} layers, {c.TransformerHeads} heads, MLP {c.TransformerMlpWidth}, vocabulary {c.VocabSize}, context {c.ContextLength}; embed {c.EmbedDim}";
        var text = c.IsTextFeatureProjection ? $"head on {c.TextFeatureSize} frozen text features" : $"text width {c.TransformerWidth}, {c.TransformerLayers} layers";
        return c.IsImageFeatureProjection
            ? $"projection of {c.ImageFeatureSize} frozen image features; {text}; embed {c.EmbedDim}"
            : c.IsVisionTransformer
            ? $"ViT width {c.VisionWidth}, {c.VisionLayers[0]} layers, patch {c.VisionPatchSize}, resolution {c.ImageResolution}; {text}; embed {c.EmbedDim}"
            : $"ModifiedResNet width {c.VisionWidth}, layers [{string.Join(", ", c.VisionLayers)}], resolution {c.ImageResolution}; {text}; embed {c.EmbedDim}";
    }

    /// <summary>Lists up to 20 names, then a count of the rest.</summary>
    internal static string Summarize(IReadOnlyList<string> names)
        => names.Count <= 20 ? string.Join(", ", names) : string.Join(", ", names.Take(20)) + $", … ({names.Count - 20} more)";
}
