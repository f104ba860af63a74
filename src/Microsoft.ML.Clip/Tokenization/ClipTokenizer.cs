namespace Microsoft.ML.Clip.Tokenization;

/// <summary>What to do with a text whose tokens do not fit the context.</summary>
public enum ClipTruncation
{
    /// <summary>Throw an <see cref="ArgumentException"/> naming the text and its token count (the reference default).</summary>
    Throw = 0,

    /// <summary>Cut the row to the context length; its last token is the end-of-text token.</summary>
    Truncate = 1,
}

/// <summary>
/// CLIP's byte-level BPE tokenizer, giving exactly the ids of openai/CLIP's <c>SimpleTokenizer</c>
/// and <c>clip.tokenize</c>.
/// </summary>
/// <remarks>
/// <para>The text is cleaned as the reference does it, with Python 3.11's semantics: <c>html.unescape</c>
/// twice (full HTML5 entity table, numeric references, names without <c>;</c>), <c>strip()</c>, runs
/// of white space to one space, <c>strip()</c>, full Unicode <c>str.lower()</c> (<c>İ</c> becomes
/// <c>i</c> + U+0307, a final capital sigma becomes <c>ς</c>). It is then split by the reference's
/// pattern (over code points, so letters and digits outside the BMP count as one character each;
/// <c>&lt;|startoftext|&gt;</c> and <c>&lt;|endoftext|&gt;</c> inside the text become ids 49406 and 49407)
/// and each piece is byte-pair encoded with <c>&lt;/w&gt;</c> on its last symbol. Pieces are cached.</para>
/// <para>Before all that the reference runs ftfy's <c>fix_text</c>; its character-level repairs are reproduced
/// (curly quotes, full- and half-width forms, Latin ligatures, C1 controls read as Windows-1252, control
/// characters and terminal escapes removed, ftfy's HTML-entity rule, NFC). Not reproduced: its mojibake repair
/// (text that is UTF-8 misread as a legacy code page, such as <c>cafÃ©</c>), which may therefore tokenize
/// differently from the reference. Unpaired UTF-16 surrogates are read as U+FFFD (Python would fail on them).</para>
/// <para>All members are thread-safe.</para>
/// </remarks>
public sealed partial class ClipTokenizer
{
    /// <summary>Id of <c>&lt;|startoftext|&gt;</c>.</summary>
    public const int StartOfTextId = 49406;

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>.</summary>
    public const int EndOfTextId = 49407;

    /// <summary>CLIP's context length.</summary>
    public const int DefaultContextLength = 77;

    private static readonly Lazy<ClipTokenizer> s_default = new(CreateFromEmbeddedVocabulary, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The shared tokenizer over the embedded <c>bpe_simple_vocab_16e6.txt.gz</c> (thread-safe).</summary>
    public static ClipTokenizer Default => s_default.Value;

    /// <summary>Raw BPE ids of <paramref name="text"/>, without start/end tokens.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return EncodeToScratch(text).ToArray();
    }

    /// <summary>
    /// One context row: start token, ids, end token, zero-padded to <paramref name="contextLength"/>.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="contextLength"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public int[] EncodeToContext(string text, int contextLength = DefaultContextLength, ClipTruncation truncation = ClipTruncation.Throw)
    {
        ArgumentNullException.ThrowIfNull(text);
        CheckContextLength(contextLength);
        var row = new int[contextLength];
        WriteRow(text, EncodeToScratch(text), row.AsSpan(), truncation, nameof(text));
        return row;
    }

    /// <summary>
    /// Writes one context row into <paramref name="destination"/> (length = context length) and returns
    /// whether the text was truncated.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="destination"/> is empty.</exception>
    /// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public bool EncodeToContext(string text, Span<long> destination, ClipTruncation truncation = ClipTruncation.Throw)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (destination.IsEmpty)
            throw new ArgumentOutOfRangeException(nameof(destination), "The destination (one context row) must hold at least one token.");
        return WriteRow(text, EncodeToScratch(text), destination, truncation, nameof(text));
    }

    /// <summary>Row-major [texts.Count, contextLength] int64 matrix, as <c>clip.tokenize</c>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="contextLength"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public long[] EncodeBatch(IReadOnlyList<string> texts, int contextLength = DefaultContextLength, ClipTruncation truncation = ClipTruncation.Throw)
        => EncodeMatrix<long>(texts, contextLength, truncation);

    /// <summary>
    /// Row-major [texts.Count, contextLength] int32 matrix: <see cref="EncodeBatch"/> for models whose
    /// text input is int32.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="texts"/> or one of its items is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="contextLength"/> is less than 1.</exception>
    /// <exception cref="ArgumentException">A text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public int[] EncodeBatchInt32(IReadOnlyList<string> texts, int contextLength = DefaultContextLength, ClipTruncation truncation = ClipTruncation.Throw)
        => EncodeMatrix<int>(texts, contextLength, truncation);

    /// <summary>Text of <paramref name="ids"/> (special tokens and padding zeros after the end token are dropped).</summary>
    /// <remarks>As the reference, each <c>&lt;/w&gt;</c> becomes a space, so a decoded text usually ends with one.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="ids"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the vocabulary.</exception>
    public string Decode(IEnumerable<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        return DecodeCore(ids);
    }
}
