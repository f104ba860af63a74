using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>The look of an image's training variant (<see cref="ImageVariants"/>).</summary>
internal enum ImageVariantKind
{
    /// <summary>Grey levels, intensities negated (light on dark), 28 px: a scan, a sketch, a Fashion-MNIST-style product shot.</summary>
    Negative,

    /// <summary>The colours kept, 32 px: a CIFAR-sized thumbnail.</summary>
    Thumbnail,
}

/// <summary>
/// Training variants of the images a frozen image encoder sees (<see cref="ClipTrainerOptions.ImageVariantProbability"/>):
/// looks that training sets of drawings and icons lack but users' inputs often have, so that the heads trained on frozen
/// features learn to map them to the same captions. A variant is the image centre-cropped and shrunk the way the encoder's
/// own preprocessing crops it (Pillow's bicubic filter), to 28 px grey negated or a 32 px colour thumbnail; the encoder's
/// preprocessing then scales it back up as it does any small input.
/// </summary>
/// <remarks>
/// Which images have a variant, which look it gets and in which epochs a row shows it are fixed by the image's content
/// key, the seed, the epoch and the row, so a resumed run and a cached feature agree. With probability p, a share 2p of
/// the images (by content; all of them for p ≥ 0.5) get a variant, shown half the time: a row then shows a variant with
/// probability p, and only 2p of the images pay a second encoder pass. A study on the validation split of the main job
/// found that as good as a variant for every image shown with probability p (docs/results.md).
/// </remarks>
internal sealed class ImageVariants
{
    /// <summary>Side of a <see cref="ImageVariantKind.Negative"/> variant (MNIST's).</summary>
    public const int NegativeSide = 28;

    /// <summary>Side of a <see cref="ImageVariantKind.Thumbnail"/> variant (CIFAR's).</summary>
    public const int ThumbnailSide = 32;

    private readonly double _probability;
    private readonly int _seed;
    private readonly ClipImagePreprocessor _negative;
    private readonly ClipImagePreprocessor _thumbnail;

    /// <param name="probability">Probability that a row shows its image's variant in an epoch, in (0, 1].</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="encoderSettings">The encoder's preprocessing: its crop (resize mode) is the variants' crop.</param>
    public ImageVariants(double probability, int seed, ClipPreprocessSettings encoderSettings)
    {
        if (!(probability is > 0 and <= 1))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "A variant probability must be in (0, 1].");
        _probability = probability;
        _seed = seed;
        // Mean 0 and std 1/255 make the preprocessor's output the resized 8-bit values themselves.
        ClipImagePreprocessor Bytes(int side) => new(new ClipPreprocessSettings
        {
            Resolution = side,
            ResizeMode = encoderSettings.ResizeMode,
            ConvertRgbFirst = encoderSettings.ConvertRgbFirst,
            Mean = [0f, 0f, 0f],
            Std = [1f / 255, 1f / 255, 1f / 255],
        });
        _negative = Bytes(NegativeSide);
        _thumbnail = Bytes(ThumbnailSide);
    }

    /// <summary>The share of images (by content) that have a variant: 2p, at most all.</summary>
    public double ImageShare => Math.Min(1, 2 * _probability);

    /// <summary>The probability that a row of an image with a variant shows it in an epoch.</summary>
    public double ShowProbability => _probability / ImageShare;

    /// <summary>The variant of the image with content key <paramref name="contentKey"/>, or null when it has none.</summary>
    public ImageVariantKind? For(string contentKey)
    {
        var hash = Hash("variant:" + contentKey);
        if (Unit(hash) >= ImageShare) return null;
        return (hash & 0x100) == 0 ? ImageVariantKind.Negative : ImageVariantKind.Thumbnail;
    }

    /// <summary>The feature-cache key of <paramref name="kind"/> of the image with <paramref name="contentKey"/>.</summary>
    /// <remarks>Versioned: a change to how variants are made must change the version, or old cached features would be reused.</remarks>
    public static string CacheKey(string contentKey, ImageVariantKind kind) =>
        FeatureCache.Key(string.Create(CultureInfo.InvariantCulture,
            $"image-variant:v1:{kind}:{(kind == ImageVariantKind.Negative ? NegativeSide : ThumbnailSide)}:{contentKey}"));

    /// <summary>Whether <paramref name="row"/> shows its image's variant (when it has one) in <paramref name="epoch"/>.</summary>
    public bool Shows(int epoch, long row) =>
        Unit(Hash(string.Create(CultureInfo.InvariantCulture, $"show:{_seed}:{epoch}:{row}"))) < ShowProbability;

    /// <summary>The variant image of <paramref name="image"/> (a path, encoded bytes or a decoded image).</summary>
    /// <param name="image">The raw image value.</param>
    /// <param name="kind">Which look.</param>
    /// <param name="sourceName">Names the image in errors.</param>
    public DecodedImage Make(object image, ImageVariantKind kind, string sourceName)
    {
        var preprocessor = kind == ImageVariantKind.Negative ? _negative : _thumbnail;
        var side = preprocessor.Resolution;
        var planes = new float[preprocessor.OutputLength];
        ClipImageColumn.Preprocess(preprocessor, image, planes, sourceName);
        var plane = side * side;
        if (kind == ImageVariantKind.Thumbnail)
        {
            var rgb = new byte[3 * plane];
            for (var i = 0; i < plane; i++)
                for (var c = 0; c < 3; c++)
                    rgb[3 * i + c] = ToByte(planes[c * plane + i]);
            return new DecodedImage(side, side, DecodedPixelFormat.Rgb, rgb);
        }
        var grey = new byte[plane];
        for (var i = 0; i < plane; i++)
        {
            // ITU-R 601-2 luma in Pillow's 16-bit fixed point (its "L" conversion), then the negative.
            int r = ToByte(planes[i]), g = ToByte(planes[plane + i]), b = ToByte(planes[2 * plane + i]);
            grey[i] = (byte)(255 - ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16));
        }
        return new DecodedImage(side, side, DecodedPixelFormat.Gray, grey);
    }

    private static byte ToByte(float value) => (byte)Math.Clamp((int)MathF.Round(value), 0, 255);

    // Stable across processes and machines (string.GetHashCode is randomised per process).
    private static ulong Hash(string text) => BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    // The top 53 bits as a uniform number in [0, 1).
    private static double Unit(ulong hash) => (hash >> 11) * (1.0 / (1UL << 53));
}
