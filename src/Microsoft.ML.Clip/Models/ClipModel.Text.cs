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
        var lengths = new int[count];
        for (int i = 0; i < count; i++)
            lengths[i] = UsedLength(ids.Slice(i * context, context), Info.Tokenizer.PadId);
        // Shortest first, ties in row order (a stable sort: the same rows always make the same calls).
        var order = Enumerable.Range(0, count).OrderBy(i => lengths[i]).ToArray();
        int budget = batch * context;
        var buffer = new long[Math.Min(count, batch) * context];
        var output = Array.Empty<float>();
        for (int start = 0; start < count;)
        {
            var (n, length) = NextCall(lengths, order, start, batch, budget, TextCallsByIds);
            for (int j = 0; j < n; j++)
                ids.Slice(order[start + j] * context, length).CopyTo(buffer.AsSpan(j * length, length));
            if (output.Length < n * d)
                output = new float[n * d];
            RunTokens(buffer, n, length, output.AsSpan(0, n * d));
            for (int j = 0; j < n; j++)
                output.AsSpan(j * d, d).CopyTo(destination.Slice(order[start + j] * d, d));
            start += n;
        }
    }

    /// <summary>
    /// The rows (count) and length of the call starting at <paramref name="start"/> of the length-sorted
    /// <paramref name="order"/>: as many rows as fit <paramref name="budget"/> ids at the call's length (its longest row's),
    /// or, when not <paramref name="byIds"/>, at most <paramref name="batch"/> rows; always at least one.
    /// </summary>
    internal static (int Rows, int Length) NextCall(int[] lengths, int[] order, int start, int batch, int budget, bool byIds)
    {
        int n = 0, length = 1;
        while (start + n < order.Length)
        {
            int longer = Math.Max(length, lengths[order[start + n]]);
            if (n > 0 && (byIds ? (long)(n + 1) * longer > budget : n + 1 > batch))
                break;
            length = longer;
            n++;
        }
        return (n, length);
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
