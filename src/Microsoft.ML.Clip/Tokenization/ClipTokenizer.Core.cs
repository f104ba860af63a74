using System.Collections.Concurrent;
using System.Numerics;
using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

// The encoding pipeline behind the public members: normalise into per-thread buffers, pre-tokenise,
// look each piece up in a shared cache, byte-pair encode the misses.
public sealed partial class ClipTokenizer
{
    /// <summary>Pieces kept in the cache before it is emptied (bounds the memory of long-running hosts).</summary>
    internal const int MaxCachedPieces = 1 << 18;

    private const int MaxTextInMessage = 80;

    /// <summary>Per-thread buffers larger than this (in items) are not kept after the text that needed them.</summary>
    private const int MaxRetainedBuffer = 1 << 16;

    [ThreadStatic] private static char[]? t_normalized;
    [ThreadStatic] private static char[]? t_scratch;
    [ThreadStatic] private static int[]? t_ids;

    private readonly ClipBpeVocabulary _vocabulary;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int[]>.AlternateLookup<ReadOnlySpan<char>> _cacheLookup;
    private int _cachedPieces;

    private ClipTokenizer(ClipBpeVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        _cacheLookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>A new tokenizer with empty caches (<see cref="Default"/> is the shared one).</summary>
    internal static ClipTokenizer CreateFromEmbeddedVocabulary() => new(ClipBpeVocabulary.LoadEmbedded());

    /// <summary>Number of tokens in the vocabulary (49408).</summary>
    internal int VocabularySize => _vocabulary.Count;

    /// <summary>Empties the piece cache.</summary>
    private void ClearCache()
    {
        _cache.Clear();
        Interlocked.Exchange(ref _cachedPieces, 0);
    }

    /// <summary>
    /// The ids of <paramref name="text"/> in a per-thread buffer, valid until this thread encodes again.
    /// </summary>
    private ReadOnlySpan<int> EncodeToScratch(string text)
    {
        var normalized = t_normalized ??= new char[256];
        var scratch = t_scratch ??= new char[256];
        var length = ClipTextNormalizer.Normalize(text, ref normalized, ref scratch);
        // Keep the grown buffers for the next text on this thread, unless one huge text grew them.
        t_normalized = normalized.Length <= MaxRetainedBuffer ? normalized : null;
        t_scratch = scratch.Length <= MaxRetainedBuffer ? scratch : null;

        var ids = t_ids ??= new int[128];
        var count = 0;
        var span = normalized.AsSpan(0, length);
        for (var i = 0; i < span.Length;)
        {
            var pieceLength = ClipPreTokenizer.MatchAt(span, i, out var skip);
            if (pieceLength == 0)
            {
                i += skip;
                continue;
            }
            var piece = Lookup(span.Slice(i, pieceLength));
            if (count + piece.Length > ids.Length)
            {
                Array.Resize(ref ids, Math.Max(ids.Length * 2, count + piece.Length));
                t_ids = ids.Length <= MaxRetainedBuffer ? ids : null;
            }
            piece.CopyTo(ids.AsSpan(count));
            count += piece.Length;
            i += pieceLength;
        }
        return ids.AsSpan(0, count);
    }

    private int[] Lookup(ReadOnlySpan<char> piece)
    {
        if (_cacheLookup.TryGetValue(piece, out var ids))
            return ids;
        ids = BytePairEncode(piece);
        if (Interlocked.Increment(ref _cachedPieces) > MaxCachedPieces)
            ClearCache();
        _cacheLookup.TryAdd(piece, ids);
        return ids;
    }

    private int[] BytePairEncode(ReadOnlySpan<char> piece)
    {
        // The reference's cache starts with the two special tokens: only these exact strings map to them.
        if (piece.SequenceEqual("<|startoftext|>"))
            return [StartOfTextId];
        if (piece.SequenceEqual("<|endoftext|>"))
            return [EndOfTextId];
        return _vocabulary.Merge(piece);
    }

    /// <summary>
    /// Writes [SOT, ids…, EOT, 0…] into <paramref name="row"/>; applies the truncation policy and
    /// returns whether the text was cut.
    /// </summary>
    private static bool WriteRow<T>(string text, ReadOnlySpan<int> ids, Span<T> row, ClipTruncation truncation, string paramName)
        where T : struct, IBinaryInteger<T>
    {
        var needed = ids.Length + 2;
        var truncated = needed > row.Length;
        if (truncated && truncation != ClipTruncation.Truncate)
        {
            throw new ArgumentException(
                $"Text \"{Shorten(text)}\" has {needed} tokens with the start and end tokens, more than the context length {row.Length}. " +
                "Shorten it or pass ClipTruncation.Truncate.", paramName);
        }
        row.Clear();
        row[0] = T.CreateTruncating(StartOfTextId);
        var copy = Math.Min(ids.Length, row.Length - 1);
        for (var i = 0; i < copy; i++)
            row[i + 1] = T.CreateTruncating(ids[i]);
        // As clip.tokenize: cut to the context, then the last slot holds the end token.
        row[Math.Min(ids.Length + 1, row.Length - 1)] = T.CreateTruncating(EndOfTextId);
        return truncated;
    }

    /// <summary>The [texts.Count, contextLength] matrix behind <see cref="EncodeBatch"/> and <see cref="EncodeBatchInt32"/>.</summary>
    private T[] EncodeMatrix<T>(IReadOnlyList<string> texts, int contextLength, ClipTruncation truncation)
        where T : struct, IBinaryInteger<T>
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckContextLength(contextLength);
        var matrix = new T[checked(texts.Count * contextLength)];
        for (var i = 0; i < texts.Count; i++)
        {
            var text = texts[i] ?? throw new ArgumentNullException(nameof(texts), $"texts[{i}] is null.");
            WriteRow(text, EncodeToScratch(text), matrix.AsSpan(i * contextLength, contextLength), truncation, $"texts[{i}]");
        }
        return matrix;
    }

    private static string Shorten(string text)
        => text.Length <= MaxTextInMessage ? text : string.Concat(text.AsSpan(0, MaxTextInMessage - 1), "…");

    private static void CheckContextLength(int contextLength)
    {
        if (contextLength < 1)
            throw new ArgumentOutOfRangeException(nameof(contextLength), contextLength, "The context length must be at least 1.");
    }

    private string DecodeCore(IEnumerable<int> ids)
    {
        var bytes = new List<byte>();
        var ended = false;
        foreach (var id in ids)
        {
            if ((uint)id >= (uint)_vocabulary.Count)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token id {id} is outside the vocabulary (0..{_vocabulary.Count - 1}).");
            if (id == EndOfTextId)
                ended = true;
            if (id is StartOfTextId or EndOfTextId || (ended && id == 0))
                continue;
            bytes.AddRange(_vocabulary.TokenBytes(id));
        }
        // As the reference: UTF-8 with replacement, then every '</w>' becomes a space.
        return Encoding.UTF8.GetString(bytes.ToArray()).Replace(ClipBpeVocabulary.EndOfWord, " ", StringComparison.Ordinal);
    }
}
