namespace Microsoft.ML.Clip.Models;

public sealed partial class ClipModel
{
    /// <summary>
    /// Whether the text encoder takes rows of any length up to <see cref="ContextLength"/> (<c>text_sequence: dynamic</c>
    /// in <c>clip_model.json</c>), so that a batch can be cut after its longest text; false for encoders whose rows are
    /// always the full context (older exports, SigLIP).
    /// </summary>
    internal bool DynamicTextLength => Info.TextSequence == ClipModelInfo.DynamicSequence;

    /// <summary>
    /// Embeds <paramref name="count"/> token rows of <see cref="ContextLength"/> ids into <paramref name="destination"/>
    /// [count, D], in the rows' order. A call holds at most <paramref name="batchSize"/> (default <see cref="BatchSize"/>)
    /// full-context rows' worth of ids: with a <see cref="DynamicTextLength"/> encoder the rows are visited shortest first and
    /// each call's rows are cut after the longest one's last token — exact for CLIP's text tower (causal, read at the end
    /// token) and for any encoder that masks the padding itself — so a call of short prompts holds more rows (32 × 77 ids:
    /// about 200 prompts of 12 tokens), with the memory of a full-context call and larger, cheaper GEMMs.
    /// </summary>
    internal void EmbedTokenRows(ReadOnlySpan<long> ids, int count, Span<float> destination, int? batchSize = null)
    {
        int batch = batchSize ?? BatchSize, context = ContextLength, d = EmbeddingSize;
        if (count == 0)
            return;
        if (!DynamicTextLength)
        {
            // A fixed-length encoder: rows in order, BatchSize at a time, straight into the destination (no sort, no copy back).
            var rows = new long[Math.Min(count, batch) * context];
            for (int start = 0; start < count; start += batch)
            {
                int n = Math.Min(batch, count - start);
                ids.Slice(start * context, n * context).CopyTo(rows);
                RunTokens(rows, n, context, destination.Slice(start * d, n * d));
            }
            return;
        }
        // By ids: a call holds batch × context ids however many rows that is; by rows (benchmarks only): batch rows.
        LengthSortedCalls.Run(new ContextRows(ids, count, context, Info.Tokenizer.PadId), d,
            TextCallsByIds ? int.MaxValue : batch, TextCallsByIds ? (long)batch * context : long.MaxValue, RunTokens, destination);
    }

    /// <summary>Full-context token rows, as the token APIs take them: a row's length ends at its last id that is not padding.</summary>
    private readonly ref struct ContextRows : ITokenRows
    {
        private readonly ReadOnlySpan<long> _ids;
        private readonly int _context;
        private readonly long _padId;

        public ContextRows(ReadOnlySpan<long> ids, int count, int context, long padId)
        {
            _ids = ids;
            Count = count;
            _context = context;
            _padId = padId;
        }

        public int Count { get; }

        public int Length(int row) => UsedLength(_ids.Slice(row * _context, _context), _padId);

        // The row's own ids past its length are padding already.
        public void CopyTo(int row, Span<long> target) => _ids.Slice(row * _context, target.Length).CopyTo(target);
    }

    /// <summary>
    /// Whether a text call is sized by ids (<see cref="BatchSize"/> × context) rather than by rows: true, except in
    /// benchmarks that compare the two.
    /// </summary>
    internal bool TextCallsByIds { get; set; } = true;

    /// <summary>
    /// The ids of <paramref name="row"/> up to its last one that is not <paramref name="padId"/> (at least 1): for CLIP,
    /// start token, text, end token.
    /// </summary>
    internal static int UsedLength(ReadOnlySpan<long> row, long padId)
    {
        int length = row.Length;
        while (length > 1 && row[length - 1] == padId)
            length--;
        return length;
    }
}
