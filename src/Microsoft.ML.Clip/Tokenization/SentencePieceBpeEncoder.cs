using System.Buffers;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// <c>SentencePieceProcessor.encode</c> for a BPE model (Gemma's <c>tokenizer.model</c>), as SentencePiece 0.1.9x
/// computes it: the model's normaliser; the text split into characters, a user-defined symbol (longest match) being
/// one symbol that never merges; then, repeatedly, the adjacent pair whose concatenation is the best-scoring
/// ordinary piece is merged, the <b>leftmost</b> pair first among equal scores; pieces of type unused are split back
/// into the pieces they were merged from; unknown characters become byte pieces (byte fallback) or one unknown piece
/// per run.
/// </summary>
/// <remarks>
/// Hand-written because Microsoft.ML.Tokenizers' SentencePiece BPE (2.0.1 and 3.0.0) merges the <b>rightmost</b> of
/// equal-score pairs first (<c>"ooo"</c> → <c>o oo</c>; SentencePiece, and its own unit test "leftmost symbols are
/// merged first", give <c>oo o</c>), does not keep user-defined symbols whole, and can merge into control pieces. The
/// fixture's 301 cases contain no such text, so the library passes them all (docs/architecture.md, Tokenizer).
/// </remarks>
internal sealed class SentencePieceBpeEncoder : ISentencePieceEncoder
{
    private readonly SentencePieceTextNormalizer _normalizer;
    private readonly SentencePieceVocabulary _vocabulary;
    private readonly Dictionary<char, string[]> _userDefinedByFirstChar; // each list longest first

    public SentencePieceBpeEncoder(SentencePieceModelFile model)
    {
        if (model.Algorithm != SentencePieceAlgorithm.Bpe)
            throw new ArgumentException($"Expected a BPE SentencePiece model, got {model.Algorithm}.", nameof(model));
        _normalizer = new SentencePieceTextNormalizer(model);
        _vocabulary = new SentencePieceVocabulary(model);
        _userDefinedByFirstChar = model.Pieces
            .Where(p => p.Type == SentencePieceType.UserDefined)
            .GroupBy(p => p.Piece[0])
            .ToDictionary(g => g.Key, g => g.Select(p => p.Piece).OrderByDescending(p => p.Length).ToArray());
    }

    /// <summary>
    /// For checks against SentencePiece's model-level unit tests: report the segmentation itself, before unknown
    /// pieces are merged or spelt as bytes.
    /// </summary>
    internal bool ReportRawSegmentation { get; init; }

    public int UnknownId => _vocabulary.UnknownId;

    public int PieceToId(string piece) => _vocabulary.PieceToId(piece);

    public void Encode(ReadOnlySpan<char> text, List<SentencePieceToken> output)
    {
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        var normalizedBytes = new List<byte>(text.Length * 3 + 3);
        try
        {
            _normalizer.Normalize(utf8.AsSpan(0, Encoding.UTF8.GetBytes(text, utf8)), normalizedBytes);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
        if (normalizedBytes.Count == 0)
            return;
        var normalized = Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(normalizedBytes));

        var symbols = Split(normalized);
        var unusedSplits = Merge(normalized, symbols);

        var previousWasUnknown = false;
        for (var i = 0; i >= 0; i = symbols[i].Next)
            EmitResegmented(normalized.Substring(symbols[i].Start, symbols[i].Length), unusedSplits, output, ref previousWasUnknown);
    }

    private struct Symbol
    {
        public int Start;      // in UTF-16 units of the normalised text
        public int Length;     // 0 once merged into its left neighbour
        public int Prev;
        public int Next;       // -1 at the end
        public bool Frozen;    // a user-defined symbol
    }

    /// <summary>Characters (code points), a user-defined symbol being one frozen symbol.</summary>
    private Symbol[] Split(string text)
    {
        var symbols = new List<Symbol>(text.Length);
        for (var i = 0; i < text.Length;)
        {
            var length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]) ? 2 : 1;
            var frozen = false;
            if (_userDefinedByFirstChar.TryGetValue(text[i], out var candidates))
            {
                foreach (var candidate in candidates)
                {
                    if (i + candidate.Length <= text.Length && string.CompareOrdinal(text, i, candidate, 0, candidate.Length) == 0)
                    {
                        length = candidate.Length;
                        frozen = true;
                        break;
                    }
                }
            }
            symbols.Add(new Symbol { Start = i, Length = length, Prev = symbols.Count - 1, Next = -1, Frozen = frozen });
            i += length;
        }
        var array = symbols.ToArray();
        for (var i = 0; i + 1 < array.Length; i++)
            array[i].Next = i + 1;
        return array;
    }

    /// <summary>Runs the merges; returns SentencePiece's reverse-merge table for unused pieces (null if none was queued).</summary>
    private Dictionary<string, (string Left, string Right)>? Merge(string text, Symbol[] symbols)
    {
        Dictionary<string, (string Left, string Right)>? unusedSplits = null;
        // Highest score first; among equal scores the leftmost pair (SentencePiece's SymbolPairComparator).
        var agenda = new PriorityQueue<(int Left, int Right, int Length, int Id), (float Score, int Left)>(s_order);
        void TryAdd(int left, int right)
        {
            if (left < 0 || right < 0 || symbols[left].Frozen || symbols[right].Frozen)
                return;
            var length = symbols[left].Length + symbols[right].Length;
            var id = _vocabulary.OrdinaryId(text.AsSpan(symbols[left].Start, length));
            if (id < 0)
                return;
            agenda.Enqueue((left, right, length, id), (_vocabulary.Scores[id], left));
            if (_vocabulary.Types[id] == SentencePieceType.Unused)
            {
                // Keyed by text and overwritten by later pairs, as in SentencePiece.
                (unusedSplits ??= new(StringComparer.Ordinal))[text.Substring(symbols[left].Start, length)] =
                    (text.Substring(symbols[left].Start, symbols[left].Length), text.Substring(symbols[right].Start, symbols[right].Length));
            }
        }

        for (var i = 1; i < symbols.Length; i++)
            TryAdd(i - 1, i);

        while (agenda.TryDequeue(out var pair, out _))
        {
            ref var left = ref symbols[pair.Left];
            ref var right = ref symbols[pair.Right];
            if (left.Length == 0 || right.Length == 0 || left.Length + right.Length != pair.Length)
                continue; // stale: one side has changed since the pair was queued

            left.Length = pair.Length;
            left.Next = right.Next;
            if (right.Next >= 0)
                symbols[right.Next].Prev = pair.Left;
            right.Length = 0;

            TryAdd(left.Prev, pair.Left);
            TryAdd(pair.Left, left.Next);
        }
        return unusedSplits;
    }

    /// <summary>An unused piece is replaced by the two pieces it was merged from, recursively.</summary>
    private void EmitResegmented(string piece, Dictionary<string, (string Left, string Right)>? unusedSplits,
        List<SentencePieceToken> output, ref bool previousWasUnknown)
    {
        var id = _vocabulary.PieceToId(piece);
        if (_vocabulary.Types[id] == SentencePieceType.Unused && unusedSplits is not null && unusedSplits.TryGetValue(piece, out var parts))
        {
            EmitResegmented(parts.Left, unusedSplits, output, ref previousWasUnknown);
            EmitResegmented(parts.Right, unusedSplits, output, ref previousWasUnknown);
            return;
        }
        if (ReportRawSegmentation)
            output.Add(new SentencePieceToken(piece, id));
        else
            _vocabulary.Append(output, piece, id, ref previousWasUnknown);
    }

    private static readonly Comparer<(float Score, int Left)> s_order = Comparer<(float Score, int Left)>.Create(
        (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Left.CompareTo(b.Left));
}
