using System.Buffers;

namespace Microsoft.ML.Clip.Models;

/// <summary>Token rows of different lengths, as <see cref="LengthSortedCalls.Run"/> reads them.</summary>
internal interface ITokenRows
{
    /// <summary>Rows.</summary>
    int Count { get; }

    /// <summary>The ids of <paramref name="row"/> the encoder must see (at least 1): the rest is padding.</summary>
    int Length(int row);

    /// <summary>Writes <paramref name="row"/>'s ids to <paramref name="target"/>, padded to its length (at least <see cref="Length"/>).</summary>
    void CopyTo(int row, Span<long> target);
}

/// <summary>
/// Token rows run through a text encoder that ignores its padding (CLIP's causal text tower read at the end token, a
/// BERT-family encoder that masks <c>[PAD]</c>): rows visited shortest first (ties in row order, a stable sort, so the
/// same rows always make the same calls and the same features), each call cut after its longest row, the features
/// copied back in the rows' order. The one place for <see cref="ClipModel"/>'s text tower and
/// <see cref="FrozenTextEncoder"/>, so their batching cannot drift apart; the buffers of one run are rented from the
/// shared pools and reused by every call of it.
/// </summary>
internal static class LengthSortedCalls
{
    /// <summary>One encoder call on the first <paramref name="rows"/> × <paramref name="length"/> ids of <paramref name="ids"/>; writes [rows, F].</summary>
    public delegate void Call(long[] ids, int rows, int length, Span<float> destination);

    /// <summary>
    /// Writes the features of <paramref name="rows"/> [count, <paramref name="featureSize"/>] to <paramref name="destination"/>.
    /// A call holds at most <paramref name="rowLimit"/> rows and <paramref name="idLimit"/> ids at its length (always at least one row).
    /// </summary>
    public static void Run<TRows>(TRows rows, int featureSize, int rowLimit, long idLimit, Call call, Span<float> destination)
        where TRows : ITokenRows, allows ref struct
    {
        var count = rows.Count;
        if (count == 0)
            return;
        var lengths = new int[count];
        for (var i = 0; i < count; i++)
            lengths[i] = rows.Length(i);
        var order = Enumerable.Range(0, count).OrderBy(i => lengths[i]).ToArray();
        long[]? ids = null;
        float[]? output = null;
        try
        {
            for (var start = 0; start < count;)
            {
                var (n, length) = NextCall(lengths, order, start, rowLimit, idLimit);
                Grow(ref ids, n * length);
                Grow(ref output, n * featureSize);
                for (var j = 0; j < n; j++)
                    rows.CopyTo(order[start + j], ids.AsSpan(j * length, length));
                call(ids, n, length, output.AsSpan(0, n * featureSize));
                for (var j = 0; j < n; j++)
                    output.AsSpan(j * featureSize, featureSize).CopyTo(destination.Slice(order[start + j] * featureSize, featureSize));
                start += n;
            }
        }
        finally
        {
            if (ids is not null) ArrayPool<long>.Shared.Return(ids);
            if (output is not null) ArrayPool<float>.Shared.Return(output);
        }
    }

    /// <summary>
    /// The rows (count) and length of the call starting at <paramref name="start"/> of the length-sorted
    /// <paramref name="order"/>: as many rows as fit <paramref name="rowLimit"/> and <paramref name="idLimit"/> ids at the
    /// call's length (its longest row's); always at least one.
    /// </summary>
    internal static (int Rows, int Length) NextCall(int[] lengths, int[] order, int start, int rowLimit, long idLimit)
    {
        int n = 0, length = 1;
        while (start + n < order.Length)
        {
            int longer = Math.Max(length, lengths[order[start + n]]);
            if (n > 0 && (n + 1 > rowLimit || (long)(n + 1) * longer > idLimit))
                break;
            length = longer;
            n++;
        }
        return (n, length);
    }

    // Pooled arrays may be longer than asked: a call uses only its first rows × length.
    private static void Grow<T>([System.Diagnostics.CodeAnalysis.NotNull] ref T[]? array, int size)
    {
        if (array is not null && array.Length >= size)
            return;
        if (array is not null) ArrayPool<T>.Shared.Return(array);
        array = ArrayPool<T>.Shared.Rent(size);
    }
}
