using System.Security.Cryptography;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The image side of a locked-image (LiT) training batch: each image's frozen-encoder features, from the on-disk cache
/// when its content was seen before, otherwise preprocessed and encoded (all of a batch's misses in one batched call)
/// and added to the cache. The first epoch pays for the encoder; later epochs and later runs only read the cache.
/// </summary>
internal sealed class LockedImageFeatures : IDisposable
{
    private readonly FrozenImageEncoder _encoder;
    private readonly ImageFeatureCache _cache;
    private readonly ClipImagePreprocessor _preprocessor;
    private long _hitsReported, _missesReported;

    public LockedImageFeatures(FrozenImageEncoder encoder, string cacheDirectory)
    {
        _encoder = encoder;
        _cache = new ImageFeatureCache(cacheDirectory, encoder);
        _preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
    }

    /// <summary>The cache (its hit and miss counters tell what each epoch cost).</summary>
    public ImageFeatureCache Cache => _cache;

    /// <summary>Features [images.Count, F] of the raw image values (as <see cref="ClipImageColumn.CreateGetter"/> returns them).</summary>
    /// <param name="images">The images.</param>
    /// <param name="describe">Names image i in error messages (column and row).</param>
    public Tensor Featurize(IReadOnlyList<object> images, Func<int, string> describe)
    {
        var featureSize = _encoder.FeatureSize;
        var result = new float[images.Count * featureSize];
        var missing = new List<(int Index, string Key, object Image)>();
        for (var i = 0; i < images.Count; i++)
        {
            var (key, image) = ContentKey(images[i], describe(i));
            var cached = _cache.TryGet(key);
            if (cached is not null) cached.CopyTo(result.AsSpan(i * featureSize, featureSize));
            else missing.Add((i, key, image));
        }
        if (missing.Count > 0)
        {
            var length = _preprocessor.OutputLength;
            var pixels = new float[missing.Count * length];
            for (var m = 0; m < missing.Count; m++)
            {
                var destination = pixels.AsSpan(m * length, length);
                ClipImageColumn.Preprocess(_preprocessor, missing[m].Image, destination, describe(missing[m].Index));
            }
            var features = _encoder.Featurize(pixels, missing.Count);
            for (var m = 0; m < missing.Count; m++)
            {
                var row = features.AsSpan(m * featureSize, featureSize);
                _cache.Add(missing[m].Key, row);
                row.CopyTo(result.AsSpan(missing[m].Index * featureSize, featureSize));
            }
            _cache.Flush();
        }
        return tensor(result, [images.Count, featureSize]);
    }

    /// <summary>What the cache did since the last call: (hits, misses).</summary>
    public (long Hits, long Misses) TakeCounts()
    {
        var counts = (_cache.Hits - _hitsReported, _cache.Misses - _missesReported);
        (_hitsReported, _missesReported) = (_cache.Hits, _cache.Misses);
        return counts;
    }

    public void Dispose() => _cache.Dispose();

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
