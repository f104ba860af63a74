using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Reads and writes Hugging Face <c>SiglipModel</c> folders (SigLIP, and SigLIP 2 FixRes, which uses the same model):
/// <c>config.json</c> (<c>model_type</c> <c>siglip</c>), the weights as <c>model.safetensors</c> or as shards listed in
/// <c>model.safetensors.index.json</c> (float32, float16 or bfloat16, kept as stored), the tokenizer's SentencePiece file
/// (<c>spiece.model</c> for SigLIP, Gemma's <c>tokenizer.model</c> for SigLIP 2, chosen by <c>tokenizer_config.json</c>'s
/// <c>tokenizer_class</c> or by which file is there) and <c>preprocessor_config.json</c>. The state dict keeps Hugging
/// Face's names: they are the SigLIP model's own parameter names here.
/// </summary>
internal static class HuggingFaceSiglip
{
    /// <summary>The index of a sharded checkpoint: <c>{"weight_map": {tensor: file}}</c>.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The image processor's settings.</summary>
    public const string PreprocessorFileName = "preprocessor_config.json";

    /// <summary>The tokenizer's settings (its <c>tokenizer_class</c> tells SigLIP's from Gemma's).</summary>
    public const string TokenizerConfigFileName = "tokenizer_config.json";

    /// <summary>SigLIP's SentencePiece unigram model.</summary>
    public const string SiglipTokenizerFile = "spiece.model";

    /// <summary>Gemma's SentencePiece BPE model (SigLIP 2).</summary>
    public const string GemmaTokenizerFile = "tokenizer.model";

    /// <summary>
    /// Whether <paramref name="path"/> is a SigLIP checkpoint: a folder, or a <c>.safetensors</c> file, whose
    /// <c>config.json</c> says SigLIP. Any other path (a CLIP folder, a <c>.pt</c> file) is not.
    /// </summary>
    public static bool IsSiglip(string path)
    {
        var folder = FolderOf(path);
        if (folder is null) return false;
        var configPath = Path.Combine(folder, HuggingFaceClipConfig.FileName);
        if (!File.Exists(configPath)) return false;
        try
        {
            return HuggingFaceSiglipConfig.IsSiglip(ConfigJson.ParseObject(File.ReadAllText(configPath), configPath));
        }
        catch (InvalidDataException)
        {
            return false; // not JSON: whatever reads it next says what is wrong
        }
    }

    /// <summary>The architecture, from <c>config.json</c> alone.</summary>
    /// <exception cref="FileNotFoundException"><c>config.json</c> is missing.</exception>
    public static ClipConfig ReadConfig(string path)
    {
        var configPath = ConfigPath(path);
        return HuggingFaceSiglipConfig.Parse(File.ReadAllText(configPath), configPath);
    }

    /// <summary>
    /// Reads a SigLIP checkpoint: the config, every tensor (in its stored dtype; the <c>position_ids</c> buffers older
    /// checkpoints carry are dropped), the tokenizer file and the image preprocessing. The state dict is checked against
    /// the config: every missing key, unexpected key and shape mismatch is listed in one message.
    /// </summary>
    /// <param name="path">The folder, or one <c>.safetensors</c> file of it (e.g. a float16 copy) with <c>config.json</c> beside it.</param>
    /// <exception cref="FileNotFoundException">The config, the weights or a shard is missing.</exception>
    /// <exception cref="InvalidDataException">A file is damaged, or the weights do not match the config (all listed).</exception>
    /// <exception cref="NotSupportedException">A SigLIP 2 NaFlex model, or preprocessing this library cannot reproduce.</exception>
    public static CheckpointWeights Load(string path)
    {
        var folder = FolderOf(path) ?? throw new FileNotFoundException($"The SigLIP checkpoint '{path}' does not exist.", path);
        var config = ReadConfig(path);
        var (tensors, origin) = ReadWeights(path, folder);
        foreach (var name in new[] { "text_model.embeddings.position_ids", "vision_model.embeddings.position_ids" })
            tensors.Remove(name);
        ClipStateDictLayout.Validate(config, tensors, origin);
        return new CheckpointWeights(config, tensors, tensors["logit_scale"].SingleValue())
        {
            Tokenizer = ReadTokenizer(folder),
            Preprocess = ReadPreprocess(folder, config),
        };
    }

    /// <summary>
    /// Writes <paramref name="weights"/> (a SigLIP) as a Hugging Face folder: <c>model.safetensors</c> (float32),
    /// <c>config.json</c>, the tokenizer file with a <c>tokenizer_config.json</c> naming its class, and
    /// <c>preprocessor_config.json</c>. Loads back through <see cref="Load"/> (and Hugging Face's <c>SiglipModel</c>).
    /// </summary>
    public static void Save(string folder, CheckpointWeights weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var config = weights.Config;
        if (!config.IsSiglip)
            throw new ArgumentException("Not a SigLIP model.", nameof(weights));
        ClipStateDictLayout.Validate(config, weights.StateDict, "state dict to save");
        Directory.CreateDirectory(folder);
        SafetensorsWriter.Write(Path.Combine(folder, HuggingFaceClip.WeightsFileName), weights.WithFloat32().StateDict);
        File.WriteAllText(Path.Combine(folder, HuggingFaceClipConfig.FileName), HuggingFaceSiglipConfig.Serialize(config));
        if (weights.Tokenizer is { FileName: { } file, FileBytes: { } bytes } tokenizer)
        {
            File.WriteAllBytes(Path.Combine(folder, file), bytes);
            var tokenizerConfig = tokenizer.Kind == ClipTokenizerSpec.SiglipSentencePiece
                ? new JsonObject { ["tokenizer_class"] = "SiglipTokenizer", ["model_max_length"] = config.ContextLength, ["do_lower_case"] = true }
                : new JsonObject { ["tokenizer_class"] = "GemmaTokenizer", ["model_max_length"] = config.ContextLength, ["add_bos_token"] = false, ["add_eos_token"] = true, ["padding_side"] = "right" };
            File.WriteAllText(Path.Combine(folder, TokenizerConfigFileName), tokenizerConfig.ToJsonString());
        }
        var preprocess = weights.Preprocess ?? DefaultPreprocess(config);
        var preprocessor = new JsonObject
        {
            ["image_processor_type"] = "SiglipImageProcessor",
            ["do_convert_rgb"] = true,
            ["do_resize"] = true,
            ["size"] = new JsonObject { ["height"] = preprocess.Resolution, ["width"] = preprocess.Resolution },
            ["resample"] = 3,
            ["do_rescale"] = true,
            ["rescale_factor"] = 1 / 255.0,
            ["do_normalize"] = true,
            ["image_mean"] = new JsonArray([.. preprocess.Mean.Select(v => (JsonNode)v)]),
            ["image_std"] = new JsonArray([.. preprocess.Std.Select(v => (JsonNode)v)]),
        };
        File.WriteAllText(Path.Combine(folder, PreprocessorFileName), preprocessor.ToJsonString());
    }

    /// <summary>SigLIP's preprocessing at <paramref name="config"/>'s resolution: RGB first, both sides to R (bicubic), mean = std = 0.5.</summary>
    public static ClipPreprocessSettings DefaultPreprocess(ClipConfig config)
        => ClipPreprocessSettings.Squash(config.ImageResolution) with { ConvertRgbFirst = true };

    /// <summary>
    /// The tokenizer of the folder: <c>tokenizer_config.json</c>'s <c>tokenizer_class</c> (<c>SiglipTokenizer</c> →
    /// <c>spiece.model</c>; <c>GemmaTokenizer</c>, <c>GemmaTokenizerFast</c>, <c>Siglip2Tokenizer</c> → <c>tokenizer.model</c>),
    /// else whichever of the two files is there; null when there is none (the weights still load; conversion to ONNX
    /// then says the tokenizer is missing).
    /// </summary>
    /// <exception cref="FileNotFoundException">The tokenizer class names a file the folder does not have.</exception>
    internal static CheckpointTokenizer? ReadTokenizer(string folder)
    {
        var configPath = Path.Combine(folder, TokenizerConfigFileName);
        string? tokenizerClass = null;
        if (File.Exists(configPath))
        {
            var root = ConfigJson.ParseObject(File.ReadAllText(configPath), configPath);
            tokenizerClass = root["tokenizer_class"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        }
        var (kind, file) = tokenizerClass switch
        {
            "SiglipTokenizer" or "SiglipTokenizerFast" => (ClipTokenizerSpec.SiglipSentencePiece, SiglipTokenizerFile),
            "GemmaTokenizer" or "GemmaTokenizerFast" or "Siglip2Tokenizer" => (ClipTokenizerSpec.GemmaSentencePiece, GemmaTokenizerFile),
            _ when File.Exists(Path.Combine(folder, SiglipTokenizerFile)) => (ClipTokenizerSpec.SiglipSentencePiece, SiglipTokenizerFile),
            _ when File.Exists(Path.Combine(folder, GemmaTokenizerFile)) => (ClipTokenizerSpec.GemmaSentencePiece, GemmaTokenizerFile),
            _ => ((string?)null, (string?)null),
        };
        if (kind is null || file is null)
            return null;
        var path = Path.Combine(folder, file);
        if (!File.Exists(path))
            throw new FileNotFoundException($"'{configPath}' names the tokenizer {tokenizerClass}, whose SentencePiece file {file} is not in '{folder}'.", path);
        return new CheckpointTokenizer(kind, file, File.ReadAllBytes(path));
    }

    /// <summary>
    /// The image preprocessing of <c>preprocessor_config.json</c> (defaults: SigLIP's at the model's resolution): a square
    /// bicubic resize to the model's side, no crop, mean and std per channel; always converted to RGB first, as the
    /// processor (<c>do_convert_rgb</c>) and the zero-shot pipeline's image loading do.
    /// </summary>
    /// <exception cref="NotSupportedException">Another size, filter or crop than this library's resize reproduces.</exception>
    internal static ClipPreprocessSettings ReadPreprocess(string folder, ClipConfig config)
    {
        var path = Path.Combine(folder, PreprocessorFileName);
        var settings = DefaultPreprocess(config);
        if (!File.Exists(path))
            return settings;
        var root = ConfigJson.ParseObject(File.ReadAllText(path), path);
        bool Flag(string name, bool fallback) => root[name] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : fallback;
        float[] Triple(string name, float[] fallback)
        {
            if (root[name] is not JsonArray array) return fallback;
            var values = array.Select(n => n?.GetValue<float>() ?? float.NaN).ToArray();
            return values.Length == 3 && values.All(float.IsFinite)
                ? values
                : throw new InvalidDataException($"'{path}': {name} must hold 3 numbers (R, G, B).");
        }
        if (!Flag("do_resize", true) || Flag("do_center_crop", false))
            throw new NotSupportedException($"'{path}': only a square resize to the model's side without a crop is supported (SigLIP's).");
        if (root["resample"] is JsonValue resample && resample.GetValue<int>() != 3)
            throw new NotSupportedException($"'{path}': resample {resample} is not supported; PIL's bicubic (3) is.");
        if (root["size"] is JsonObject size)
        {
            int? height = size["height"]?.GetValue<int>(), width = size["width"]?.GetValue<int>();
            if (height != config.ImageResolution || width != config.ImageResolution)
                throw new NotSupportedException($"'{path}': size {size.ToJsonString()} is not the model's {config.ImageResolution} × {config.ImageResolution}.");
        }
        if (Flag("do_rescale", true) && root["rescale_factor"] is JsonValue factor && Math.Abs(factor.GetValue<double>() * 255 - 1) > 1e-6)
            throw new NotSupportedException($"'{path}': rescale_factor {factor} is not 1/255.");
        if (!Flag("do_rescale", true))
            throw new NotSupportedException($"'{path}': do_rescale false (pixels in 0..255) is not supported.");
        return Flag("do_normalize", true)
            ? settings with { Mean = Triple("image_mean", settings.Mean), Std = Triple("image_std", settings.Std) }
            : settings with { Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
    }

    // The tensors of the weights file, or of every shard the index lists; the origin names them for messages.
    private static (Dictionary<string, StateTensor> Tensors, string Origin) ReadWeights(string path, string folder)
    {
        if (File.Exists(path))
            return (SafetensorsReader.Read(path), $"'{path}'");
        var single = Path.Combine(folder, HuggingFaceClip.WeightsFileName);
        if (File.Exists(single))
            return (SafetensorsReader.Read(single), $"'{single}'");
        var index = Path.Combine(folder, IndexFileName);
        if (!File.Exists(index))
            throw new FileNotFoundException($"The SigLIP folder '{folder}' has neither {HuggingFaceClip.WeightsFileName} nor {IndexFileName}.", single);
        return (ReadShards(index, folder), $"'{index}'");
    }

    /// <summary>
    /// The tensors of a sharded checkpoint: each shard the index's <c>weight_map</c> names is read once, and every
    /// tensor must be in the shard the map says (a missing shard or tensor is named).
    /// </summary>
    internal static Dictionary<string, StateTensor> ReadShards(string indexPath, string folder)
    {
        var root = ConfigJson.ParseObject(File.ReadAllText(indexPath), indexPath);
        if (root["weight_map"] is not JsonObject map || map.Count == 0)
            throw new InvalidDataException($"'{indexPath}' has no weight_map.");
        var byFile = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (tensor, node) in map)
        {
            var file = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            if (file is null || !Models.ClipModelInfo.IsPlainFileName(file))
                throw new InvalidDataException($"'{indexPath}': weight_map entry '{tensor}' must name a shard file in the folder.");
            if (!byFile.TryGetValue(file, out var names)) byFile[file] = names = [];
            names.Add(tensor);
        }
        var tensors = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        foreach (var (file, names) in byFile)
        {
            var shardPath = Path.Combine(folder, file);
            if (!File.Exists(shardPath))
                throw new FileNotFoundException($"Shard '{file}' listed in '{indexPath}' does not exist.", shardPath);
            var shard = SafetensorsReader.Read(shardPath);
            foreach (var name in names)
                tensors[name] = shard.TryGetValue(name, out var t)
                    ? t
                    : throw new InvalidDataException($"'{indexPath}' puts '{name}' in '{file}', which does not hold it.");
        }
        return tensors;
    }

    private static string ConfigPath(string path)
    {
        var folder = FolderOf(path) ?? throw new FileNotFoundException($"The SigLIP checkpoint '{path}' does not exist.", path);
        var configPath = Path.Combine(folder, HuggingFaceClipConfig.FileName);
        return File.Exists(configPath) ? configPath : throw new FileNotFoundException($"'{folder}' has no {HuggingFaceClipConfig.FileName}.", configPath);
    }

    // The folder of a checkpoint given as a folder or as one of its .safetensors files; null when neither exists.
    private static string? FolderOf(string path)
    {
        if (string.IsNullOrEmpty(path)) return null;
        if (Directory.Exists(path)) return path;
        return File.Exists(path) && path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? Path.GetDirectoryName(Path.GetFullPath(path))
            : null;
    }
}

/// <summary>
/// The tokenizer a model brings: its kind (one of <see cref="ClipTokenizerSpec"/>'s) and, for a kind whose vocabulary is a
/// file (SentencePiece), the file's name (kept in the exported folder) and bytes; null for CLIP's built-in BPE.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (fine-tuning a SigLIP tokenizes with its checkpoint's tokenizer and saves it)
internal sealed record CheckpointTokenizer(string Kind, string? FileName, byte[]? FileBytes)
{
    /// <summary>CLIP's byte-level BPE (its vocabulary is built into this package).</summary>
    public static CheckpointTokenizer ClipBpe { get; } = new(ClipTokenizerSpec.ClipBpe, null, null);

    /// <summary>The encoder of this tokenizer (one context row per text).</summary>
    public ContextEncoder CreateEncoder() => ClipTokenizerSpec.CreateEncoder(Kind, FileBytes, FileName);
}
