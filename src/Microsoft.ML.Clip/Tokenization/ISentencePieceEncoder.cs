namespace Microsoft.ML.Clip.Tokenization;

/// <summary>One piece of SentencePiece's output: its text (normalised, <c>▁</c> for spaces) and id.</summary>
internal readonly record struct SentencePieceToken(string Piece, int Id);

/// <summary>
/// What the SigLIP and Gemma tokenizer rules need from SentencePiece: <c>encode(text, out_type=str)</c> with the ids of
/// the pieces, and <c>piece_to_id</c>. Implementations are thread-safe.
/// </summary>
internal interface ISentencePieceEncoder
{
    /// <summary>The id of the unknown piece.</summary>
    int UnknownId { get; }

    /// <summary>Encodes <paramref name="text"/> as SentencePiece's <c>encode</c> does and appends the pieces.</summary>
    void Encode(ReadOnlySpan<char> text, List<SentencePieceToken> output);

    /// <summary><c>piece_to_id</c>: the id of a piece string (the unknown id when it is not in the vocabulary).</summary>
    int PieceToId(string piece);
}
