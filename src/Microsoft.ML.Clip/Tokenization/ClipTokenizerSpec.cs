using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>Encodes one text into one context row (the destination's length) and says whether it was cut.</summary>
/// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
internal delegate bool ContextEncoder(string text, Span<long> destination, ClipTruncation truncation);

/// <summary>
/// A self-contained description of a model's tokenizer: what a saved text pipeline carries through the data (as JSON in
/// <c>__clip_tokenizer</c>, read by the <c>Microsoft.ML.Clip.Tokenize.v2</c> mapping), so that a fresh process tokenizes
/// with the model's own tokenizer and context length, with nothing registered and no model folder. E.g.
/// <c>{"kind":"clip-bpe","context_length":77,"truncation":"truncate"}</c>.
/// </summary>
/// <remarks>
/// <para>The contract: <see cref="Kind"/> selects the tokenizer; every kind has <see cref="ContextLength"/> and
/// <see cref="Truncation"/>. A kind whose vocabulary is a file of the model folder (SentencePiece's <c>spiece.model</c>,
/// WordPiece's <c>vocab.txt</c>) names it in <see cref="File"/> and embeds its bytes in <see cref="FileBase64"/>, so the
/// saved pipeline needs no folder. A new kind adds a case to <see cref="CreateEncoder"/> (and any members of its own,
/// optional for the others) without a new contract name.</para>
/// <para>A member or kind this version does not know fails the load with a message saying so, rather than tokenizing
/// differently from the model.</para>
/// </remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ClipTokenizerSpec
{
    /// <summary>The kind of openai/CLIP's byte-level BPE (<see cref="ClipTokenizer"/>, vocabulary embedded in this package).</summary>
    public const string ClipBpe = "clip-bpe";

    /// <summary>The tokenizer: <see cref="ClipBpe"/> is the only kind this version knows.</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = ClipBpe;

    /// <summary>Ids per row (the text encoder's <c>input_ids</c> length).</summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = ClipTokenizer.DefaultContextLength;

    /// <summary><c>truncate</c> or <c>throw</c> (<see cref="ClipTruncation"/>).</summary>
    [JsonPropertyName("truncation")] public string Truncation { get; init; } = TruncateName;

    /// <summary>For a kind with a vocabulary file: its name in the model folder; null for <see cref="ClipBpe"/>.</summary>
    [JsonPropertyName("file")] public string? File { get; init; }

    /// <summary>For a kind with a vocabulary file: its bytes, base64; null for <see cref="ClipBpe"/>.</summary>
    [JsonPropertyName("file_base64")] public string? FileBase64 { get; init; }

    private const string TruncateName = "truncate", ThrowName = "throw";

    /// <summary>The truncation as the enum.</summary>
    [JsonIgnore] public ClipTruncation TruncationMode => Truncation == ThrowName ? ClipTruncation.Throw : ClipTruncation.Truncate;

    /// <summary>The spec of <paramref name="info"/>'s tokenizer with <paramref name="truncation"/>.</summary>
    public static ClipTokenizerSpec For(ClipModelInfo info, ClipTruncation truncation) => new()
    {
        Kind = ClipBpe,
        ContextLength = info.Tokenizer.ContextLength,
        Truncation = truncation == ClipTruncation.Throw ? ThrowName : TruncateName,
    };

    /// <summary>The JSON a pipeline stores.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Reads and checks a spec stored by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not a spec this version can use (the message says why).</exception>
    public static ClipTokenizerSpec Parse(string json)
    {
        ClipTokenizerSpec? spec;
        try
        {
            spec = JsonSerializer.Deserialize<ClipTokenizerSpec>(json, JsonOptions);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The tokenizer spec stored in this pipeline cannot be read by this version of Microsoft.ML.Clip ({e.Message}).", e);
        }
        if (spec is null || spec.ContextLength < 2 || spec.Truncation is not (TruncateName or ThrowName))
            throw new InvalidDataException($"The tokenizer spec stored in this pipeline is invalid: {Shorten(json)}");
        return spec;
    }

    /// <summary>The encoder of this kind.</summary>
    public ContextEncoder CreateEncoder() => Kind switch
    {
        ClipBpe => ClipTokenizer.Default.EncodeToContext,
        _ => throw new InvalidDataException($"The tokenizer kind '{Kind}' is not known to this version of Microsoft.ML.Clip; update the package."),
    };

    // The JSON never holds the vocabulary file in the message of an error.
    private static string Shorten(string json) => json.Length <= 200 ? json : json[..199] + "…";

    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}
