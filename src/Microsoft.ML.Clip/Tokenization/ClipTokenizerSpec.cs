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

    /// <summary>The kind of SigLIP's tokenizer (<see cref="SiglipTokenizer"/>) over the model's SentencePiece unigram <c>spiece.model</c>.</summary>
    public const string SiglipSentencePiece = "siglip-sentencepiece";

    /// <summary>The kind of SigLIP 2's Gemma tokenizer (<see cref="GemmaTokenizer"/>) over the model's SentencePiece BPE <c>tokenizer.model</c>.</summary>
    public const string GemmaSentencePiece = "gemma-sentencepiece";

    /// <summary>
    /// Every tokenizer kind this version knows: whether its vocabulary is a file of the model folder, and how to make its
    /// encoder from that file's bytes (and the kind's own settings: <see cref="Lowercase"/>). A new kind is one entry here
    /// (and its tokenizer class); <c>clip_model.json</c>'s <c>tokenizer.kind</c> and the saved pipelines' spec both go
    /// through this table.
    /// </summary>
    private static readonly Dictionary<string, (bool NeedsFile, Func<byte[]?, bool?, (ContextEncoder Encode, TokenizerIds Ids)> Create)> Kinds = new(StringComparer.Ordinal)
    {
        [ClipBpe] = (false, (_, _) => (ClipTokenizer.Default.EncodeToContext, new(0, ClipTokenizer.StartOfTextId, ClipTokenizer.EndOfTextId))),
        [WordPiece] = (true, (bytes, lowercase) =>
        {
            var wordPiece = BertWordPieceTokenizer.FromVocabulary(bytes!, lowercase ?? FrozenTextEncoderSettings.DefaultLowercase);
            return (wordPiece.EncodeToContext, new(wordPiece.PaddingId, wordPiece.ClassificationId, wordPiece.SeparatorId));
        }),
        [SiglipSentencePiece] = (true, (bytes, _) =>
        {
            var siglip = SiglipTokenizer.FromModelFile(bytes!);
            return (siglip.EncodeToContext, new(siglip.PaddingId, -1, siglip.EndOfSequenceId));
        }),
        [GemmaSentencePiece] = (true, (bytes, _) =>
        {
            var gemma = GemmaTokenizer.FromModelFile(bytes!);
            return (gemma.EncodeToContext, new(gemma.PaddingId, gemma.AddBeginningOfSentence ? gemma.BeginningOfSentenceId : -1, gemma.EndOfSentenceId));
        }),
    };

    /// <summary>The special ids of a tokenizer: padding, start (-1: none) and end of text.</summary>
    internal readonly record struct TokenizerIds(int Pad, int Start, int End);

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

    /// <summary>
    /// <c>dynamic</c> when the model's text encoder takes rows of any length (<c>clip_model.json</c>'s
    /// <c>text_sequence</c>): each row is then cut after its last id that is not <see cref="PadId"/>. Null (absent): rows
    /// of the full context, as every pipeline saved before this member existed.
    /// </summary>
    [JsonPropertyName("text_sequence")] public string? TextSequence { get; init; }

    /// <summary>The padding id a <c>dynamic</c> row is cut at; null (absent) means 0, CLIP's.</summary>
    [JsonPropertyName("pad_id")] public int? PadId { get; init; }

    /// <summary>Whether rows are cut after their text (<see cref="TextSequence"/> is <c>dynamic</c>).</summary>
    [JsonIgnore] public bool CutsPadding => TextSequence == ClipModelInfo.DynamicSequence;

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
        FileBase64 = info.Tokenizer.File is { } file ? Convert.ToBase64String(ReadTokenizerFile(info, folder, file)) : null,
        TextSequence = info.TextSequence == ClipModelInfo.DynamicSequence ? ClipModelInfo.DynamicSequence : null,
        PadId = info.TextSequence == ClipModelInfo.DynamicSequence && info.Tokenizer.PadId != 0 ? info.Tokenizer.PadId : null,
        Lowercase = info.Tokenizer.Lowercase,
    };

    /// <summary>
    /// The tokenizer of the model at <paramref name="model"/>, read without loading or converting the model: an exported
    /// folder's <c>clip_model.json</c>, a Hugging Face SigLIP folder's tokenizer file and text context, or, for any other
    /// checkpoint, CLIP's BPE at the context its config gives.
    /// </summary>
    /// <exception cref="FileNotFoundException">The model, or the tokenizer file it names, does not exist.</exception>
    /// <exception cref="InvalidDataException">The model's files cannot be read (the message names the file).</exception>
    // friend: used by clip (clip tokenize --model)
    public static ClipTokenizerSpec ForModel(string model, ClipTruncation truncation)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        var json = Path.Combine(model, ClipModelInfo.FileName);
        if (Directory.Exists(model) && System.IO.File.Exists(json))
            return For(ClipModelInfo.Load(json), model, truncation);
        if (!Directory.Exists(model) && !System.IO.File.Exists(model))
            throw new FileNotFoundException($"Model '{model}' does not exist.", model);
        if (Checkpoints.HuggingFaceSiglip.IsSiglip(model))
        {
            var folder = Directory.Exists(model) ? model : Path.GetDirectoryName(Path.GetFullPath(model))!;
            var context = Checkpoints.HuggingFaceSiglip.ReadConfig(model).ContextLength;
            var tokenizer = Checkpoints.HuggingFaceSiglip.ReadTokenizer(folder) ?? throw new FileNotFoundException(
                $"The SigLIP folder '{folder}' has no tokenizer file ({Checkpoints.HuggingFaceSiglip.SiglipTokenizerFile} or {Checkpoints.HuggingFaceSiglip.GemmaTokenizerFile}).");
            return Create(tokenizer.Kind, context, truncation, tokenizer.FileName, tokenizer.FileBytes);
        }
        var config = Checkpoints.CheckpointWeights.ReadConfig(model);
        if (config.IsSiglip)
            throw new InvalidDataException($"'{model}' is a SigLIP without its tokenizer file beside it; convert it (clip convert) or give its Hugging Face folder.");
        return Create(ClipBpe, config.ContextLength, truncation, null, null);
    }

    private static ClipTokenizerSpec Create(string kind, int contextLength, ClipTruncation truncation, string? file, byte[]? bytes) => new()
    {
        Kind = kind,
        ContextLength = contextLength,
        Truncation = truncation == ClipTruncation.Throw ? ThrowName : TruncateName,
        File = file,
        FileBase64 = bytes is null ? null : Convert.ToBase64String(bytes),
    };

    /// <summary>
    /// The bytes of the tokenizer file <paramref name="file"/> of the model folder <paramref name="folder"/>, checked against
    /// the hashes <paramref name="info"/> records, like every file the model loads.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file is missing (or there is no folder to read it from).</exception>
    /// <exception cref="InvalidDataException">The file is not the one <c>clip_model.json</c> was written with.</exception>
    private static byte[] ReadTokenizerFile(ClipModelInfo info, string? folder, string file) => folder is null
        ? throw new FileNotFoundException($"Tokenizer file '{file}' named in {ClipModelInfo.FileName} does not exist.", file)
        : IO.ModelFolderFiles.ReadAllBytesVerified(folder, info, file, "Tokenizer file");

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
        if (spec is null || spec.ContextLength < 2 || spec.Truncation is not (TruncateName or ThrowName)
            || spec.TextSequence is not (null or ClipModelInfo.FixedSequence or ClipModelInfo.DynamicSequence))
            throw new InvalidDataException($"The tokenizer spec stored in this pipeline is invalid: {Shorten(json)}");
        return spec;
    }

    /// <summary>The encoder of this kind, over the embedded file bytes.</summary>
    /// <exception cref="InvalidDataException">The kind is unknown, or its file is missing or unreadable.</exception>
    /// <remarks>A tokenizer with a vocabulary file is built from it on every call (tens of milliseconds for a real
    /// vocabulary): callers keep the encoder.</remarks>
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
    public static ContextEncoder CreateEncoder(string kind, byte[]? bytes, string? fileName, bool? lowercase = null) =>
        Create(kind, bytes, fileName, lowercase).Encode;

    /// <summary>
    /// The <c>clip_model.json</c> description of the tokenizer of <paramref name="kind"/> over <paramref name="bytes"/>
    /// (its file <paramref name="fileName"/>) for a text encoder of <paramref name="contextLength"/> positions and
    /// <paramref name="vocabSize"/> tokens: the special ids come from the tokenizer itself.
    /// </summary>
    /// <exception cref="InvalidDataException">The kind is unknown, or its file is missing or unreadable.</exception>
    public static ClipTokenizerInfo Describe(string kind, byte[]? bytes, string? fileName, int contextLength, int vocabSize, bool? lowercase = null)
    {
        var ids = Create(kind, bytes, fileName, lowercase).Ids;
        return new ClipTokenizerInfo
        {
            Kind = kind,
            File = fileName,
            Vocab = fileName ?? new ClipTokenizerInfo().Vocab,
            PadId = ids.Pad,
            StartOfTextId = ids.Start,
            EndOfTextId = ids.End,
            ContextLength = contextLength,
            VocabSize = vocabSize,
            Lowercase = lowercase,
        };
    }

    private static (ContextEncoder Encode, TokenizerIds Ids) Create(string kind, byte[]? bytes, string? fileName, bool? lowercase)
    {
        if (!Kinds.TryGetValue(kind, out var entry))
            throw new InvalidDataException($"The tokenizer kind '{kind}' is not known to this version of Microsoft.ML.Clip; update the package.");
        if (entry.NeedsFile && bytes is null)
            throw new InvalidDataException($"The tokenizer kind '{kind}' needs its file{(fileName is null ? "" : $" '{fileName}'")}.");
        try
        {
            return entry.Create(bytes, lowercase);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"The tokenizer file{(fileName is null ? "" : $" '{fileName}'")} cannot be used as a '{kind}' tokenizer: {e.Message}", e);
        }
    }

    // The JSON never holds the vocabulary file in the message of an error.
    private static string Shorten(string json) => json.Length <= 200 ? json : json[..199] + "…";

    private static readonly JsonSerializerOptions JsonOptions = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };
}
