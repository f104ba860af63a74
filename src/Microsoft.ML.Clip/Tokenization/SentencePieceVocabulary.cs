using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// The vocabulary of a SentencePiece model as its encoders see it: ordinary pieces (normal, user-defined, unused;
/// the ones segmentation may produce) apart from reserved ones (control, unknown, byte), <c>piece_to_id</c>, and the
/// last step of <c>encode</c> (unknown pieces spelt as bytes with byte fallback, else a run of them merged into one).
/// </summary>
internal sealed class SentencePieceVocabulary
{
    private readonly string[] _pieces;
    private readonly Dictionary<string, int> _ordinary = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _ordinaryBySpan;
    private readonly Dictionary<string, int> _reserved = new(StringComparer.Ordinal);
    private readonly int[] _byteIds = new int[256];

    public SentencePieceVocabulary(SentencePieceModelFile model)
    {
        var count = model.Pieces.Count;
        _pieces = new string[count];
        Scores = new float[count];
        Types = new SentencePieceType[count];
        UnknownId = -1;
        for (var id = 0; id < count; id++)
        {
            var (piece, score, type) = model.Pieces[id];
            if (piece.Length == 0)
                throw new InvalidDataException($"Piece {id} of the SentencePiece model is empty.");
            _pieces[id] = piece;
            Scores[id] = score;
            Types[id] = type;
            var map = IsOrdinary(type) ? _ordinary : _reserved;
            if (!map.TryAdd(piece, id))
                throw new InvalidDataException($"The SentencePiece model defines {piece} twice.");
            if (type == SentencePieceType.Unknown)
                UnknownId = id;
            if (type == SentencePieceType.Byte && TryParseBytePiece(piece, out var b))
                _byteIds[b] = id;
        }
        if (UnknownId < 0)
            throw new InvalidDataException("The SentencePiece model has no unknown piece.");
        ByteFallback = model.ByteFallback;
        _ordinaryBySpan = _ordinary.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _pieces.Length;
    public int UnknownId { get; }
    public bool ByteFallback { get; }
    public float[] Scores { get; }
    public SentencePieceType[] Types { get; }

    public IEnumerable<(string Piece, int Id)> OrdinaryPieces => _ordinary.Select(kv => (kv.Key, kv.Value));

    public string PieceOf(int id) => _pieces[id];

    /// <summary>Normal, user-defined and unused pieces are segmentation candidates; the others are reserved.</summary>
    public static bool IsOrdinary(SentencePieceType type)
        => type is SentencePieceType.Normal or SentencePieceType.UserDefined or SentencePieceType.Unused;

    /// <summary>The id of an ordinary piece, or -1.</summary>
    public int OrdinaryId(ReadOnlySpan<char> piece) => _ordinaryBySpan.TryGetValue(piece, out var id) ? id : -1;

    /// <summary><c>piece_to_id</c>: reserved pieces first, then ordinary ones, else the unknown id.</summary>
    public int PieceToId(string piece)
        => _reserved.TryGetValue(piece, out var id) || _ordinary.TryGetValue(piece, out id) ? id : UnknownId;

    /// <summary>
    /// Appends one piece of the segmentation as <c>SentencePieceProcessor.encode</c> reports it: an unknown piece is
    /// spelt as byte pieces when the model has byte fallback, else merged into an unknown piece just before it.
    /// </summary>
    public void Append(List<SentencePieceToken> output, string piece, int id, ref bool previousWasUnknown)
    {
        var isUnknown = id == UnknownId;
        if (isUnknown && ByteFallback)
        {
            foreach (var b in Encoding.UTF8.GetBytes(piece))
                output.Add(new SentencePieceToken(_pieces[_byteIds[b]], _byteIds[b]));
        }
        else if (isUnknown && previousWasUnknown)
        {
            output[^1] = output[^1] with { Piece = output[^1].Piece + piece };
        }
        else
        {
            output.Add(new SentencePieceToken(piece, id));
        }
        previousWasUnknown = isUnknown;
    }

    private static bool TryParseBytePiece(string piece, out byte value)
    {
        value = 0;
        return piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[5] == '>'
            && byte.TryParse(piece.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out value);
    }
}
