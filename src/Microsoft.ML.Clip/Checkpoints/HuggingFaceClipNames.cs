namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// The key mapping between openai/CLIP state dicts and Hugging Face <c>CLIPModel</c> state dicts (as in
/// <c>transformers</c>' conversion script): renames, the two projections stored transposed, and the
/// packed attention <c>in_proj</c> that Hugging Face keeps as separate <c>q_proj</c>/<c>k_proj</c>/<c>v_proj</c>.
/// </summary>
internal static class HuggingFaceClipNames
{
    /// <summary>One OpenAI tensor and where it lives in a Hugging Face state dict.</summary>
    internal abstract record Rule(string OpenAI);

    /// <summary>Same values under another name; <paramref name="Transpose"/> for the [in, out] projections.</summary>
    internal sealed record Rename(string OpenAI, string Hf, bool Transpose = false) : Rule(OpenAI);

    /// <summary>OpenAI's packed <c>in_proj_weight</c>/<c>in_proj_bias</c> = concat of Hugging Face's q, k, v along dim 0.</summary>
    internal sealed record PackedQkv(string OpenAI, string HfAttention, string Suffix) : Rule(OpenAI)
    {
        public string[] HfNames => [HfAttention + "q_proj." + Suffix, HfAttention + "k_proj." + Suffix, HfAttention + "v_proj." + Suffix];
    }

    /// <summary>Hugging Face buffers that hold no weights: ignored on import, written on export.</summary>
    internal const string TextPositionIds = "text_model.embeddings.position_ids";

    /// <inheritdoc cref="TextPositionIds"/>
    internal const string VisionPositionIds = "vision_model.embeddings.position_ids";

    /// <summary>True when <paramref name="keys"/> look like a Hugging Face <c>CLIPModel</c> state dict.</summary>
    public static bool LooksLikeHuggingFace(IEnumerable<string> keys)
        => keys.Any(k => k.StartsWith("text_model.", StringComparison.Ordinal) || k.StartsWith("vision_model.", StringComparison.Ordinal));

    /// <summary>The mapping for a ViT <paramref name="config"/>.</summary>
    public static IEnumerable<Rule> Rules(ClipConfig config)
    {
        HuggingFaceClipConfig.RequireVisionTransformer(config);
        yield return new Rename("token_embedding.weight", "text_model.embeddings.token_embedding.weight");
        yield return new Rename("positional_embedding", "text_model.embeddings.position_embedding.weight");
        for (var i = 0; i < config.TransformerLayers; i++)
            foreach (var rule in Block($"transformer.resblocks.{i}.", $"text_model.encoder.layers.{i}."))
                yield return rule;
        yield return new Rename("ln_final.weight", "text_model.final_layer_norm.weight");
        yield return new Rename("ln_final.bias", "text_model.final_layer_norm.bias");
        yield return new Rename("text_projection", "text_projection.weight", Transpose: true);
        yield return new Rename("logit_scale", "logit_scale");

        yield return new Rename("visual.conv1.weight", "vision_model.embeddings.patch_embedding.weight");
        yield return new Rename("visual.class_embedding", "vision_model.embeddings.class_embedding");
        yield return new Rename("visual.positional_embedding", "vision_model.embeddings.position_embedding.weight");
        // "pre_layrnorm" is transformers' spelling.
        yield return new Rename("visual.ln_pre.weight", "vision_model.pre_layrnorm.weight");
        yield return new Rename("visual.ln_pre.bias", "vision_model.pre_layrnorm.bias");
        for (var i = 0; i < config.VisionLayers[0]; i++)
            foreach (var rule in Block($"visual.transformer.resblocks.{i}.", $"vision_model.encoder.layers.{i}."))
                yield return rule;
        yield return new Rename("visual.ln_post.weight", "vision_model.post_layernorm.weight");
        yield return new Rename("visual.ln_post.bias", "vision_model.post_layernorm.bias");
        yield return new Rename("visual.proj", "visual_projection.weight", Transpose: true);
    }

    private static IEnumerable<Rule> Block(string o, string h)
    {
        yield return new PackedQkv(o + "attn.in_proj_weight", h + "self_attn.", "weight");
        yield return new PackedQkv(o + "attn.in_proj_bias", h + "self_attn.", "bias");
        foreach (var (openai, hf) in new[]
        {
            ("attn.out_proj", "self_attn.out_proj"), ("ln_1", "layer_norm1"), ("ln_2", "layer_norm2"),
            ("mlp.c_fc", "mlp.fc1"), ("mlp.c_proj", "mlp.fc2"),
        })
        {
            yield return new Rename($"{o}{openai}.weight", $"{h}{hf}.weight");
            yield return new Rename($"{o}{openai}.bias", $"{h}{hf}.bias");
        }
    }

    /// <summary>
    /// Maps a Hugging Face state dict to OpenAI names. Checks keys and shapes first and throws one
    /// <see cref="InvalidDataException"/> listing every missing key, unexpected key and shape mismatch (HF names).
    /// The result holds new float32 tensors; <paramref name="hf"/> is left untouched.
    /// </summary>
    public static Dictionary<string, StateTensor> ToOpenAI(ClipConfig config, IReadOnlyDictionary<string, StateTensor> hf, string origin)
    {
        var expected = ClipStateDictLayout.Expected(config).ToDictionary(e => e.Name, e => e.Shape, StringComparer.Ordinal);
        var rules = Rules(config).ToList();
        var missing = new List<string>();
        var problems = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal) { TextPositionIds, VisionPositionIds };
        void Check(string hfName, long[] shape)
        {
            used.Add(hfName);
            if (!hf.TryGetValue(hfName, out var t)) { missing.Add(hfName); return; }
            var ok = hfName == "logit_scale" ? t.ElementCount == 1 : t.Shape.SequenceEqual(shape);
            if (!ok)
                problems.Add($"'{hfName}' has shape [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", shape)}]");
        }
        foreach (var rule in rules)
        {
            var shape = expected[rule.OpenAI];
            switch (rule)
            {
                case Rename r:
                    Check(r.Hf, r.Transpose ? shape.Reverse().ToArray() : shape);
                    break;
                case PackedQkv p:
                    var part = shape.ToArray();
                    part[0] /= 3;
                    foreach (var name in p.HfNames) Check(name, part);
                    break;
            }
        }
        var unexpected = hf.Keys.Where(k => !used.Contains(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (missing.Count > 0) problems.Insert(0, $"missing keys: {ClipStateDictLayout.Summarize(missing)}");
        if (unexpected.Count > 0) problems.Add($"unexpected keys: {ClipStateDictLayout.Summarize(unexpected)}");
        if (problems.Count > 0)
            throw new InvalidDataException($"'{origin}' does not match its Hugging Face CLIP config ({ClipStateDictLayout.Describe(config)}): {string.Join("; ", problems)}.");

        var result = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        foreach (var rule in rules)
        {
            result[rule.OpenAI] = rule switch
            {
                Rename { OpenAI: "logit_scale" } r => hf[r.Hf].ToFloat32().Reshape(),
                Rename r when r.Transpose => hf[r.Hf].ToFloat32().Transpose(),
                Rename r => hf[r.Hf].ToFloat32(),
                PackedQkv p => StateTensor.Concatenate([.. p.HfNames.Select(n => hf[n].ToFloat32())]),
                _ => throw new InvalidOperationException(),
            };
        }
        return result;
    }

    /// <summary>Maps a (validated) OpenAI state dict to Hugging Face names, float32, with the <c>position_ids</c> buffers.</summary>
    public static Dictionary<string, StateTensor> FromOpenAI(ClipConfig config, IReadOnlyDictionary<string, StateTensor> openai)
    {
        var result = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        foreach (var rule in Rules(config))
        {
            var source = openai[rule.OpenAI].ToFloat32();
            switch (rule)
            {
                case Rename { OpenAI: "logit_scale" } r:
                    result[r.Hf] = source.Reshape();
                    break;
                case Rename r:
                    result[r.Hf] = r.Transpose ? source.Transpose() : source;
                    break;
                case PackedQkv p:
                    var parts = source.Split(3);
                    for (var i = 0; i < 3; i++)
                        result[p.HfNames[i]] = parts[i];
                    break;
            }
        }
        var grid = config.ImageResolution / config.VisionPatchSize!.Value;
        result[TextPositionIds] = PositionIds(config.ContextLength);
        result[VisionPositionIds] = PositionIds(grid * grid + 1);
        return result;
    }

    // transformers' position_ids buffer: int64 [1, count] holding 0 … count − 1.
    private static StateTensor PositionIds(int count) =>
        StateTensor.FromInt64s([.. Enumerable.Range(0, count).Select(i => (long)i)], 1, count);
}
