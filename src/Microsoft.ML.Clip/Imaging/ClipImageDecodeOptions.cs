namespace Microsoft.ML.Clip.Imaging;

/// <summary>Limits and choices applied when decoding an encoded image (PNG, JPEG, ...).</summary>
public sealed record ClipImageDecodeOptions
{
    /// <summary>Default value of <see cref="MaxPixels"/>: 100 megapixels.</summary>
    public const long DefaultMaxPixels = 100_000_000;

    /// <summary>
    /// Largest width x height accepted. Checked from the file header before any pixel memory is
    /// allocated, so that a huge (or maliciously declared) image fails fast with a clear message
    /// instead of exhausting memory. Some real collections (e.g. Open Clip Art) hold 20k x 30k PNGs.
    /// </summary>
    public long MaxPixels { get; init; } = DefaultMaxPixels;

    /// <summary>
    /// Decode large JPEGs at a reduced scale when preprocessing: libjpeg's DCT scaling decodes at M/8 of the size
    /// (M = 1 to 7, the smallest keeping both sides at least twice the resize target, e.g. 1/4 for a 12-megapixel photo
    /// going to 224), then the exact bicubic resize runs from there. Much faster on large photos (the inverse DCT,
    /// upsampling and colour conversion work on a fraction of the pixels), but <b>not bit-exact with Pillow</b>: the
    /// pixels are those of Pillow's <c>Image.draft</c> + <c>resize</c>, not of <c>resize</c> alone. Measured on 16
    /// photographs (1280x1024 to 5640x3172): under 1 level of 255 mean difference at 224 px, ImageNet ResNet-18
    /// features at a cosine similarity of 0.9995 or more to the exact ones, about 1.3x faster (docs/architecture.md,
    /// Preprocessing). JPEGs too small to halve, and other formats, are unaffected.
    /// Default false: exact.
    /// </summary>
    public bool JpegDctScaling { get; init; }

    /// <summary>The defaults.</summary>
    public static ClipImageDecodeOptions Default { get; } = new();
}
