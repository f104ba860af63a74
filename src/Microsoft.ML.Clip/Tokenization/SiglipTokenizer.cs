using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// SigLIP's text tokenizer: the ids of Hugging Face's (slow) <c>SiglipTokenizer</c> called as SigLIP's processor and
/// zero-shot pipeline call it (<c>padding="max_length", truncation=True, max_length=64</c>), over the model's
/// SentencePiece unigram file (<c>spiece.model</c>).
/// </summary>
/// <remarks>
/// <para>Rules, in order (see the fixture README): <c>"▁" + text.replace("▁", " ")</c>; every code point outside the
/// literals <c>&lt;/s&gt;</c> and <c>&lt;unk&gt;</c> replaced by Python's <c>str.lower()</c> of it; a split on those two
/// literals (they are the eos and unknown tokens, and swallow the white space on both sides); each other chunk
/// canonicalised (ASCII punctuation deleted, white-space runs to one space, stripped) and encoded as
/// <c>sp.encode("&lt;unk&gt;" + chunk)</c> minus the pieces of <c>&lt;unk&gt;</c> alone (SentencePiece runs with
/// <c>add_dummy_prefix</c> off, so this is how a chunk gets no leading <c>▁</c> of its own); a leading lone
/// <c>▁</c> before a special token dropped; eos appended unless the ids already end with it; right-padded with the
/// pad id (= eos id). Truncation keeps the first <c>contextLength - 1</c> ids, then appends eos.</para>
/// <para>Hand-written (with <see cref="SentencePieceUnigramEncoder"/>) rather than over Microsoft.ML.Tokenizers'
/// SentencePiece model, which cannot load a model without a bos piece (<c>bos_id = -1</c>, as here), has no switch for
/// <c>add_dummy_prefix</c>, gives one unknown id per character where SentencePiece gives one per run, and breaks
/// equal-score ties in float where SentencePiece compares in double: 16 of the fixture's 301 cases differ.</para>
/// <para>All members are thread-safe.</para>
/// </remarks>
internal sealed class SiglipTokenizer
{
    /// <summary>SigLIP's <c>model_max_length</c>, the text tower's number of positions.</summary>
    public const int DefaultContextLength = 64;

    /// <summary>The end-of-sequence (and padding) token's text.</summary>
    public const string EndOfSequenceToken = "</s>";

    /// <summary>The unknown token's text.</summary>
    public const string UnknownToken = "<unk>";
    private const char SpaceSymbol = '\u2581';

    private readonly ISentencePieceEncoder _encoder;
    private readonly int _unknownPrefixPieces;

    /// <summary>The rules over <paramref name="encoder"/> (SentencePiece with <c>add_dummy_prefix</c> off).</summary>
    internal SiglipTokenizer(ISentencePieceEncoder encoder, bool lowerCase = true)
    {
        _encoder = encoder;
        LowerCase = lowerCase;
        EndOfSequenceId = encoder.PieceToId(EndOfSequenceToken);
        UnknownId = encoder.PieceToId(UnknownToken);
        if (EndOfSequenceId == encoder.UnknownId || UnknownId != encoder.UnknownId)
            throw new InvalidDataException($"The SentencePiece model has no '{EndOfSequenceToken}' piece or its unknown piece is not '{UnknownToken}': not a SigLIP (T5-style) vocabulary.");
        PaddingId = EndOfSequenceId;
        var pieces = new List<SentencePieceToken>();
        encoder.Encode(UnknownToken, pieces);
        _unknownPrefixPieces = pieces.Count;
    }

    /// <summary>
    /// The tokenizer of a SigLIP <c>spiece.model</c> (SentencePiece unigram, its own normaliser) given as the file's bytes,
    /// loaded as Hugging Face's <c>SiglipTokenizer</c> loads it: with <c>add_dummy_prefix</c> forced off.
    /// </summary>
    /// <exception cref="InvalidDataException">The bytes are not a SentencePiece unigram model with SigLIP's special pieces.</exception>
    public static SiglipTokenizer FromModelFile(byte[] bytes)
    {
        var model = SentencePieceModelFile.Read(bytes);
        if (model.Algorithm != SentencePieceAlgorithm.Unigram)
            throw new InvalidDataException($"A SigLIP tokenizer needs a SentencePiece unigram model (spiece.model), got a {model.Algorithm} model.");
        return new SiglipTokenizer(new SentencePieceUnigramEncoder(model, addDummyPrefix: false));
    }

    /// <summary>Whether text is lower-cased first (<c>do_lower_case</c>, SigLIP's default).</summary>
    public bool LowerCase { get; }

    /// <summary>Id of <c>&lt;/s&gt;</c>, appended to every row.</summary>
    public int EndOfSequenceId { get; }

    /// <summary>Id of <c>&lt;unk&gt;</c>.</summary>
    public int UnknownId { get; }

    /// <summary>Id that fills a row after the text: the eos id, as SigLIP's pad token is <c>&lt;/s&gt;</c>.</summary>
    public int PaddingId { get; }

    /// <summary><c>SiglipTokenizer.tokenize(text)</c>: the pieces (and their ids) before eos.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public List<SentencePieceToken> Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var prefixed = SpaceSymbol + text.Replace(SpaceSymbol, ' ');
        var cased = LowerCase ? LowerOutsideSpecialTokens(prefixed) : prefixed;
        var chunks = SplitOnSpecialTokens(cased);

        var tokens = new List<SentencePieceToken>();
        var scratch = new List<SentencePieceToken>();
        foreach (var (chunk, specialId) in chunks)
        {
            if (chunk.Length == 0)
                continue;
            if (specialId >= 0)
            {
                tokens.Add(new SentencePieceToken(chunk, specialId));
                continue;
            }
            scratch.Clear();
            _encoder.Encode(UnknownToken + PythonText.Canonicalize(chunk), scratch);
            var skip = scratch.Count >= _unknownPrefixPieces ? _unknownPrefixPieces : 0;
            for (var i = skip; i < scratch.Count; i++)
            {
                var token = scratch[i];
                // Hugging Face maps pieces with piece_to_id; it can differ from the encoder's id only for a merged
                // run of unknown characters (whose text might, in theory, spell a reserved piece).
                tokens.Add(token.Id == _encoder.UnknownId ? token with { Id = _encoder.PieceToId(token.Piece) } : token);
            }
        }

        if (tokens.Count > 1 && tokens[0].Piece == "▁" && IsSpecialToken(tokens[1]))
            tokens.RemoveAt(0);
        return tokens;
    }

    /// <summary>The ids of <paramref name="text"/> before eos (no padding, no truncation).</summary>
    public int[] Encode(string text) => Tokenize(text).Select(t => t.Id).ToArray();

    /// <summary>
    /// One model row (a <see cref="ContextEncoder"/>): the ids, eos, padding with <see cref="PaddingId"/> up to the length
    /// of <paramref name="destination"/>; returns whether the text was cut.
    /// </summary>
    /// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public bool EncodeToContext(string text, Span<long> destination, ClipTruncation truncation)
    {
        EncodeToContext(text, destination, truncation, out var truncated);
        return truncated;
    }

    /// <summary>
    /// As <see cref="EncodeToContext(string, Span{long}, ClipTruncation)"/>; returns the number of ids before padding (the
    /// length of the attention mask Hugging Face's slow tokenizer returns; it cannot be read back from the row because the
    /// pad id is the eos id).
    /// </summary>
    public int EncodeToContext(string text, Span<long> destination, ClipTruncation truncation, out bool truncated)
    {
        if (destination.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(destination), "The destination (one context row) must hold at least one token.");
        var ids = Encode(text);
        var count = ids.Length;
        // prepare_for_model: one special token (eos) is always counted, even when the ids already end with eos.
        truncated = count + 1 > destination.Length;
        if (truncated)
        {
            if (truncation == ClipTruncation.Throw)
                throw new ArgumentException($"The text has {count + 1} tokens with the end token, more than the context length {destination.Length}.", nameof(text));
            count = destination.Length - 1;
        }
        for (var i = 0; i < count; i++)
            destination[i] = ids[i];
        if (count == 0 || ids[count - 1] != EndOfSequenceId)
            destination[count++] = EndOfSequenceId;
        destination[count..].Fill(PaddingId);
        return count;
    }

    /// <summary><c>token in all_special_tokens</c> (a comparison of strings, as in Hugging Face).</summary>
    private static bool IsSpecialToken(SentencePieceToken token)
        => token.Piece is EndOfSequenceToken or UnknownToken;

    /// <summary>
    /// The <c>do_lower_case</c> pass of <c>PreTrainedTokenizer.tokenize</c>: <c>re.sub(r"(&lt;/s&gt;|&lt;unk&gt;)|(.+?)", ...)</c>
    /// keeps the special-token literals and lower-cases every other code point on its own (<c>.</c> does not match a
    /// line feed, whose lower case is itself anyway).
    /// </summary>
    private static string LowerOutsideSpecialTokens(string text)
    {
        var builder = new StringBuilder(text.Length + 8);
        var start = 0;
        while (start < text.Length)
        {
            var (at, length) = FindSpecialToken(text, start);
            PythonText.AppendLowerPerCharacter(text.AsSpan(start, at - start), builder);
            builder.Append(text, at, length);
            start = at + length;
        }
        return builder.ToString();
    }

    /// <summary>
    /// <c>tokens_trie.split</c> plus the <c>lstrip</c>/<c>rstrip</c> of the added tokens: chunks in order, with the
    /// id of each special-token chunk (-1 for text), white space next to a special token removed.
    /// </summary>
    private List<(string Text, int SpecialId)> SplitOnSpecialTokens(string text)
    {
        var chunks = new List<(string Text, int SpecialId)>();
        var start = 0;
        while (start < text.Length)
        {
            var (at, length) = FindSpecialToken(text, start);
            if (at > start)
                chunks.Add((text[start..at], -1));
            if (length > 0)
                chunks.Add((text.Substring(at, length), length == EndOfSequenceToken.Length ? EndOfSequenceId : UnknownId));
            start = at + length;
        }

        for (var i = 0; i < chunks.Count; i++)
        {
            if (chunks[i].SpecialId < 0)
                continue;
            // Both special tokens are AddedToken(lstrip=True, rstrip=True).
            if (i + 1 < chunks.Count && chunks[i + 1].Text.Length > 0)
                chunks[i + 1] = chunks[i + 1] with { Text = PythonText.TrimStart(chunks[i + 1].Text) };
            if (i > 0 && chunks[i - 1].Text.Length > 0)
                chunks[i - 1] = chunks[i - 1] with { Text = PythonText.TrimEnd(chunks[i - 1].Text) };
        }
        return chunks;
    }

    /// <summary>The first <c>&lt;/s&gt;</c> or <c>&lt;unk&gt;</c> at or after <paramref name="start"/>; (text.Length, 0) if none.</summary>
    private static (int At, int Length) FindSpecialToken(string text, int start)
    {
        for (var i = text.IndexOf('<', start); i >= 0; i = text.IndexOf('<', i + 1))
        {
            if (string.CompareOrdinal(text, i, EndOfSequenceToken, 0, EndOfSequenceToken.Length) == 0)
                return (i, EndOfSequenceToken.Length);
            if (string.CompareOrdinal(text, i, UnknownToken, 0, UnknownToken.Length) == 0)
                return (i, UnknownToken.Length);
        }
        return (text.Length, 0);
    }
}
