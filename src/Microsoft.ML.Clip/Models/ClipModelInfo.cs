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

    /// <summary>
    /// The SHA-256 (lower-case hex) of every other file of the folder, by path relative to it (<c>/</c>-separated), as the
    /// writer recorded them: loaders check each file they open against it and refuse a folder whose files do not belong
    /// together. Null in folders written before it was recorded (they load unchecked).
    /// </summary>
    [JsonPropertyName("files")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Files { get; init; }

    /// <summary>The <see cref="VisionKind"/> values: a ViT, a ModifiedResNet, or a frozen external encoder with a trained projection.</summary>
    internal static readonly string[] VisionKinds = ["vit", "resnet", "onnx-features"];

    /// <summary>The <see cref="ClipPreprocessInfo.Interpolation"/> values this version resizes with (PIL's antialiased bicubic).</summary>
    internal static readonly string[] Interpolations = ["bicubic"];

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    // Reading is strict: a field this version does not know is a mistake to report, not to ignore (a newer format has a newer
    // format_version, which is checked first).
    private static readonly JsonSerializerOptions StrictJsonOptions = new()
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        AllowTrailingCommas = false,
        NumberHandling = JsonNumberHandling.Strict,
    };

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

    /// <summary>Writes the JSON to <paramref name="stream"/>.</summary>
    internal void WriteTo(Stream stream) => JsonSerializer.Serialize(stream, this, JsonOptions);

    /// <summary>Reads and validates the JSON at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">The file is not valid JSON, has an unknown format version, a field of the wrong
    /// type, an unknown field or an impossible value (the message names the file and the field).</exception>
    public static ClipModelInfo Load(string path)
    {
        var text = File.ReadAllText(path);
        ClipModelInfo? info;
        try
        {
            CheckFormatVersion(text, path);
            info = JsonSerializer.Deserialize<ClipModelInfo>(text, StrictJsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid {FileName}: {Describe(e)}", e);
        }
        if (info is null)
            throw new InvalidDataException($"'{path}' is empty (null).");
        info.Validate(path);
        return info;
    }

    // The version first: a file of a newer format may have fields this version does not know, and should say so.
    private static void CheckFormatVersion(string text, string path)
    {
        using var document = JsonDocument.Parse(text);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{path}' is not a valid {FileName}: expected a JSON object, got {document.RootElement.ValueKind}.");
        if (!document.RootElement.TryGetProperty("format_version", out var version))
            throw new InvalidDataException($"'{path}': field 'format_version' is missing.");
        if (version.ValueKind != JsonValueKind.Number || !version.TryGetInt32(out var v))
            throw new InvalidDataException($"'{path}': field 'format_version' must be an integer, got {version.GetRawText()}.");
        if (v < 1 || v > CurrentFormatVersion)
            throw new InvalidDataException($"'{path}' has format_version {v}; this library reads versions 1..{CurrentFormatVersion}.");
    }

    // System.Text.Json's message without its line/byte positions, led by the field's name.
    private static string Describe(JsonException e)
    {
        var field = e.Path is { Length: > 2 } p ? p.TrimStart('$', '.') : null;
        var message = e.Message;
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return field is null ? message : $"field '{field}': {message}";
    }

    /// <summary>Checks every field's value against the format (docs/formats.md); <paramref name="origin"/> names the file in the message.</summary>
    /// <exception cref="InvalidDataException">A value is missing or not allowed (the message names the file and the field).</exception>
    public void Validate(string origin)
    {
        void Fail(string field, string problem) => throw new InvalidDataException($"'{origin}': field '{field}' {problem}.");
        static string List(IEnumerable<string> values) => string.Join(", ", values.Select(v => $"'{v}'"));

        if (FormatVersion < 1 || FormatVersion > CurrentFormatVersion)
            throw new InvalidDataException($"'{origin}' has format_version {FormatVersion}; this library reads versions 1..{CurrentFormatVersion}.");
        if (EmbedDim <= 0) Fail("embed_dim", $"must be positive, got {EmbedDim}");
        if (ImageResolution <= 0 || ImageResolution > MaxImageResolution) Fail("image_resolution", $"must be in 1..{MaxImageResolution}, got {ImageResolution}");
        if (!float.IsFinite(LogitScale)) Fail("logit_scale", $"must be a finite number, got {LogitScale}");
        if (Family is not (ClipFamily or SiglipFamily)) Fail("family", $"has the unknown value '{Family}' (expected '{ClipFamily}' or '{SiglipFamily}')");
        if (LogitBias is float bias && !float.IsFinite(bias)) Fail("logit_bias", $"must be a finite number, got {bias}");
        if (Family == SiglipFamily && LogitBias is null) Fail("logit_bias", "is missing: a sigmoid (siglip) model needs its learned bias");
        if (Family == ClipFamily && LogitBias is not null) Fail("logit_bias", "is only for family 'siglip' (a softmax model has no bias)");
        if (TextSequence is not (FixedSequence or DynamicSequence)) Fail("text_sequence", $"has the unknown value '{TextSequence}' (expected '{FixedSequence}' or '{DynamicSequence}')");
        if (VisionKind is null || !VisionKinds.Contains(VisionKind)) Fail("vision_kind", $"has the unknown value '{VisionKind}' (expected one of {List(VisionKinds)})");
        if (ImageModelFile is null || !IsPlainFileName(ImageModelFile) || ImageModelFile == FileName) Fail("image_model", $"must be a file name inside the model folder, got '{ImageModelFile}'");
        if (TextModelFile is null || !IsPlainFileName(TextModelFile) || TextModelFile == FileName) Fail("text_model", $"must be a file name inside the model folder, got '{TextModelFile}'");
        if (ImageModelFile == TextModelFile) Fail("text_model", $"names the same file as image_model ('{TextModelFile}')");
        ValidatePreprocess(Fail);
        ValidateTokenizer(Fail, List);
        if (Files is not null)
        {
            foreach (var (name, hash) in Files)
            {
                if (!IsRelativeFilePath(name)) Fail($"files.{name}", "must name a file inside the model folder (a relative path without '..')");
                if (hash is null || hash.Length != 64 || !hash.All(char.IsAsciiHexDigitLower)) Fail($"files.{name}", $"must be a SHA-256 as 64 lower-case hex digits, got '{hash}'");
            }
        }
    }

    // The largest image side accepted (PIL-style resizing of anything larger is a mistake, not a model).
    private const int MaxImageResolution = 8192;

    // The longest context accepted: a token row is allocated per text, so an absurd length is refused here, not in an allocation.
    internal const int MaxContextLength = 1 << 16;

    private void ValidatePreprocess(Action<string, string> fail)
    {
        var p = Preprocess;
        if (p is null) { fail("preprocess", "must be an object"); return; }
        if (p.ResizeMode is not (ClipPreprocessInfo.ShortestSideCenterCrop or ClipPreprocessInfo.Squash))
            fail("preprocess.resize_mode", $"has the unknown value '{p.ResizeMode}' (expected '{ClipPreprocessInfo.ShortestSideCenterCrop}' or '{ClipPreprocessInfo.Squash}')");
        if (p.Interpolation is null || !Interpolations.Contains(p.Interpolation))
            fail("preprocess.interpolation", $"has the unknown value '{p.Interpolation}' (this version resizes with {string.Join(", ", Interpolations.Select(i => $"'{i}'"))})");
        if (p.Mean is not { Length: 3 } || p.Mean.Any(v => !float.IsFinite(v)))
            fail("preprocess.mean", "needs 3 finite values (R, G, B)");
        if (p.Std is not { Length: 3 } || p.Std.Any(v => !float.IsFinite(v) || v <= 0))
            fail("preprocess.std", "needs 3 finite values > 0 (R, G, B)");
    }

    private void ValidateTokenizer(Action<string, string> fail, Func<IEnumerable<string>, string> list)
    {
        var t = Tokenizer;
        if (t is null) { fail("tokenizer", "must be an object"); return; }
        if (!Tokenization.ClipTokenizerSpec.IsKnownKind(t.Kind))
            fail("tokenizer.kind", $"has the unknown value '{t.Kind}' (this version knows {list(Tokenization.ClipTokenizerSpec.KnownKinds)})");
        if (t.File is { } file && !IsPlainFileName(file))
            fail("tokenizer.file", $"must be a file name inside the model folder, got '{file}'");
        if (t.File is { } own && (own == FileName || own == ImageModelFile || own == TextModelFile))
            fail("tokenizer.file", $"names another file of the model ('{own}')");
        if (Tokenization.ClipTokenizerSpec.NeedsFile(t.Kind) && t.File is null)
            fail("tokenizer.file", $"is missing: tokenizer kind '{t.Kind}' needs its vocabulary file");
        if (t.ContextLength < 2 || t.ContextLength > MaxContextLength)
            fail("tokenizer.context_length", $"must be in 2..{MaxContextLength}, got {t.ContextLength}");
        if (t.VocabSize <= 0) fail("tokenizer.vocab_size", $"must be positive, got {t.VocabSize}");
        if (string.IsNullOrEmpty(t.Vocab)) fail("tokenizer.vocab", "must name the vocabulary");
        if (t.Kind == Tokenization.ClipTokenizerSpec.ClipBpe)
        {
            // openai/CLIP's BPE is embedded in this package: the model must agree with it, id for id.
            if (t.File is not null) fail("tokenizer.file", $"must be absent for kind '{t.Kind}' (its vocabulary is built in)");
            if (t.Vocab != ClipTokenizerInfo.ClipBpeVocabulary) fail("tokenizer.vocab", $"has the unknown value '{t.Vocab}' (kind '{t.Kind}' has the vocabulary '{ClipTokenizerInfo.ClipBpeVocabulary}')");
            if (t.StartOfTextId != Tokenization.ClipTokenizer.StartOfTextId) fail("tokenizer.sot_id", $"must be {Tokenization.ClipTokenizer.StartOfTextId} for '{ClipTokenizerInfo.ClipBpeVocabulary}', got {t.StartOfTextId}");
            if (t.EndOfTextId != Tokenization.ClipTokenizer.EndOfTextId) fail("tokenizer.eot_id", $"must be {Tokenization.ClipTokenizer.EndOfTextId} for '{ClipTokenizerInfo.ClipBpeVocabulary}', got {t.EndOfTextId}");
            if (t.PadId != 0) fail("tokenizer.pad_id", $"must be 0 for '{ClipTokenizerInfo.ClipBpeVocabulary}', got {t.PadId}");
        }
        if (t.Lowercase is not null && t.Kind != Tokenization.ClipTokenizerSpec.WordPiece)
            fail("tokenizer.lowercase", $"is only for kind '{Tokenization.ClipTokenizerSpec.WordPiece}', not '{t.Kind}'");
        if (t.EndOfTextId < 0 || t.EndOfTextId >= t.VocabSize) fail("tokenizer.eot_id", $"must be an id below vocab_size {t.VocabSize}, got {t.EndOfTextId}");
        if (t.StartOfTextId < -1 || t.StartOfTextId >= t.VocabSize) fail("tokenizer.sot_id", $"must be an id below vocab_size {t.VocabSize} (or -1: none), got {t.StartOfTextId}");
        if (t.PadId < 0 || t.PadId >= t.VocabSize) fail("tokenizer.pad_id", $"must be an id below vocab_size {t.VocabSize}, got {t.PadId}");
    }

    /// <summary>Whether <paramref name="name"/> names a file directly inside the model folder (no folder part, not <c>..</c>).</summary>
    internal static bool IsPlainFileName(string name)
        => name.Length > 0 && name == Path.GetFileName(name) && name is not ("." or "..") && name.IndexOfAny(['/', '\\', '\0']) < 0;

    /// <summary>Whether <paramref name="path"/> names a file below the model folder: <c>/</c>-separated plain names.</summary>
    internal static bool IsRelativeFilePath(string path) => path.Length > 0 && path.Split('/').All(IsPlainFileName);
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

    /// <summary>The <see cref="Vocab"/> of kind <c>clip-bpe</c>: openai/CLIP's <c>bpe_simple_vocab_16e6.txt.gz</c>.</summary>
    internal const string ClipBpeVocabulary = "clip-bpe-16e6";

    /// <summary>For a <c>wordpiece</c> tokenizer: whether text is lower-cased and stripped of accents (an uncased BERT, as
    /// all-MiniLM-L6-v2); null (absent) means true. Not used by the other kinds.</summary>
    [JsonPropertyName("lowercase")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Lowercase { get; init; }

    /// <summary>Vocabulary; <c>clip-bpe-16e6</c> is openai/CLIP's <c>bpe_simple_vocab_16e6.txt.gz</c>; for a tokenizer with a file, its name.</summary>
    [JsonPropertyName("vocab")] public string Vocab { get; init; } = ClipBpeVocabulary;

    /// <summary>Context length L of <c>input_ids</c>.</summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = 77;

    /// <summary>Vocabulary size of the text tower.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 49408;

    /// <summary>Start-of-text id; -1 for a tokenizer without one (SigLIP's).</summary>
    [JsonPropertyName("sot_id")] public int StartOfTextId { get; init; } = 49406;

    /// <summary>End-of-text id; CLIP's text tower reads its feature at this token (argmax of the ids), SigLIP's (eos = pad) at the last position.</summary>
    [JsonPropertyName("eot_id")] public int EndOfTextId { get; init; } = 49407;
}
