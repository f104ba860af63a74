namespace Microsoft.ML.Clip.Imaging;

/// <summary>Limits applied when decoding an encoded image (PNG, JPEG, ...).</summary>
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

    /// <summary>The defaults.</summary>
    public static ClipImageDecodeOptions Default { get; } = new();
}
