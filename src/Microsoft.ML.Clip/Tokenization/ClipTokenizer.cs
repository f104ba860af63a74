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
/// <remarks>CONTRACT FILE: the foundation issue fills in the bodies; the signatures are fixed.</remarks>
public sealed partial class ClipTokenizer
{
    /// <summary>Id of <c>&lt;|startoftext|&gt;</c>.</summary>
    public const int StartOfTextId = 49406;

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>.</summary>
    public const int EndOfTextId = 49407;

    /// <summary>CLIP's context length.</summary>
    public const int DefaultContextLength = 77;

    /// <summary>The shared tokenizer over the embedded <c>bpe_simple_vocab_16e6.txt.gz</c> (thread-safe).</summary>
    public static ClipTokenizer Default => throw new NotImplementedException();

    /// <summary>Raw BPE ids of <paramref name="text"/>, without start/end tokens.</summary>
    public IReadOnlyList<int> Encode(string text) => throw new NotImplementedException();

    /// <summary>
    /// One context row: start token, ids, end token, zero-padded to <paramref name="contextLength"/>.
    /// </summary>
    public int[] EncodeToContext(string text, int contextLength = DefaultContextLength, ClipTruncation truncation = ClipTruncation.Throw)
        => throw new NotImplementedException();

    /// <summary>
    /// Writes one context row into <paramref name="destination"/> (length = context length) and returns
    /// whether the text was truncated.
    /// </summary>
    public bool EncodeToContext(string text, Span<long> destination, ClipTruncation truncation = ClipTruncation.Throw)
        => throw new NotImplementedException();

    /// <summary>Row-major [texts.Count, contextLength] int64 matrix, as <c>clip.tokenize</c>.</summary>
    public long[] EncodeBatch(IReadOnlyList<string> texts, int contextLength = DefaultContextLength, ClipTruncation truncation = ClipTruncation.Throw)
        => throw new NotImplementedException();

    /// <summary>Text of <paramref name="ids"/> (special tokens and padding zeros after the end token are dropped).</summary>
    public string Decode(IEnumerable<int> ids) => throw new NotImplementedException();
}
