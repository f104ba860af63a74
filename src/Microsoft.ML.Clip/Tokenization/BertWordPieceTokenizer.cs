using System.Text;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The WordPiece tokenizer of a BERT-family text encoder (bert-base-uncased's for all-MiniLM-L6-v2): Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/> over the model's <c>vocab.txt</c>, with BERT's basic tokenization restated where that
/// library deviates from it (<see cref="BertBasicNormalizer"/>, <see cref="BertBasicPreTokenizer"/>); greedy
/// longest-match-first pieces with <c>##</c> continuations, a word over 100 characters or one that cannot be pieced
/// together becomes <c>[UNK]</c>. A row is <c>[CLS]</c>, the pieces, <c>[SEP]</c>, then <c>[PAD]</c>: a text longer than
/// the row keeps its first pieces and still ends with <c>[SEP]</c>, as Hugging Face's truncation does. Thread-safe.
/// </summary>
internal sealed class BertWordPieceTokenizer
{
    private readonly BertTokenizer _tokenizer;

    private BertWordPieceTokenizer(BertTokenizer tokenizer, bool lowercase, int vocabularySize)
    {
        _tokenizer = tokenizer;
        Lowercase = lowercase;
        VocabularySize = vocabularySize;
    }

    /// <summary>Whether text is lower-cased and stripped of accents before splitting (an uncased model).</summary>
    public bool Lowercase { get; }

    /// <summary>Lines of the vocabulary (ids 0 … size − 1).</summary>
    public int VocabularySize { get; }

    /// <summary>Id of <c>[CLS]</c>, the first of every row.</summary>
    public int ClassificationId => _tokenizer.ClassificationTokenId;

    /// <summary>Id of <c>[SEP]</c>, after the text.</summary>
    public int SeparatorId => _tokenizer.SeparatorTokenId;

    /// <summary>Id of <c>[PAD]</c>, which fills a row after <c>[SEP]</c>.</summary>
    public int PaddingId => _tokenizer.PaddingTokenId;

    /// <summary>The tokenizer of a <c>vocab.txt</c> (one piece per line, the line number is its id).</summary>
    /// <param name="vocabulary">The file's bytes (UTF-8).</param>
    /// <param name="lowercase">True for an uncased model (lower-case and strip accents), false for a cased one.</param>
    /// <param name="origin">The file, for messages.</param>
    /// <exception cref="InvalidDataException">The file is empty or lacks one of BERT's special tokens (the message names them).</exception>
    public static BertWordPieceTokenizer FromVocabulary(byte[] vocabulary, bool lowercase, string origin = "vocab.txt")
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var lines = Encoding.UTF8.GetString(vocabulary).Split('\n');
        var count = lines.Length > 0 && lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        var pieces = new HashSet<string>(lines.Take(count).Select(l => l.TrimEnd('\r')), StringComparer.Ordinal);
        var missing = BertBasicNormalizer.SpecialTokens.Where(t => !pieces.Contains(t)).ToList();
        if (count == 0 || missing.Count > 0)
            throw new InvalidDataException($"'{origin}' is not a BERT WordPiece vocabulary: it lacks {(count == 0 ? "every line" : string.Join(", ", missing))}.");
        var options = new BertOptions
        {
            // The two stages below do BERT's basic tokenization; the library's own flags only decide what it would
            // build when they are missing, and its special-token splitting would add lower-cased copies of the
            // special tokens to the vocabulary, which BERT does not have.
            LowerCaseBeforeTokenization = lowercase,
            RemoveNonSpacingMarks = lowercase,
            IndividuallyTokenizeCjk = true,
            ApplyBasicTokenization = true,
            SplitOnSpecialTokens = false,
            Normalizer = new BertBasicNormalizer(lowercase),
            PreTokenizer = BertBasicPreTokenizer.Instance,
        };
        using var stream = new MemoryStream(vocabulary, writable: false);
        return new BertWordPieceTokenizer(BertTokenizer.Create(stream, options), lowercase, count);
    }

    /// <summary>The word pieces of <paramref name="text"/>, without special tokens.</summary>
    /// <remarks>Always the whole text: a cut is made on these pieces (the library's own cap may stop at a word's start).</remarks>
    public IReadOnlyList<int> EncodePieces(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _tokenizer.EncodeToIds(text, addSpecialTokens: false);
    }

    /// <summary><c>[CLS]</c>, the pieces, <c>[SEP]</c>: at most <paramref name="maxLength"/> ids (pieces cut, <c>[SEP]</c> kept).</summary>
    public int[] Encode(string text, int maxLength)
    {
        if (maxLength < 2)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, "A row holds [CLS] and [SEP] at least.");
        var pieces = EncodePieces(text);
        var kept = Math.Min(pieces.Count, maxLength - 2);
        var ids = new int[kept + 2];
        ids[0] = ClassificationId;
        for (var i = 0; i < kept; i++) ids[i + 1] = pieces[i];
        ids[^1] = SeparatorId;
        return ids;
    }

    /// <summary>
    /// One row of <paramref name="row"/>'s length: <c>[CLS]</c>, pieces, <c>[SEP]</c>, <c>[PAD]</c>…; returns whether the
    /// text was cut.
    /// </summary>
    /// <exception cref="ArgumentException">The text does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public bool EncodeToContext(string text, Span<long> row, ClipTruncation truncation)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (row.Length < 2)
            throw new ArgumentOutOfRangeException(nameof(row), row.Length, "A row holds [CLS] and [SEP] at least.");
        var pieces = EncodePieces(text);
        var truncated = pieces.Count > row.Length - 2;
        if (truncated && truncation != ClipTruncation.Truncate)
            throw new ArgumentException(
                $"Text \"{(text.Length <= 60 ? text : string.Concat(text.AsSpan(0, 59), "…"))}\" has more than {row.Length} tokens with [CLS] and [SEP], the context length. " +
                "Shorten it or pass ClipTruncation.Truncate.", nameof(text));
        var kept = Math.Min(pieces.Count, row.Length - 2);
        row.Fill(PaddingId);
        row[0] = ClassificationId;
        for (var i = 0; i < kept; i++) row[i + 1] = pieces[i];
        row[kept + 1] = SeparatorId;
        return truncated;
    }
}
