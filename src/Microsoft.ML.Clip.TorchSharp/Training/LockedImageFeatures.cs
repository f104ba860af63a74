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
/// without reading or hashing images again, so they cost the text side alone. With <see cref="ImageVariants"/>, the
/// variants of the images that have one are encoded and cached in the same pass, and a row shows its variant's features
/// in the epochs the variants choose.
/// </summary>
internal sealed class LockedImageFeatures : IDisposable
{
    /// <summary>Images preprocessed and encoded together in the encoding pass.</summary>
    private const int EncodeBatch = 64;

    private readonly FrozenImageEncoder _encoder;
    private readonly FeatureCache _cache;
    private readonly ClipImagePreprocessor _preprocessor;
    private readonly Dictionary<long, string> _rowKeys = [];
    private readonly ImageVariants? _variants;
    // Content key → the cache key of its variant (null: the image has none), so epochs hash nothing again.
    private readonly Dictionary<string, string?> _variantKeys = new(StringComparer.Ordinal);
    private long _hitsReported, _missesReported;

    public LockedImageFeatures(FrozenImageEncoder encoder, string cacheDirectory, ImageVariants? variants = null)
    {
        _encoder = encoder;
        _cache = new FeatureCache(cacheDirectory, encoder);
        _preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
        _variants = variants;
    }

    /// <summary>Variants encoded by <see cref="EncodeAll"/> (0 without <see cref="ImageVariants"/>).</summary>
    public long VariantsEncoded { get; private set; }

    /// <summary>The cache (its hit and miss counters tell what each pass cost).</summary>
    public FeatureCache Cache => _cache;

    /// <summary>
    /// One pass over <paramref name="imageColumn"/> of <paramref name="data"/>: every image not in the cache is encoded
    /// (each distinct content once) and stored. Returns the look-ups answered by the cache and the images encoded.
    /// </summary>
    public (long Hits, long Encoded, TimeSpan Elapsed) EncodeAll(IDataView data, DataViewSchema.Column imageColumn, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        long hits = 0, encoded = 0;
        var pending = new List<(string Key, object Image, string Name, long Row)>(EncodeBatch);
        var pendingKeys = new HashSet<string>(StringComparer.Ordinal);
        // A path seen before (several captions of one image) is neither read nor hashed again: its key is known, and its
        // features are cached or pending already.
        var pathKeys = new Dictionary<string, string>(StringComparer.Ordinal);
        void Flush()
        {
            if (pending.Count < EncodeBatch) return;
            encoded += Encode(pending, imageColumn.Name);
            pending.Clear();
            pendingKeys.Clear();
        }
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
                var row = cursor.Position;
                var name = ClipImageRowError.SourceName(value, imageColumn.Name, row);
                var (key, content) = ContentKey(value, imageColumn.Name, row);
                if (value is ClipImageColumn.ImagePath path)
                    pathKeys[path.Path] = key;
                _rowKeys[cursor.Position] = key;
                // A variant is checked on its own: the image may be cached from a run without variants.
                if (VariantKey(key) is { } variantKey && !_cache.Contains(variantKey) && pendingKeys.Add(variantKey))
                {
                    var variant = ClipImageRowError.Read(imageColumn.Name, row, () => _variants!.Make(content, _variants.For(key)!.Value, name));
                    pending.Add((variantKey, variant, name + " (variant)", row));
                    VariantsEncoded++;
                    Flush();
                }
                if (_cache.Contains(key) || pendingKeys.Contains(key))
                {
                    hits++;
                    continue;
                }
                pending.Add((key, content, name, row));
                pendingKeys.Add(key);
                Flush();
            }
        }
        encoded += Encode(pending, imageColumn.Name);
        _cache.Flush();
        return (hits, encoded, clock.Elapsed);
    }

    /// <summary>Features [images.Count, F] of the raw image values (as <see cref="ClipImageColumn.CreateGetter"/> returns them).</summary>
    /// <param name="images">The images.</param>
    /// <param name="rows">Their row numbers: a row seen by <see cref="EncodeAll"/> is looked up by its key, not read again.</param>
    /// <param name="column">The image column: an image's errors name it and the row (<see cref="ClipImageRowError"/>).</param>
    /// <param name="epoch">The epoch: with <see cref="ImageVariants"/>, it decides which rows show their image's variant.</param>
    public Tensor Featurize(IReadOnlyList<object> images, IReadOnlyList<long> rows, string column, int epoch)
    {
        var featureSize = _encoder.FeatureSize;
        var result = new float[images.Count * featureSize];
        var missing = new List<(string Key, object Image, string Name, long Row)>();
        var slots = new List<int>();
        for (var i = 0; i < images.Count; i++)
        {
            var row = rows[i];
            var (key, image) = _rowKeys.TryGetValue(row, out var known) ? (known, images[i]) : ContentKey(images[i], column, row);
            if (VariantKey(key) is { } variantKey && _variants!.Shows(epoch, row))
            {
                // Made here only when the encoding pass did not see the image (the data changed between passes).
                if (!_cache.Contains(variantKey))
                {
                    var original = image;
                    image = ClipImageRowError.Read(column, row, () => _variants.Make(original, _variants.For(key)!.Value, ClipImageRowError.SourceName(original, column, row)));
                }
                key = variantKey;
            }
            var cached = _cache.TryGet(key);
            if (cached is not null) cached.CopyTo(result.AsSpan(i * featureSize, featureSize));
            else
            {
                // Not encoded up front (the view changed between passes): encode it now.
                missing.Add((key, image, ClipImageRowError.SourceName(images[i], column, row), row));
                slots.Add(i);
            }
        }
        if (missing.Count > 0)
        {
            // Only images that the encoding pass did not see (the data changed between passes) get here.
            Encode(missing, column);
            for (var m = 0; m < missing.Count; m++)
                _cache.Peek(missing[m].Key)!.CopyTo(result.AsSpan(slots[m] * featureSize, featureSize));
        }
        return tensor(result, [images.Count, featureSize]);
    }

    // The cache key of the variant of the image with content key contentKey, or null (no variants, or none for this image).
    private string? VariantKey(string contentKey)
    {
        if (_variants is null) return null;
        if (!_variantKeys.TryGetValue(contentKey, out var variantKey))
            _variantKeys[contentKey] = variantKey = _variants.For(contentKey) is { } kind ? ImageVariants.CacheKey(contentKey, kind) : null;
        return variantKey;
    }

    /// <summary>What the cache answered since the last call: (look-ups found, look-ups missed).</summary>
    public (long Hits, long Misses) TakeCounts()
    {
        var counts = (_cache.Hits - _hitsReported, _cache.Misses - _missesReported);
        (_hitsReported, _missesReported) = (_cache.Hits, _cache.Misses);
        return counts;
    }

    public void Dispose() => _cache.Dispose();

    // Encodes the images (preprocessed batch by batch into the encoder's buffer) and stores the features. A decoding error
    // names the column and row, and carries them (ClipImageRowError).
    private int Encode(List<(string Key, object Image, string Name, long Row)> images, string column)
    {
        if (images.Count == 0) return 0;
        var features = new float[images.Count * _encoder.FeatureSize];
        _encoder.Featurize(images, (image, destination) =>
        {
            try
            {
                ClipImageColumn.Preprocess(_preprocessor, image.Image, destination, image.Name);
            }
            catch (InvalidDataException e) when (ClipImageRowError.Of(e) is null)
            {
                throw ClipImageRowError.Naming(column, image.Row, e.Message, e); // as ClipImageRowError.Read (a span cannot enter its lambda)
            }
        }, features);
        for (var i = 0; i < images.Count; i++)
            _cache.Add(images[i].Key, features.AsSpan(i * _encoder.FeatureSize, _encoder.FeatureSize));
        return images.Count;
    }

    // The key is the hash of what the image is made of: a file's or a byte column's encoded bytes (a path is read once
    // here and its bytes decoded from memory), or an in-memory image's size, format and pixels.
    private static (string Key, object Image) ContentKey(object image, string column, long row)
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
                    var detail = $"image file '{path.Path}' does not exist.";
                    throw ClipImageRowError.Attach(new FileNotFoundException($"{ClipImageRowError.Name(column, row)}: {detail}", path.Path, e), column, row, detail);
                }
                return (FeatureCache.Key(bytes), bytes);
            case byte[] encoded:
                return (FeatureCache.Key(encoded), encoded);
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
