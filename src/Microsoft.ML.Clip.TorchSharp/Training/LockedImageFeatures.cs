using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The image side of locked-image (LiT) training: each image's frozen-encoder features, keyed by its content in an
/// on-disk cache. <see cref="EncodeAll"/> runs once before training: it hashes every row's image, remembers the row's
/// key and encodes, in batches, what the cache lacks. The epochs then look features up by row (<see cref="Featurize"/>)
/// without reading or hashing images again, so they cost the text side alone.
/// </summary>
internal sealed class LockedImageFeatures : IDisposable
{
    /// <summary>Images preprocessed and encoded together in the encoding pass.</summary>
    private const int EncodeBatch = 64;

    private readonly FrozenImageEncoder _encoder;
    private readonly ImageFeatureCache _cache;
    private readonly ClipImagePreprocessor _preprocessor;
    private readonly Dictionary<long, string> _rowKeys = [];
    private long _hitsReported, _missesReported;

    public LockedImageFeatures(FrozenImageEncoder encoder, string cacheDirectory)
    {
        _encoder = encoder;
        _cache = new ImageFeatureCache(cacheDirectory, encoder);
        _preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
    }

    /// <summary>The cache (its hit and miss counters tell what each pass cost).</summary>
    public ImageFeatureCache Cache => _cache;

    /// <summary>
    /// One pass over <paramref name="imageColumn"/> of <paramref name="data"/>: every image not in the cache is encoded
    /// (each distinct content once) and stored. Returns the look-ups answered by the cache and the images encoded.
    /// </summary>
    public (long Hits, long Encoded, TimeSpan Elapsed) EncodeAll(IDataView data, DataViewSchema.Column imageColumn, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long hits = 0, encoded = 0;
        var pending = new List<(string Key, object Image, string Name)>(EncodeBatch);
        var pendingKeys = new HashSet<string>(StringComparer.Ordinal);
        // A path seen before (several captions of one image) is neither read nor hashed again: its key is known, and its
        // features are cached or pending already.
        var pathKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        using (var cursor = data.GetRowCursor([imageColumn]))
        {
            var image = ClipImageColumn.CreateGetter(cursor, imageColumn);
            while (cursor.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                var value = image();
                if (value is ClipImageColumn.ImagePath seen && pathKeys.TryGetValue(seen.Path, out var known)
                    && (_cache.Contains(known) || pendingKeys.Contains(known)))
                {
                    _rowKeys[cursor.Position] = known;
                    hits++;
                    continue;
                }
                var name = $"Column '{imageColumn.Name}', row {cursor.Position}";
                var (key, content) = ContentKey(value, name);
                if (value is ClipImageColumn.ImagePath path)
                    pathKeys[path.Path] = key;
                _rowKeys[cursor.Position] = key;
                if (_cache.Contains(key) || pendingKeys.Contains(key))
                {
                    hits++;
                    continue;
                }
                pending.Add((key, content, name));
                pendingKeys.Add(key);
                if (pending.Count == EncodeBatch)
                {
                    encoded += Encode(pending);
                    pending.Clear();
                    pendingKeys.Clear();
                }
            }
        }
        encoded += Encode(pending);
        _cache.Flush();
        return (hits, encoded, clock.Elapsed);
    }

    /// <summary>Features [images.Count, F] of the raw image values (as <see cref="ClipImageColumn.CreateGetter"/> returns them).</summary>
    /// <param name="images">The images.</param>
    /// <param name="rows">Their row numbers: a row seen by <see cref="EncodeAll"/> is looked up by its key, not read again.</param>
    /// <param name="describe">Names image i in error messages (column and row).</param>
    public Tensor Featurize(IReadOnlyList<object> images, IReadOnlyList<long> rows, Func<int, string> describe)
    {
        var featureSize = _encoder.FeatureSize;
        var result = new float[images.Count * featureSize];
        var missing = new List<(string Key, object Image, string Name)>();
        var slots = new List<int>();
        for (var i = 0; i < images.Count; i++)
        {
            var (key, image) = _rowKeys.TryGetValue(rows[i], out var known) ? (known, images[i]) : ContentKey(images[i], describe(i));
            var cached = _cache.TryGet(key);
            if (cached is not null) cached.CopyTo(result.AsSpan(i * featureSize, featureSize));
            else
            {
                // Not encoded up front (the view changed between passes): encode it now.
                missing.Add((key, image, describe(i)));
                slots.Add(i);
            }
        }
        if (missing.Count > 0)
        {
            // Only images that the encoding pass did not see (the data changed between passes) get here.
            Encode(missing);
            for (var m = 0; m < missing.Count; m++)
                _cache.Peek(missing[m].Key)!.CopyTo(result.AsSpan(slots[m] * featureSize, featureSize));
        }
        return tensor(result, [images.Count, featureSize]);
    }

    /// <summary>What the cache answered since the last call: (look-ups found, look-ups missed).</summary>
    public (long Hits, long Misses) TakeCounts()
    {
        var counts = (_cache.Hits - _hitsReported, _cache.Misses - _missesReported);
        (_hitsReported, _missesReported) = (_cache.Hits, _cache.Misses);
        return counts;
    }

    public void Dispose() => _cache.Dispose();

    // Encodes the images (preprocessed batch by batch into the encoder's buffer) and stores the features.
    private int Encode(List<(string Key, object Image, string Name)> images)
    {
        if (images.Count == 0) return 0;
        var features = new float[images.Count * _encoder.FeatureSize];
        _encoder.Featurize(images, (image, destination) => ClipImageColumn.Preprocess(_preprocessor, image.Image, destination, image.Name), features);
        for (var i = 0; i < images.Count; i++)
            _cache.Add(images[i].Key, features.AsSpan(i * _encoder.FeatureSize, _encoder.FeatureSize));
        return images.Count;
    }

    // The key is the hash of what the image is made of: a file's or a byte column's encoded bytes (a path is read once
    // here and its bytes decoded from memory), or an in-memory image's size, format and pixels.
    private static (string Key, object Image) ContentKey(object image, string name)
    {
        switch (image)
        {
            case ClipImageColumn.ImagePath path:
                byte[] bytes;
                try
                {
                    bytes = File.ReadAllBytes(path.Path);
                }
                catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
                {
                    throw new FileNotFoundException($"{name}: image file '{path.Path}' does not exist.", path.Path, e);
                }
                return (ImageFeatureCache.Key(bytes), bytes);
            case byte[] encoded:
                return (ImageFeatureCache.Key(encoded), encoded);
            case DecodedImage decoded:
                using (var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
                {
                    sha.AppendData(BitConverter.GetBytes(decoded.Width));
                    sha.AppendData(BitConverter.GetBytes(decoded.Height));
                    sha.AppendData(BitConverter.GetBytes((int)decoded.Format));
                    sha.AppendData(BitConverter.GetBytes(decoded.AlphaPremultiplied));
                    sha.AppendData(decoded.Pixels);
                    return (Convert.ToHexStringLower(sha.GetHashAndReset()), decoded);
                }
            default:
                throw new InvalidOperationException($"Unexpected image value {image?.GetType().Name ?? "null"}.");
        }
    }
}
