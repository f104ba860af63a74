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
/// saved pipeline needs no folder. A new kind adds an entry to <see cref="Kinds"/> (and any members of its own,
/// optional for the others) without a new contract name.</para>
/// <para>A member or kind this version does not know fails the load with a message saying so, rather than tokenizing
/// differently from the model.</para>
/// </remarks>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ClipTokenizerSpec
{
    /// <summary>The kind of openai/CLIP's byte-level BPE (<see cref="ClipTokenizer"/>, vocabulary embedded in this package).</summary>
    public const string ClipBpe = "clip-bpe";

    /// <summary>The kind of BERT's WordPiece (<see cref="BertWordPieceTokenizer"/>) over the model's <c>vocab.txt</c>:
    /// <c>[CLS]</c> … <c>[SEP]</c>, padded with <c>[PAD]</c>; lower-cased and stripped of accents unless <see cref="Lowercase"/> is false.</summary>
    public const string WordPiece = "wordpiece";

    /// <summary>
    /// Every tokenizer kind this version knows: whether its vocabulary is a file of the model folder, and how to make its
    /// encoder from that file's bytes (and the kind's own settings: <see cref="Lowercase"/>). A new kind is one entry here
    /// (and its tokenizer class); <c>clip_model.json</c>'s <c>tokenizer.kind</c> and the saved pipelines' spec both go
    /// through this table.
    /// </summary>
    private static readonly Dictionary<string, (bool NeedsFile, Func<byte[]?, bool?, ContextEncoder> Create)> Kinds = new(StringComparer.Ordinal)
    {
        [ClipBpe] = (false, (_, _) => ClipTokenizer.Default.EncodeToContext),
        [WordPiece] = (true, (bytes, lowercase) => BertWordPieceTokenizer.FromVocabulary(bytes!, lowercase ?? true).EncodeToContext),
    };

    /// <summary>The kinds this version knows.</summary>
    public static IEnumerable<string> KnownKinds => Kinds.Keys;

    /// <summary>Whether <paramref name="kind"/> is one of <see cref="KnownKinds"/>.</summary>
    public static bool IsKnownKind(string? kind) => kind is not null && Kinds.ContainsKey(kind);

    /// <summary>Whether <paramref name="kind"/>'s vocabulary is a file of the model folder.</summary>
    public static bool NeedsFile(string kind) => Kinds.TryGetValue(kind, out var entry) && entry.NeedsFile;

    /// <summary>The tokenizer: one of <see cref="KnownKinds"/>.</summary>
    [JsonPropertyName("kind")] public string Kind { get; init; } = ClipBpe;

    /// <summary>Ids per row (the text encoder's <c>input_ids</c> length).</summary>
    [JsonPropertyName("context_length")] public int ContextLength { get; init; } = ClipTokenizer.DefaultContextLength;

    /// <summary><c>truncate</c> or <c>throw</c> (<see cref="ClipTruncation"/>).</summary>
    [JsonPropertyName("truncation")] public string Truncation { get; init; } = TruncateName;

    /// <summary>For a kind with a vocabulary file: its name in the model folder; null for <see cref="ClipBpe"/>.</summary>
    [JsonPropertyName("file")] public string? File { get; init; }

    /// <summary>For a kind with a vocabulary file: its bytes, base64; null for <see cref="ClipBpe"/>.</summary>
    [JsonPropertyName("file_base64")] public string? FileBase64 { get; init; }

    /// <summary>For <see cref="WordPiece"/>: whether text is lower-cased and stripped of accents (an uncased model); null
    /// (absent) means true, bert-base-uncased's. Not used by the other kinds.</summary>
    [JsonPropertyName("lowercase")] public bool? Lowercase { get; init; }

    private const string TruncateName = "truncate", ThrowName = "throw";

    /// <summary>The truncation as the enum.</summary>
    [JsonIgnore] public ClipTruncation TruncationMode => Truncation == ThrowName ? ClipTruncation.Throw : ClipTruncation.Truncate;

    /// <summary>
    /// The spec of the tokenizer of the model in <paramref name="folder"/> described by <paramref name="info"/>, with
    /// <paramref name="truncation"/>; a vocabulary file is read from the folder and embedded.
    /// </summary>
    /// <exception cref="FileNotFoundException">The tokenizer file named in <c>clip_model.json</c> is missing.</exception>
    public static ClipTokenizerSpec For(ClipModelInfo info, string? folder, ClipTruncation truncation) => new()
    {
        Kind = info.Tokenizer.Kind,
        ContextLength = info.Tokenizer.ContextLength,
        Truncation = truncation == ClipTruncation.Throw ? ThrowName : TruncateName,
        File = info.Tokenizer.File,
        FileBase64 = info.Tokenizer.File is { } file ? Convert.ToBase64String(ReadTokenizerFile(folder, file)) : null,
        Lowercase = info.Tokenizer.Lowercase,
    };

    /// <summary>The bytes of the tokenizer file <paramref name="file"/> of the model folder <paramref name="folder"/>.</summary>
    /// <exception cref="FileNotFoundException">The file is missing (or there is no folder to read it from).</exception>
    public static byte[] ReadTokenizerFile(string? folder, string file)
    {
        var path = folder is null ? file : Path.Combine(folder, file);
        if (folder is null || !System.IO.File.Exists(path))
            throw new FileNotFoundException($"Tokenizer file '{path}' named in {ClipModelInfo.FileName} does not exist.", path);
        return System.IO.File.ReadAllBytes(path);
    }

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

    /// <summary>The encoder of this kind, over the embedded file bytes.</summary>
    /// <exception cref="InvalidDataException">The kind is unknown, or its file is missing or unreadable.</exception>
    public ContextEncoder CreateEncoder()
    {
        byte[]? bytes = null;
        if (FileBase64 is { } base64)
        {
            try { bytes = Convert.FromBase64String(base64); }
            catch (FormatException e) { throw new InvalidDataException($"The tokenizer file '{File}' stored in this pipeline is not valid base64.", e); }
        }
        return CreateEncoder(Kind, bytes, File, Lowercase);
    }

    /// <summary>The encoder of <paramref name="kind"/> over its vocabulary file's <paramref name="bytes"/> (null for a kind without one).</summary>
    /// <exception cref="InvalidDataException">The kind is unknown, or needs a file that is not given.</exception>
    /// <param name="kind">One of <see cref="KnownKinds"/>.</param>
    /// <param name="bytes">The vocabulary file's bytes; null for a kind without one.</param>
    /// <param name="fileName">The file's name, for messages.</param>
    /// <param name="lowercase">The kind's lower-casing setting (<see cref="Lowercase"/>); null for its default.</param>
    public static ContextEncoder CreateEncoder(string kind, byte[]? bytes, string? fileName, bool? lowercase = null)
    {
        if (!Kinds.TryGetValue(kind, out var entry))
            throw new InvalidDataException($"The tokenizer kind '{kind}' is not known to this version of Microsoft.ML.Clip; update the package.");
        if (entry.NeedsFile && bytes is null)
            throw new InvalidDataException($"The tokenizer kind '{kind}' needs its file{(fileName is null ? "" : $" '{fileName}'")}.");
        return entry.Create(bytes, lowercase);
    }

    // The JSON never holds the vocabulary file in the message of an error.
    private static string Shorten(string json) => json.Length <= 200 ? json : json[..199] + "…";

    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}
