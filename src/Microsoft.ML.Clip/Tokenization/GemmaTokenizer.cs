namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The text tokenizer of SigLIP 2 checkpoints: Gemma's SentencePiece BPE model (<c>tokenizer.model</c>, byte fallback)
/// used as Hugging Face's converted SigLIP 2 folders use it. Not checked against reference ids (none were available):
/// the raw SentencePiece encoding is (<see cref="SentencePieceBpeEncoder"/>), the rules around it follow the sources below.
/// </summary>
/// <remarks>
/// <para>Facts this follows: the conversion script builds the tokenizer as <c>GemmaTokenizerFast(add_bos_token=False,
/// add_eos_token=True, padding_side="right", do_lower_case=True, model_input_names=["input_ids"])</c> and checks logits
/// with <c>padding="max_length", max_length=64</c>; transformers v5's <c>Siglip2Tokenizer</c> is that BPE (byte fallback)
/// behind a <c>Lowercase</c> then <c>Replace(" ", "▁")</c> normaliser; SigLIP 2 was trained on lower-cased text; the text
/// tower pools the last of its 64 positions, so rows are always padded to the context length.</para>
/// <para>So: added tokens (the model's control, unknown and user-defined pieces: <c>&lt;pad&gt;</c>, <c>&lt;eos&gt;</c>,
/// <c>&lt;bos&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;mask&gt;</c>, <c>&lt;start_of_turn&gt;</c>, …) are matched in the raw text,
/// longest first, and kept whole (Hugging Face matches added tokens before normalising); the text between them is
/// lower-cased as a whole (Python's <c>str.lower()</c>, final sigma included) and encoded by SentencePiece BPE; no bos;
/// eos always appended (a template post-processor, unlike SigLIP's "unless already there"); truncation keeps the first
/// <c>contextLength - 1</c> ids; right padding with the model's pad id (0 in Gemma).</para>
/// <para>The BPE is hand-written because Microsoft.ML.Tokenizers' SentencePiece BPE merges the rightmost of equal-score
/// pairs first (<c>"ooo"</c> → <c>o oo</c>; SentencePiece gives <c>oo o</c>) and splits user-defined pieces.</para>
/// <para>All members are thread-safe.</para>
/// </remarks>
internal sealed class GemmaTokenizer
{
    /// <summary>SigLIP 2's text length (<c>max_length=64</c>).</summary>
    public const int DefaultContextLength = 64;

    private readonly ISentencePieceEncoder _bpe;
    private readonly Dictionary<char, (string Text, int Id)[]> _addedTokensByFirstChar; // each list longest first

    /// <summary>The tokenizer over a parsed BPE <paramref name="model"/>.</summary>
    /// <exception cref="InvalidDataException">The model is not a BPE model, or has no eos piece.</exception>
    public GemmaTokenizer(SentencePieceModelFile model, bool lowerCase = true, bool addBeginningOfSentence = false, bool addEndOfSentence = true)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Algorithm != SentencePieceAlgorithm.Bpe)
            throw new InvalidDataException($"A Gemma (SigLIP 2) tokenizer needs a SentencePiece BPE model (tokenizer.model), got a {model.Algorithm} model.");
        if (!IsId(model, model.EndOfSentenceId) || (addBeginningOfSentence && !IsId(model, model.BeginningOfSentenceId)))
            throw new InvalidDataException("The SentencePiece model has no end-of-sentence (or beginning-of-sentence) piece.");
        _bpe = new SentencePieceBpeEncoder(model);
        _addedTokensByFirstChar = model.Pieces
            .Select((p, id) => (p.Piece, p.Type, Id: id))
            .Where(p => p.Piece.Length > 0 && p.Type is SentencePieceType.Control or SentencePieceType.Unknown or SentencePieceType.UserDefined)
            .GroupBy(p => p.Piece[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Piece.Length).Select(p => (p.Piece, p.Id)).ToArray());
        LowerCase = lowerCase;
        AddBeginningOfSentence = addBeginningOfSentence;
        AddEndOfSentence = addEndOfSentence;
        BeginningOfSentenceId = model.BeginningOfSentenceId;
        EndOfSentenceId = model.EndOfSentenceId;
        PaddingId = IsId(model, model.PaddingId) ? model.PaddingId : 0;
    }

    /// <summary>The tokenizer of a Gemma <c>tokenizer.model</c> given as the file's bytes, with SigLIP 2's settings.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a SentencePiece BPE model.</exception>
    public static GemmaTokenizer FromModelFile(byte[] bytes) => new(SentencePieceModelFile.Read(bytes));

    /// <summary>Whether text between added tokens is lower-cased.</summary>
    public bool LowerCase { get; }

    /// <summary>Whether a row starts with the bos id.</summary>
    public bool AddBeginningOfSentence { get; }

    /// <summary>Whether a row's ids end with the eos id.</summary>
    public bool AddEndOfSentence { get; }

    /// <summary>The bos id.</summary>
    public int BeginningOfSentenceId { get; }

    /// <summary>The eos id.</summary>
    public int EndOfSentenceId { get; }

    /// <summary>The id that fills a row after the text.</summary>
    public int PaddingId { get; }

    /// <summary>The ids of <paramref name="text"/> without bos/eos.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public List<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        var pieces = new List<SentencePieceToken>();
        var start = 0;
        while (start <= text.Length)
        {
            var (at, length, id) = FindAddedToken(text, start);
            if (at > start)
            {
                var segment = text[start..at];
                pieces.Clear();
                _bpe.Encode(LowerCase ? ClipTextNormalizer.Lower(segment) : segment, pieces);
                foreach (var piece in pieces)
                    ids.Add(piece.Id);
            }
            if (length == 0)
                break;
            ids.Add(id);
            start = at + length;
        }
        return ids;
    }

    /// <summary>One model row (a <see cref="ContextEncoder"/>): bos?, ids, eos, right padding; returns whether the text was cut.</summary>
    /// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public bool EncodeToContext(string text, Span<long> destination, ClipTruncation truncation)
    {
        if (destination.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(destination), "The destination (one context row) must hold at least one token.");
        var ids = Encode(text);
        var specials = (AddBeginningOfSentence ? 1 : 0) + (AddEndOfSentence ? 1 : 0);
        var count = ids.Count;
        var truncated = count + specials > destination.Length;
        if (truncated)
        {
            if (truncation == ClipTruncation.Throw)
                throw new ArgumentException($"The text has {count + specials} tokens with the special tokens, more than the context length {destination.Length}.", nameof(text));
            count = Math.Max(0, destination.Length - specials);
        }
        var written = 0;
        if (AddBeginningOfSentence && written < destination.Length)
            destination[written++] = BeginningOfSentenceId;
        for (var i = 0; i < count; i++)
            destination[written++] = ids[i];
        if (AddEndOfSentence && written < destination.Length)
            destination[written++] = EndOfSentenceId;
        destination[written..].Fill(PaddingId);
        return truncated;
    }

    private (int At, int Length, int Id) FindAddedToken(string text, int start)
    {
        for (var i = start; i < text.Length; i++)
        {
            if (!_addedTokensByFirstChar.TryGetValue(text[i], out var candidates))
                continue;
            foreach (var (token, id) in candidates)
            {
                if (i + token.Length <= text.Length && string.CompareOrdinal(text, i, token, 0, token.Length) == 0)
                    return (i, token.Length, id);
            }
        }
        return (text.Length, 0, -1);
    }

    private static bool IsId(SentencePieceModelFile model, int id) => id >= 0 && id < model.Pieces.Count;
}
