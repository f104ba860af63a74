using System.Diagnostics;
using Microsoft.ML.Clip.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The text side of locked-text training: each caption's frozen-encoder features (a pretrained sentence encoder such
/// as MiniLM), keyed by the text in an on-disk cache of the same format and care as the image features'
/// (<see cref="FeatureCache"/>: one append-only file per encoder id, held exclusively, a torn last record cut off).
/// <see cref="EncodeAll"/> runs once before training: it reads the caption column, and encodes every distinct caption
/// the cache lacks, shortest first in batches cut to their longest caption. The epochs then look features up by text
/// (<see cref="Featurize"/>), so a caption costs one encoder pass however many epochs, runs or models use it.
/// </summary>
internal sealed class LockedTextFeatures : IDisposable
{
    /// <summary>Captions encoded and stored together in the encoding pass (then the file is flushed and progress logged).</summary>
    private const int EncodeChunk = 1024;

    private readonly FrozenTextEncoder _encoder;
    private readonly FeatureCache _cache;
    // Cache key of each caption seen: the epochs look captions up every step, and a key is a SHA-256 of the text.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _keys = new(StringComparer.Ordinal);
    private long _hitsReported, _missesReported;

    public LockedTextFeatures(FrozenTextEncoder encoder, string cacheDirectory)
    {
        _encoder = encoder;
        _cache = new FeatureCache(cacheDirectory, encoder.Id, encoder.FeatureSize);
    }

    /// <summary>The cache (its hit and miss counters tell what each pass cost).</summary>
    public FeatureCache Cache => _cache;

    /// <summary>
    /// One pass over <paramref name="textColumn"/> of <paramref name="data"/>: every distinct caption not in the cache is
    /// encoded and stored. Returns the rows whose caption was cached (or repeated) and the captions encoded.
    /// </summary>
    public (long Hits, long Encoded, TimeSpan Elapsed) EncodeAll(IDataView data, DataViewSchema.Column textColumn, CancellationToken cancellationToken,
        Action<string>? log = null)
    {
        var clock = Stopwatch.StartNew();
        long hits = 0;
        // Each caption the cache lacks, tokenized once: its length orders the pass and its ids are what is run.
        var missing = new Dictionary<string, int[]>(StringComparer.Ordinal);
        using (var cursor = data.GetRowCursor([textColumn]))
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(textColumn);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                getter(ref value);
                var text = value.ToString();
                var key = KeyOf(text);
                if (_cache.Contains(key) || missing.ContainsKey(key)) hits++;
                else missing[key] = _encoder.Tokenize(text);
            }
        }
        // Shortest first across the whole pass, so that each encoder call holds captions of about one length.
        var pending = missing.OrderBy(p => p.Value.Length).ThenBy(p => p.Key, StringComparer.Ordinal).ToList();
        var features = new float[Math.Min(EncodeChunk, pending.Count) * _encoder.FeatureSize];
        for (var start = 0; start < pending.Count; start += EncodeChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var chunk = pending.GetRange(start, Math.Min(EncodeChunk, pending.Count - start));
            _encoder.FeaturizeTokens(chunk.ConvertAll(p => p.Value), features);
            for (var i = 0; i < chunk.Count; i++)
                _cache.Add(chunk[i].Key, features.AsSpan(i * _encoder.FeatureSize, _encoder.FeatureSize));
            _cache.Flush();
            log?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"Encoded {start + chunk.Count} of {pending.Count} captions with '{_encoder.Name}' ({(start + chunk.Count) / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):F0} captions/s)."));
        }
        return (hits, pending.Count, clock.Elapsed);
    }

    /// <summary>Features [texts.Count, F] of <paramref name="texts"/>; a caption the pass did not see is encoded now, once however many rows hold it.</summary>
    public Tensor Featurize(IReadOnlyList<string> texts)
    {
        var size = _encoder.FeatureSize;
        var result = new float[texts.Count * size];
        var missing = new List<(int Slot, int Text)>();
        var unseen = new List<(string Key, string Text)>();
        var unseenIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < texts.Count; i++)
        {
            var key = KeyOf(texts[i]);
            if (_cache.TryGet(key) is { } cached) cached.CopyTo(result.AsSpan(i * size, size));
            else
            {
                if (!unseenIndex.TryGetValue(key, out var text))
                {
                    unseenIndex[key] = text = unseen.Count;
                    unseen.Add((key, texts[i]));
                }
                missing.Add((i, text));
            }
        }
        if (unseen.Count > 0)
        {
            var encoded = new float[unseen.Count * size];
            _encoder.Featurize(unseen.ConvertAll(u => u.Text), encoded);
            for (var u = 0; u < unseen.Count; u++)
                _cache.Add(unseen[u].Key, encoded.AsSpan(u * size, size));
            foreach (var (slot, text) in missing)
                encoded.AsSpan(text * size, size).CopyTo(result.AsSpan(slot * size, size));
        }
        return tensor(result, [texts.Count, size]);
    }

    private string KeyOf(string text) => _keys.GetOrAdd(text, FeatureCache.Key);

    /// <summary>What the cache answered since the last call: (look-ups found, look-ups missed).</summary>
    public (long Hits, long Misses) TakeCounts()
    {
        var counts = (_cache.Hits - _hitsReported, _cache.Misses - _missesReported);
        (_hitsReported, _missesReported) = (_cache.Hits, _cache.Misses);
        return counts;
    }

    public void Dispose() => _cache.Dispose();
}
