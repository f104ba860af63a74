using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// The small JSON (<c>clip_model.json</c>) that travels with an exported image/text ONNX pair:
/// what the inference components need to use the graphs without the original checkpoint.
/// </summary>
public sealed record ClipModelInfo
{
    /// <summary>File name of the JSON inside a model folder.</summary>
    public const string FileName = "clip_model.json";

    /// <summary>The format version this library writes; it reads versions 1 to this one.</summary>
    /// <remarks>Version 2 added <see cref="Family"/>, <see cref="LogitBias"/>, <see cref="TextSequence"/>,
    /// <see cref="ClipPreprocessInfo.ConvertRgbFirst"/> and the tokenizer's <c>kind</c>, <c>file</c> and <c>pad_id</c>;
    /// a version 1 file reads as a CLIP model with those fields at their defaults.</remarks>
    public const int CurrentFormatVersion = 2;

    /// <summary>The <see cref="Family"/> of openai/CLIP's architecture (softmax zero-shot over <c>exp(logit_scale)</c> · cosine).</summary>
    public const string ClipFamily = "clip";

    /// <summary>The <see cref="Family"/> of Google's SigLIP (sigmoid: <c>exp(logit_scale)</c> · cosine + <c>logit_bias</c> per pair).</summary>
    public const string SiglipFamily = "siglip";

    /// <summary>The <see cref="TextSequence"/> of a text encoder whose <c>input_ids</c> are always [N, context_length].</summary>
    public const string FixedSequence = "fixed";

    /// <summary>The <see cref="TextSequence"/> of a text encoder that takes any length up to context_length (the runtime cuts
    /// each batch after its longest row: exact for encoders that ignore padding).</summary>
    public const string DynamicSequence = "dynamic";

    /// <summary>Format version of the file.</summary>
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Size D of the joint embedding space.</summary>
    [JsonPropertyName("embed_dim")] public int EmbedDim { get; init; }

    /// <summary>Side of the square image input (pixels).</summary>
    [JsonPropertyName("image_resolution")] public int ImageResolution { get; init; }

    /// <summary>The learned temperature as stored (natural log): logits use <c>exp(LogitScale)</c>.</summary>
    [JsonPropertyName("logit_scale")] public float LogitScale { get; init; }

    /// <summary>Model family: <see cref="ClipFamily"/> (default) or <see cref="SiglipFamily"/>.</summary>
    [JsonPropertyName("family")] public string Family { get; init; } = ClipFamily;

    /// <summary>The learned bias of a sigmoid model (SigLIP): the logit of a pair is <c>exp(LogitScale)</c> · cosine + this;
    /// null for softmax (CLIP) models.</summary>
    [JsonPropertyName("logit_bias")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public float? LogitBias { get; init; }

    /// <summary>How long the text encoder's <c>input_ids</c> rows are: <see cref="FixedSequence"/> (default) or <see cref="DynamicSequence"/>.</summary>
    [JsonPropertyName("text_sequence")] public string TextSequence { get; init; } = FixedSequence;

    /// <summary>Vision tower kind: <c>vit</c>, <c>resnet</c> or <c>onnx-features</c> (a frozen external encoder).</summary>
    [JsonPropertyName("vision_kind")] public string VisionKind { get; init; } = "vit";

    /// <summary>Preprocessing the image encoder expects.</summary>
    [JsonPropertyName("preprocess")] public ClipPreprocessInfo Preprocess { get; init; } = new();

    /// <summary>Tokenizer settings the text encoder expects.</summary>
    [JsonPropertyName("tokenizer")] public ClipTokenizerInfo Tokenizer { get; init; } = new();

    /// <summary>File name of the image encoder ONNX (<c>pixel_values</c> [N,3,R,R] → <c>image_embeds</c> [N,D]).</summary>
    [JsonPropertyName("image_model")] public string ImageModelFile { get; init; } = "image.onnx";

    /// <summary>File name of the text encoder ONNX (<c>input_ids</c> int64 [N,L] → <c>text_embeds</c> [N,D]).</summary>
    [JsonPropertyName("text_model")] public string TextModelFile { get; init; } = "text.onnx";

    /// <summary>Where the weights came from (free text, e.g. the checkpoint file name).</summary>
    [JsonPropertyName("source")] public string? Source { get; init; }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Preprocessing settings of <see cref="Preprocess"/> as the imaging API takes them.</summary>
    public ClipPreprocessSettings ToPreprocessSettings() => new()
    {
        Resolution = ImageResolution,
        ResizeMode = ClipPreprocessInfo.ToResizeMode(Preprocess.ResizeMode),
        Mean = Preprocess.Mean,
        Std = Preprocess.Std,
        ConvertRgbFirst = Preprocess.ConvertRgbFirst,
    };

    /// <summary>Writes the JSON to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllText(path, JsonSerializer.Serialize(this, JsonOptions));

    /// <summary>Reads and validates the JSON at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON, has an unknown format version or impossible values.</exception>
    public static ClipModelInfo Load(string path)
    {
        ClipModelInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<ClipModelInfo>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid {FileName}: {e.Message}", e);
        }
        if (info is null)
            throw new InvalidDataException($"'{path}' is empty.");
        info.Validate(path);
        return info;
    }

    /// <summary>Checks the values; <paramref name="origin"/> names the file in the message.</summary>
    public void Validate(string origin)
    {
        if (FormatVersion < 1 || FormatVersion > CurrentFormatVersion)
            throw new InvalidDataException($"'{origin}' has format_version {FormatVersion}; this library reads versions 1..{CurrentFormatVersion}.");
        if (EmbedDim <= 0)
            throw new InvalidDataException($"'{origin}': embed_dim must be positive, got {EmbedDim}.");
        if (ImageResolution <= 0)
            throw new InvalidDataException($"'{origin}': image_resolution must be positive, got {ImageResolution}.");
        if (Preprocess.Mean.Length != 3 || Preprocess.Std.Length != 3 || Preprocess.Std.Any(s => s <= 0))
            throw new InvalidDataException($"'{origin}': preprocess mean and std need 3 values each, std > 0.");
        if (Preprocess.ResizeMode is not (ClipPreprocessInfo.ShortestSideCenterCrop or ClipPreprocessInfo.Squash))
            throw new InvalidDataException($"'{origin}': unknown preprocess resize_mode '{Preprocess.ResizeMode}'.");
        if (Tokenizer.ContextLength < 2)
            throw new InvalidDataException($"'{origin}': tokenizer context_length must be at least 2, got {Tokenizer.ContextLength}.");
        if (Family is not (ClipFamily or SiglipFamily))
            throw new InvalidDataException($"'{origin}': unknown family '{Family}' (expected '{ClipFamily}' or '{SiglipFamily}').");
        if (LogitBias is float bias && !float.IsFinite(bias))
            throw new InvalidDataException($"'{origin}': logit_bias must be a finite number, got {bias}.");
        if (TextSequence is not (FixedSequence or DynamicSequence))
            throw new InvalidDataException($"'{origin}': unknown text_sequence '{TextSequence}' (expected '{FixedSequence}' or '{DynamicSequence}').");
        if (!Tokenization.ClipTokenizerSpec.IsKnownKind(Tokenizer.Kind))
            throw new InvalidDataException($"'{origin}': unknown tokenizer kind '{Tokenizer.Kind}' (this version knows {string.Join(", ", Tokenization.ClipTokenizerSpec.KnownKinds.Select(k => $"'{k}'"))}).");
        if (Tokenizer.File is { } file && !IsPlainFileName(file))
            throw new InvalidDataException($"'{origin}': tokenizer file must be a file name inside the model folder, got '{file}'.");
        if (Tokenization.ClipTokenizerSpec.NeedsFile(Tokenizer.Kind) && Tokenizer.File is null)
            throw new InvalidDataException($"'{origin}': tokenizer kind '{Tokenizer.Kind}' needs a tokenizer file.");
    }

    /// <summary>Whether <paramref name="name"/> names a file directly inside the model folder (no folder part, not <c>..</c>).</summary>
    internal static bool IsPlainFileName(string name)
        => name.Length > 0 && name == Path.GetFileName(name) && name is not ("." or "..") && name.IndexOfAny(['/', '\\']) < 0;
}

/// <summary>Preprocessing part of <see cref="ClipModelInfo"/>.</summary>
public sealed record ClipPreprocessInfo
{
    /// <summary>The <see cref="ResizeMode"/> of <see cref="ClipResizeMode.ShortestSideCenterCrop"/>.</summary>
    public const string ShortestSideCenterCrop = "shortest-side-center-crop";

    /// <summary>The <see cref="ResizeMode"/> of <see cref="ClipResizeMode.Squash"/>.</summary>
    public const string Squash = "squash";

    /// <summary><c>shortest-side-center-crop</c> (OpenAI) or <c>squash</c>.</summary>
    [JsonPropertyName("resize_mode")] public string ResizeMode { get; init; } = ShortestSideCenterCrop;

    /// <summary>The JSON form of <paramref name="settings"/> (its resolution is <see cref="ClipModelInfo.ImageResolution"/>).</summary>
    public static ClipPreprocessInfo From(ClipPreprocessSettings settings) => new()
    {
        ResizeMode = ResizeModeName(settings.ResizeMode),
        ConvertRgbFirst = settings.ConvertRgbFirst,
        Mean = settings.Mean,
        Std = settings.Std,
    };

    /// <summary>The JSON name of <paramref name="mode"/>: the one mapping between the enum and the file format.</summary>
    internal static string ResizeModeName(ClipResizeMode mode) => mode == ClipResizeMode.Squash ? Squash : ShortestSideCenterCrop;

    /// <summary>The mode a (validated) JSON name stands for.</summary>
    internal static ClipResizeMode ToResizeMode(string name) => name == Squash ? ClipResizeMode.Squash : ClipResizeMode.ShortestSideCenterCrop;

    /// <summary>
    /// Convert to RGB before resizing (an alpha channel is dropped, as Hugging Face's SigLIP image processor does) rather
    /// than after (openai/CLIP resizes the image as stored, then converts). The two differ only for images with alpha or a palette.
    /// </summary>
    [JsonPropertyName("convert_rgb_first")] public bool ConvertRgbFirst { get; init; }

    /// <summary>Resampling filter; <c>bicubic</c> (PIL's, antialiased).</summary>
    [JsonPropertyName("interpolation")] public string Interpolation { get; init; } = "bicubic";

    /// <summary>Per-channel mean (RGB).</summary>
    [JsonPropertyName("mean")] public float[] Mean { get; init; } = ClipPreprocessSettings.OpenAIMean;

    /// <summary>Per-channel standard deviation (RGB).</summary>
    [JsonPropertyName("std")] public float[] Std { get; init; } = ClipPreprocessSettings.OpenAIStd;
}

/// <summary>Tokenizer part of <see cref="ClipModelInfo"/>.</summary>
public sealed record ClipTokenizerInfo
{
    /// <summary>Which tokenizer: <c>clip-bpe</c> (openai/CLIP's byte-level BPE, the default) or a kind whose vocabulary is
    /// <see cref="File"/> in the model folder (<c>wordpiece</c>: BERT's, over <c>vocab.txt</c>).</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = Tokenization.ClipTokenizerSpec.ClipBpe;

    /// <summary>The tokenizer's vocabulary or model file in the model folder (e.g. <c>spiece.model</c>, <c>vocab.txt</c>);
    /// null for <c>clip-bpe</c>, whose vocabulary is embedded in this package.</summary>
    [JsonPropertyName("file")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? File { get; init; }

    /// <summary>The id that fills a row after the text (CLIP: 0).</summary>
    [JsonPropertyName("pad_id")] public int PadId { get; init; }

    /// <summary>For a <c>wordpiece</c> tokenizer: whether text is lower-cased and stripped of accents (an uncased BERT, as
    /// all-MiniLM-L6-v2); null (absent) means true. Not used by the other kinds.</summary>
    [JsonPropertyName("lowercase")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Lowercase { get; init; }

    /// <summary>Vocabulary; <c>clip-bpe-16e6</c> is openai/CLIP's <c>bpe_simple_vocab_16e6.txt.gz</c>; for a tokenizer with a file, its name.</summary>
    [JsonPropertyName("vocab")] public string Vocab { get; init; } = "clip-bpe-16e6";

    /// <summary>Context length L of <c>input_ids</c>.</summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = 77;

    /// <summary>Vocabulary size of the text tower.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 49408;

    /// <summary>Start-of-text id; -1 for a tokenizer without one (SigLIP's).</summary>
    [JsonPropertyName("sot_id")] public int StartOfTextId { get; init; } = 49406;

    /// <summary>End-of-text id; CLIP's text tower reads its feature at this token (argmax of the ids), SigLIP's (eos = pad) at the last position.</summary>
    [JsonPropertyName("eot_id")] public int EndOfTextId { get; init; } = 49407;
}
