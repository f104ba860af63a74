using System.Buffers;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// The pixels the resizer reads, one row at a time from top to bottom: a <see cref="DecodedImage"/> in memory, a
/// pooled decode buffer, or a JPEG decoder producing scanlines on demand. A source may hold only a window of columns
/// (<see cref="Left"/>, <see cref="Columns"/>) and rows: the part a centre crop needs, which is all the resizer asks for.
/// </summary>
/// <remarks>
/// Rows may be stored with a <see cref="PixelStride"/> wider than the format's channels: an RGB image decoded by Skia
/// arrives as RGBX (4 bytes a pixel, the last ignored) and is read in place rather than copied to 3 bytes a pixel.
/// </remarks>
internal abstract class PixelRows : IDisposable
{
    protected PixelRows(int width, int height, DecodedPixelFormat format, int pixelStride, bool alphaPremultiplied, bool nearestNeighbor,
        int left, int columns)
    {
        Width = width;
        Height = height;
        Format = format;
        PixelStride = pixelStride;
        AlphaPremultiplied = alphaPremultiplied;
        NearestNeighbor = nearestNeighbor;
        Left = left;
        Columns = columns;
    }

    /// <summary>Width of the whole image in pixels (the resize's input size, whatever window is held).</summary>
    public int Width { get; }

    /// <summary>Height of the whole image in pixels.</summary>
    public int Height { get; }

    /// <summary>The channels PIL would see (they decide how the image is resized and converted to RGB).</summary>
    public DecodedPixelFormat Format { get; private set; }

    /// <summary>Number of meaningful channels: 1 to 4.</summary>
    public int Channels => (int)Format;

    /// <summary>Bytes a pixel takes in a row: <see cref="Channels"/>, or 4 for RGB held as RGBX.</summary>
    public int PixelStride { get; }

    /// <summary>Whether the colour channels are premultiplied by alpha.</summary>
    public bool AlphaPremultiplied { get; }

    /// <summary>Whether PIL resizes this image with nearest neighbour (palette or 1-bit source).</summary>
    public bool NearestNeighbor { get; private set; }

    /// <summary>Whether the last channel is alpha.</summary>
    public bool HasAlpha => Format is DecodedPixelFormat.GrayAlpha or DecodedPixelFormat.Rgba;

    /// <summary>The first image column a row holds.</summary>
    public int Left { get; }

    /// <summary>How many columns a row holds, from <see cref="Left"/>.</summary>
    public int Columns { get; }

    /// <summary>
    /// PIL's <c>convert("RGB")</c> before the resize (<see cref="ClipPreprocessSettings.ConvertRgbFirst"/>, SigLIP): alpha
    /// dropped, colours as stored (not composited), and palette or 1-bit images resized with the bicubic filter. Nothing
    /// is copied: the alpha byte stays in each pixel's stride and is no longer read.
    /// </summary>
    public void ConvertToRgbFirst()
    {
        if (AlphaPremultiplied)
            throw new InvalidOperationException("Premultiplied rows must be unpremultiplied before dropping alpha (DecodedImage.ConvertedToRgb does).");
        Format = Format switch
        {
            DecodedPixelFormat.Rgba => DecodedPixelFormat.Rgb,
            DecodedPixelFormat.GrayAlpha => DecodedPixelFormat.Gray,
            _ => Format,
        };
        NearestNeighbor = false;
    }

    /// <summary>
    /// Row <paramref name="y"/> of the image, its columns <see cref="Left"/> to <see cref="Left"/> + <see cref="Columns"/>
    /// (<see cref="Columns"/> x <see cref="PixelStride"/> bytes). Rows must be asked for in non-decreasing order; the span
    /// is valid until the next call.
    /// </summary>
    public abstract ReadOnlySpan<byte> Row(int y);

    /// <summary>Releases decoders and returns pooled buffers.</summary>
    public virtual void Dispose()
    {
    }
}

/// <summary>Rows of pixels held whole in an array (a <see cref="DecodedImage"/>'s or a pooled decode buffer).</summary>
internal sealed class ArrayPixelRows : PixelRows
{
    private readonly byte[] _pixels;
    private readonly int _rowBytes;
    private byte[]? _pooled;

    private ArrayPixelRows(int width, int height, DecodedPixelFormat format, int pixelStride, bool alphaPremultiplied, bool nearestNeighbor,
        byte[] pixels, bool pooled)
        : base(width, height, format, pixelStride, alphaPremultiplied, nearestNeighbor, 0, width)
    {
        _pixels = pixels;
        _rowBytes = width * pixelStride;
        _pooled = pooled ? pixels : null;
    }

    /// <summary>Reads a decoded image in place (not copied, not returned to any pool).</summary>
    public static ArrayPixelRows Over(DecodedImage image)
        => new(image.Width, image.Height, image.Format, image.Channels, image.AlphaPremultiplied, image.NearestNeighbor, image.Pixels, pooled: false);

    /// <summary>Reads a buffer rented from <see cref="ArrayPool{T}.Shared"/>, returned on <see cref="Dispose"/>.</summary>
    public static ArrayPixelRows OverPooled(int width, int height, DecodedPixelFormat format, int pixelStride, bool nearestNeighbor, byte[] rented)
        => new(width, height, format, pixelStride, alphaPremultiplied: false, nearestNeighbor, rented, pooled: true);

    public override ReadOnlySpan<byte> Row(int y) => _pixels.AsSpan(y * _rowBytes, _rowBytes);

    public override void Dispose()
    {
        if (_pooled is { } pooled)
        {
            _pooled = null;
            ArrayPool<byte>.Shared.Return(pooled);
        }
    }
}
