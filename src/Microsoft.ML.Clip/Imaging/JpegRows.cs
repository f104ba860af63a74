using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// A JPEG decoded scanline by scanline as the resizer asks for rows, over only the window of columns and rows the resize
/// reads, into a small pooled buffer: no whole-image buffer, and no work on pixels the centre crop drops.
/// </summary>
/// <remarks>
/// <para>Exactness: libjpeg-turbo decodes a horizontal window (<c>jpeg_crop_scanline</c>, which Skia uses for a subset)
/// by whole iMCU columns, but its fancy chroma upsampling treats the window's edges as image edges, so the outermost
/// pixel of each side can differ from a whole-image decode; rows skipped at the top (<c>jpeg_skip_scanlines</c>) and rows
/// never read at the bottom change nothing. The window is therefore widened by <see cref="ColumnMargin"/> pixels each
/// side, and tests compare every pixel the resize reads against a whole decode (and the result against Pillow).</para>
/// <para>The rows after the window are still decoded (over the window's columns) when the resize is done
/// (<see cref="Finish"/>), so a truncated file fails as it does with a whole decode; rows above the window are only
/// skipped, which is safe as missing data is always at the end.</para>
/// <para>With DCT scaling (<see cref="ClipImageDecodeOptions.JpegDctScaling"/>) the image is decoded at M/8 of its size
/// (M = 1 to 7, the smallest that keeps both sides at least twice the resize target) by libjpeg's scaled inverse DCT,
/// then resized exactly from there. That is Pillow's <c>Image.draft</c>, not what Pillow's plain <c>resize</c> computes.</para>
/// </remarks>
internal sealed class JpegRows : PixelRows
{
    /// <summary>Columns decoded beyond the resize's window on each side (upsampling edge effects reach 1 pixel).</summary>
    internal const int ColumnMargin = 8;

    /// <summary>Scanlines decoded per call into the codec (libjpeg works in iMCU rows of 8 or 16 lines).</summary>
    private const int RowsPerCall = 16;

    private readonly ClipImageDecoder.OpenedImage _image;
    private readonly int _rowBytes;
    private readonly int _bottom;
    private byte[]? _buffer;
    private GCHandle _pin;
    private int _next;         // the scanline the codec returns next
    private int _bufferFirst;  // first row held in the buffer
    private int _bufferCount;  // rows held in the buffer

    private JpegRows(ClipImageDecoder.OpenedImage image, int width, int height, DecodedPixelFormat format, int stride, int left, int columns, int bottom)
        : base(width, height, format, stride, alphaPremultiplied: false, nearestNeighbor: false, left, columns)
    {
        _image = image;
        _rowBytes = columns * stride;
        _bottom = bottom;
        _buffer = ArrayPool<byte>.Shared.Rent(_rowBytes * RowsPerCall);
        _pin = GCHandle.Alloc(_buffer, GCHandleType.Pinned);
    }

    /// <summary>The scale M/8 chosen for DCT scaling (8: none).</summary>
    public int ScaleEighths { get; private init; } = 8;

    /// <summary>
    /// Starts the scanline decode of <paramref name="image"/> over the window the resize to <paramref name="target"/>
    /// reads, or returns null when Skia refuses (the caller then decodes the whole image).
    /// </summary>
    public static JpegRows? Open(ClipImageDecoder.OpenedImage image, in ResizeCrop target, bool dctScaling)
    {
        bool gray = image.Info.ColorType == SKColorType.Gray8;
        int stride = gray ? 1 : 4;
        int scale = dctScaling ? ChooseScale(image.Width, image.Height, target) : 8;
        var (width, height) = ScaledSize(image.Width, image.Height, scale);

        var window = PillowResize.SourceWindow(width, height, target, nearestNeighbor: false);
        int left = Math.Max(0, window.Left - ColumnMargin);
        int right = Math.Min(width, window.Right + ColumnMargin);
        var info = new SKImageInfo(width, height, gray ? SKColorType.Gray8 : SKColorType.Rgba8888, gray ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var options = left == 0 && right == width ? new SKCodecOptions() : new SKCodecOptions(new SKRectI(left, 0, right, height));
        if (image.Codec.StartScanlineDecode(info, options) != SKCodecResult.Success)
            return null;
        // Skia says RGBA; a JPEG has no alpha, so the fourth byte is padding PIL never sees.
        var format = gray ? DecodedPixelFormat.Gray : DecodedPixelFormat.Rgb;
        return new JpegRows(image, width, height, format, stride, left, right - left, window.Bottom) { ScaleEighths = scale };
    }

    /// <summary>
    /// The smallest M (1 to 8) whose M/8-scaled decode keeps both sides at least twice the resize's output size, so that
    /// the exact resize that follows still averages at least 2 x 2 decoded pixels per output pixel.
    /// </summary>
    internal static int ChooseScale(int width, int height, in ResizeCrop target)
    {
        for (int m = 1; m < 8; m++)
        {
            var (w, h) = ScaledSize(width, height, m);
            if (w >= 2 * target.Width && h >= 2 * target.Height)
                return m;
        }
        return 8;
    }

    /// <summary>libjpeg's output size at scale M/8: each side rounded up (<c>jdiv_round_up</c>).</summary>
    internal static (int Width, int Height) ScaledSize(int width, int height, int eighths)
        => ((int)(((long)width * eighths + 7) / 8), (int)(((long)height * eighths + 7) / 8));

    public override ReadOnlySpan<byte> Row(int y)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(JpegRows));
        if (y < _bufferFirst || y >= _bufferFirst + _bufferCount)
        {
            if (y < _next)
                throw new InvalidOperationException($"Row {y} was asked for after row {_next - 1}: JPEG rows are decoded top to bottom.");
            if (y >= Height)
                throw new ArgumentOutOfRangeException(nameof(y), y, $"The image has {Height} rows.");
            Skip(y - _next);
            // Decode up to the window's last row, never past it.
            int count = Math.Min(RowsPerCall, Math.Max(_bottom, y + 1) - y);
            int decoded = _image.Codec.GetScanlines(_pin.AddrOfPinnedObject(), count, _rowBytes);
            if (decoded != count)
                throw ClipImageDecoder.Failure(_image.Name, SKCodecResult.IncompleteInput);
            _bufferFirst = y;
            _bufferCount = count;
            _next = y + count;
        }
        return buffer.AsSpan((y - _bufferFirst) * _rowBytes, _rowBytes);
    }

    /// <summary>
    /// Decodes the rows after the window too (over the window's columns only), so that a truncated or corrupt file is
    /// refused as a whole decode would refuse it: libjpeg's row skipping does not notice missing data.
    /// </summary>
    public void Finish()
    {
        if (_buffer is null)
            throw new ObjectDisposedException(nameof(JpegRows));
        while (_next < Height)
        {
            int count = Math.Min(RowsPerCall, Height - _next);
            if (_image.Codec.GetScanlines(_pin.AddrOfPinnedObject(), count, _rowBytes) != count)
                throw ClipImageDecoder.Failure(_image.Name, SKCodecResult.IncompleteInput);
            _next += count;
            _bufferCount = 0;
        }
    }

    private void Skip(int rows)
    {
        if (rows <= 0)
            return;
        if (!_image.Codec.SkipScanlines(rows))
            throw ClipImageDecoder.Failure(_image.Name, SKCodecResult.IncompleteInput);
        _next += rows;
    }

    public override void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            _pin.Free();
            ArrayPool<byte>.Shared.Return(buffer);
            _image.Dispose();
        }
    }
}
