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

    /// <summary>The format version this library writes and reads.</summary>
    public const int CurrentFormatVersion = 1;

    /// <summary>Format version of the file.</summary>
    [JsonPropertyName("format_version")] public int FormatVersion { get; init; } = CurrentFormatVersion;

    /// <summary>Size D of the joint embedding space.</summary>
    [JsonPropertyName("embed_dim")] public int EmbedDim { get; init; }

    /// <summary>Side of the square image input (pixels).</summary>
    [JsonPropertyName("image_resolution")] public int ImageResolution { get; init; }

    /// <summary>The learned temperature as stored (natural log): logits use <c>exp(LogitScale)</c>.</summary>
    [JsonPropertyName("logit_scale")] public float LogitScale { get; init; }

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
    }
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
        Mean = settings.Mean,
        Std = settings.Std,
    };

    /// <summary>The JSON name of <paramref name="mode"/>: the one mapping between the enum and the file format.</summary>
    internal static string ResizeModeName(ClipResizeMode mode) => mode == ClipResizeMode.Squash ? Squash : ShortestSideCenterCrop;

    /// <summary>The mode a (validated) JSON name stands for.</summary>
    internal static ClipResizeMode ToResizeMode(string name) => name == Squash ? ClipResizeMode.Squash : ClipResizeMode.ShortestSideCenterCrop;

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
    /// <summary>Vocabulary; <c>clip-bpe-16e6</c> is openai/CLIP's <c>bpe_simple_vocab_16e6.txt.gz</c>.</summary>
    [JsonPropertyName("vocab")] public string Vocab { get; init; } = "clip-bpe-16e6";

    /// <summary>Context length L of <c>input_ids</c>.</summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = 77;

    /// <summary>Vocabulary size of the text tower.</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 49408;

    /// <summary>Start-of-text id.</summary>
    [JsonPropertyName("sot_id")] public int StartOfTextId { get; init; } = 49406;

    /// <summary>End-of-text id; the text tower reads its feature at this token (argmax of the ids).</summary>
    [JsonPropertyName("eot_id")] public int EndOfTextId { get; init; } = 49407;
}
