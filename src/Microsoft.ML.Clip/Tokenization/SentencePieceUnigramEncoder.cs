using System.Buffers;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// <c>SentencePieceProcessor.encode</c> for a unigram model, as SentencePiece 0.1.9x computes it: the model's
/// normaliser, then the best segmentation under the piece scores (SentencePiece's default "optimized" Viterbi
/// over UTF-8 byte positions), then a run of unknown pieces merged into one unknown piece (or, with byte
/// fallback, spelt as byte pieces).
/// </summary>
/// <remarks>
/// Hand-written because Microsoft.ML.Tokenizers' unigram model (2.0.1 and 3.0.0) differs from SentencePiece where
/// it matters here: it cannot load a model without a BOS piece (T5/SigLIP layout, <c>bos_id = -1</c>), it emits one
/// unknown id per unknown character instead of one per run (<c>日本語</c> → 3 ids instead of 1), and it sums path
/// scores in float where SentencePiece compares them in double, so equal-score segmentations break the other way
/// (<c>ellipsis…</c> → <c>. ..</c> instead of <c>.. .</c>); docs/architecture.md, Tokenizer, has the details.
/// Tie-breaking, reproduced exactly: positions are visited left to right and a path replaces the best path ending at
/// the same position only when its score is strictly higher; a piece's candidate score is
/// <c>(double)pieceScore + (float)bestScoreSoFar</c> (the C++ ternary promotes it to double), compared in double
/// and stored as float; the unknown candidate (<c>minScore - 10</c>) is summed in float.
/// </remarks>
internal sealed class SentencePieceUnigramEncoder : ISentencePieceEncoder
{
    private const float UnknownPenalty = 10f;

    private readonly SentencePieceTextNormalizer _normalizer;
    private readonly SentencePieceVocabulary _vocabulary;
    private readonly PieceTrie _trie = new();
    private readonly float _unknownScore;
    private readonly float _maxScore;

    public SentencePieceUnigramEncoder(SentencePieceModelFile model, bool? addDummyPrefix = null)
    {
        if (model.Algorithm != SentencePieceAlgorithm.Unigram)
            throw new ArgumentException($"Expected a unigram SentencePiece model, got {model.Algorithm}.", nameof(model));

        _normalizer = new SentencePieceTextNormalizer(model, addDummyPrefix);
        _vocabulary = new SentencePieceVocabulary(model);
        foreach (var (piece, id) in _vocabulary.OrdinaryPieces)
            _trie.Add(Encoding.UTF8.GetBytes(piece), id);

        // Over normal pieces only; SentencePiece starts from FLT_MAX and C's FLT_MIN (the smallest normal positive
        // float, not -FLT_MAX), so with no normal piece of positive score the maximum stays FLT_MIN.
        var minScore = float.MaxValue;
        var maxScore = 1.17549435E-38f;
        for (var id = 0; id < _vocabulary.Count; id++)
        {
            if (_vocabulary.Types[id] != SentencePieceType.Normal)
                continue;
            minScore = Math.Min(minScore, _vocabulary.Scores[id]);
            maxScore = Math.Max(maxScore, _vocabulary.Scores[id]);
        }
        _unknownScore = minScore - UnknownPenalty;
        _maxScore = maxScore;
    }

    /// <summary>
    /// For checks against SentencePiece's model-level unit tests: report the segmentation itself, before unknown
    /// pieces are merged or spelt as bytes.
    /// </summary>
    internal bool ReportRawSegmentation { get; init; }

    public int UnknownId => _vocabulary.UnknownId;

    public int PieceToId(string piece) => _vocabulary.PieceToId(piece);

    /// <summary>Encodes <paramref name="text"/> and appends its pieces to <paramref name="output"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, List<SentencePieceToken> output)
    {
        var utf8 = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
        var normalized = new List<byte>(text.Length * 3 + 3);
        try
        {
            var length = Encoding.UTF8.GetBytes(text, utf8);
            _normalizer.Normalize(utf8.AsSpan(0, length), normalized);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(utf8);
        }
        if (normalized.Count == 0)
            return;

        var bytes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(normalized);
        var best = ArrayPool<BestPath>.Shared.Rent(bytes.Length + 1);
        try
        {
            FindBestPath(bytes, best);
            EmitPieces(bytes, best, output);
        }
        finally
        {
            ArrayPool<BestPath>.Shared.Return(best);
        }
    }

    private struct BestPath
    {
        public int Id;
        public float Score;
        public int Start; // -1: no path ends here yet
    }

    private void FindBestPath(ReadOnlySpan<byte> text, BestPath[] best)
    {
        for (var i = 0; i <= text.Length; i++)
            best[i] = new BestPath { Id = -1, Score = 0f, Start = -1 };

        for (var start = 0; start < text.Length;)
        {
            var scoreSoFar = best[start].Score;
            var charLength = Math.Min(Utf8.LeadByteLength(text[start]), text.Length - start);
            var coversOneChar = false;

            var node = PieceTrie.Root;
            for (var end = start; end < text.Length;)
            {
                node = _trie.Child(node, text[end++]);
                if (node < 0)
                    break;
                var id = _trie.Value(node);
                if (id < 0 || _vocabulary.Types[id] == SentencePieceType.Unused)
                    continue;

                var length = end - start;
                double pieceScore = _vocabulary.Types[id] == SentencePieceType.UserDefined
                    ? length * _maxScore - 0.1
                    : _vocabulary.Scores[id];
                var candidate = pieceScore + scoreSoFar;
                ref var target = ref best[end];
                if (target.Start == -1 || candidate > target.Score)
                    target = new BestPath { Id = id, Score = (float)candidate, Start = start };
                if (length == charLength)
                    coversOneChar = true;
            }

            if (!coversOneChar)
            {
                var candidate = _unknownScore + scoreSoFar; // float, as in SentencePiece
                ref var target = ref best[start + charLength];
                if (target.Start == -1 || candidate > target.Score)
                    target = new BestPath { Id = UnknownId, Score = candidate, Start = start };
            }
            start += charLength;
        }
    }

    private void EmitPieces(ReadOnlySpan<byte> text, BestPath[] best, List<SentencePieceToken> output)
    {
        var path = new List<(int Start, int End, int Id)>();
        for (var end = text.Length; end > 0; end = best[end].Start)
            path.Add((best[end].Start, end, best[end].Id));
        path.Reverse();

        var previousWasUnknown = false;
        foreach (var (start, end, id) in path)
        {
            var piece = id == _vocabulary.UnknownId ? Encoding.UTF8.GetString(text[start..end]) : _vocabulary.PieceOf(id);
            if (ReportRawSegmentation)
                output.Add(new SentencePieceToken(piece, id));
            else
                _vocabulary.Append(output, piece, id, ref previousWasUnknown);
        }
    }

    /// <summary>A byte trie of the vocabulary (what SentencePiece keeps in a darts-clone double array).</summary>
    private sealed class PieceTrie
    {
        public const int Root = 0;
        private readonly Dictionary<long, int> _children = new();
        private readonly List<int> _values = [-1];

        public void Add(ReadOnlySpan<byte> key, int value)
        {
            var node = Root;
            foreach (var b in key)
            {
                var next = Child(node, b);
                if (next < 0)
                {
                    next = _values.Count;
                    _values.Add(-1);
                    _children.Add(((long)node << 8) | b, next);
                }
                node = next;
            }
            _values[node] = value;
        }

        public int Child(int node, byte b) => _children.TryGetValue(((long)node << 8) | b, out var child) ? child : -1;

        public int Value(int node) => _values[node];
    }
}
