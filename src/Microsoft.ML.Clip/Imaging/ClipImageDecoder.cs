using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// Decodes PNG, JPEG, GIF, BMP, WebP and ICO files with SkiaSharp into exact 8-bit pixels, the way
/// PIL's <c>Image.open</c> sees them: no colour management, no premultiplication, no EXIF rotation,
/// and the stored channel layout kept (grey stays grey, grey+alpha stays grey+alpha).
/// </summary>
/// <remarks>
/// Differences from PIL 9.4 that are deliberate: a 16-bit greyscale PNG is reduced to its high byte
/// (PIL opens it as 32-bit mode <c>I</c> and <c>convert('RGB')</c> then clips every value above 255 to
/// white); 16-bit colour PNGs keep the high byte, as PIL does. CMYK JPEGs are converted to RGB by Skia
/// before resizing (PIL resizes CMYK and converts afterwards), so they match PIL only approximately.
/// GIFs are treated as palette images (nearest-neighbour resize), as PIL opens them in mode <c>P</c>.
/// </remarks>
public static class ClipImageDecoder
{
    private const string UnnamedSource = "<image bytes>";

    /// <summary>Reads and decodes an image file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="options">Limits; <see cref="ClipImageDecodeOptions.Default"/> when null.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty, corrupt, truncated, too large or not a supported image.</exception>
    public static DecodedImage DecodeFile(string path, ClipImageDecodeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file '{path}' was not found.", path);
        return Decode(File.ReadAllBytes(path), path, options);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="sourceName">Named in error messages (a file name, a row id); optional.</param>
    /// <param name="options">Limits; <see cref="ClipImageDecodeOptions.Default"/> when null.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, corrupt, truncated, too large or not a supported image.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> encoded, string? sourceName = null, ClipImageDecodeOptions? options = null)
    {
        using var opened = OpenedImage.Open(encoded, sourceName ?? UnnamedSource, options ?? ClipImageDecodeOptions.Default);
        // Decoded straight into the result when the layouts agree (Gray8, RGBA), else into a pooled buffer first.
        bool direct = opened.Info.ColorType == SKColorType.Gray8 || opened.Format == DecodedPixelFormat.Rgba;
        var decoded = DecodeWhole(opened, pooled: !direct, out int stride);
        if (direct)
            return new DecodedImage(opened.Width, opened.Height, opened.Format, decoded, nearestNeighbor: opened.Nearest);
        try
        {
            int pixelCount = opened.Width * opened.Height;
            var pixels = Extract(decoded, pixelCount, stride, opened.Format, GC.AllocateUninitializedArray<byte>(pixelCount * opened.Channels));
            return new DecodedImage(opened.Width, opened.Height, opened.Format, pixels, nearestNeighbor: opened.Nearest);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(decoded);
        }
    }

    /// <summary>
    /// Opens an encoded image for the resizer: the rows it will read, decoded into pooled buffers. A JPEG is decoded
    /// scanline by scanline and only over the window of columns and rows the resize to <paramref name="plan"/>'s target
    /// reads (libjpeg's cropped decoding; the same pixels as a whole decode, see <see cref="JpegRows"/>), and read in
    /// place as RGBX; other formats are decoded whole into a pooled buffer. With
    /// <see cref="ClipImageDecodeOptions.JpegDctScaling"/>, a large JPEG is decoded at a reduced scale instead.
    /// </summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="sourceName">Named in error messages.</param>
    /// <param name="options">Limits and decoding choices.</param>
    /// <param name="plan">The resize and crop for an image of the given width and height.</param>
    /// <param name="target">What <paramref name="plan"/> gave for this image's size.</param>
    /// <returns>The rows; dispose them to return their buffers.</returns>
    internal static PixelRows OpenRows(ReadOnlySpan<byte> encoded, string? sourceName, ClipImageDecodeOptions options,
        Func<int, int, ResizeCrop> plan, out ResizeCrop target)
    {
        var opened = OpenedImage.Open(encoded, sourceName ?? UnnamedSource, options);
        try
        {
            target = plan(opened.Width, opened.Height);
            if (opened.Codec.EncodedFormat == SKEncodedImageFormat.Jpeg)
            {
                var rows = JpegRows.Open(opened, target, options.JpegDctScaling);
                if (rows != null)
                {
                    opened = null; // the rows own the codec now
                    return rows;
                }
            }
            var decoded = DecodeWhole(opened, pooled: true, out int stride);
            try
            {
                if (stride == 4 && opened.Format == DecodedPixelFormat.GrayAlpha)
                {
                    var packed = ArrayPool<byte>.Shared.Rent(opened.Width * opened.Height * 2);
                    Extract(decoded, opened.Width * opened.Height, stride, opened.Format, packed);
                    ArrayPool<byte>.Shared.Return(decoded);
                    (decoded, stride) = (packed, 2);
                }
                else if (stride == 4 && opened.Format == DecodedPixelFormat.Gray)
                {
                    var packed = ArrayPool<byte>.Shared.Rent(opened.Width * opened.Height);
                    Extract(decoded, opened.Width * opened.Height, stride, opened.Format, packed);
                    ArrayPool<byte>.Shared.Return(decoded);
                    (decoded, stride) = (packed, 1);
                }
                var whole = ArrayPixelRows.OverPooled(opened.Width, opened.Height, opened.Format, stride, opened.Nearest, decoded);
                decoded = null;
                return whole;
            }
            finally
            {
                if (decoded != null)
                    ArrayPool<byte>.Shared.Return(decoded);
            }
        }
        finally
        {
            opened?.Dispose();
        }
    }

    /// <summary>
    /// Decodes the whole image into a buffer rented from <see cref="ArrayPool{T}.Shared"/> when <paramref name="pooled"/>
    /// (the caller returns it), else into a new array of the exact size: Gray8 (<paramref name="stride"/> 1) for grey sources Skia reports as such, else unpremultiplied RGBA (stride 4;
    /// RGB images as RGBX).
    /// </summary>
    private static byte[] DecodeWhole(OpenedImage opened, bool pooled, out int stride)
    {
        bool gray8 = opened.Info.ColorType == SKColorType.Gray8;
        stride = gray8 ? 1 : 4;
        // Colour space null: Skia does no colour conversion (PIL ignores gAMA/iCCP too).
        var target = new SKImageInfo(opened.Width, opened.Height, gray8 ? SKColorType.Gray8 : SKColorType.Rgba8888,
            gray8 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        int byteCount = checked(opened.Width * opened.Height * stride);
        var decoded = pooled ? ArrayPool<byte>.Shared.Rent(byteCount) : GC.AllocateUninitializedArray<byte>(byteCount);
        try
        {
            var handle = GCHandle.Alloc(decoded, GCHandleType.Pinned);
            SKCodecResult result;
            try
            {
                result = opened.Codec.GetPixels(target, handle.AddrOfPinnedObject());
            }
            finally
            {
                handle.Free();
            }
            if (result != SKCodecResult.Success)
                throw Failure(opened.Name, result);
            return decoded;
        }
        catch when (pooled)
        {
            ArrayPool<byte>.Shared.Return(decoded);
            throw;
        }
    }

    /// <summary>The error for a decode that did not succeed.</summary>
    internal static InvalidDataException Failure(string name, SKCodecResult result)
        => new($"Image '{name}' could not be decoded ({DescribeFailure(result)}, decoder: {result}).");

    /// <summary>The layout PIL would give this file, and whether PIL resizes it with nearest neighbour.</summary>
    private static (DecodedPixelFormat Format, bool Nearest) ChooseFormat(SKCodec codec, SKImageInfo info, PngHeader? png, bool gray8)
    {
        if (gray8)
            return (DecodedPixelFormat.Gray, png?.PilResizesNearest ?? false);
        if (png is { } h)
        {
            return h.ColorType switch
            {
                PngHeader.Gray => (DecodedPixelFormat.Gray, h.PilResizesNearest),
                PngHeader.GrayAlpha => (DecodedPixelFormat.GrayAlpha, false),
                PngHeader.Rgba => (DecodedPixelFormat.Rgba, false),
                // RGB with a tRNS colour key, and palette images: PIL keeps them without alpha and
                // convert('RGB') ignores the transparency, so the decoded alpha is dropped.
                _ => (DecodedPixelFormat.Rgb, h.PilResizesNearest),
            };
        }
        if (codec.EncodedFormat == SKEncodedImageFormat.Gif)
            return (DecodedPixelFormat.Rgb, true);
        return (info.AlphaType == SKAlphaType.Opaque ? DecodedPixelFormat.Rgb : DecodedPixelFormat.Rgba, false);
    }

    private static void CheckSize(string name, int width, int height, ClipImageDecodeOptions options)
    {
        long count = (long)width * height;
        if (count > options.MaxPixels)
            throw new InvalidDataException(
                $"Image '{name}' is {width}x{height} = {count:N0} pixels, above the limit of {options.MaxPixels:N0} pixels (ClipImageDecodeOptions.MaxPixels); it was refused from its header without being decoded.");
    }

    private static string DescribeFailure(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data is truncated",
        SKCodecResult.ErrorInInput => "the data is corrupt",
        SKCodecResult.InvalidInput => "the data is invalid",
        SKCodecResult.Unimplemented => "this variant of the format is not supported",
        SKCodecResult.InvalidConversion => "its pixels cannot be converted to 8-bit RGBA",
        _ => "decoding failed",
    };

    /// <summary>Keeps the channels <paramref name="format"/> needs from decoded RGBA (grey is read from red).</summary>
    private static byte[] Extract(byte[] rgba, int pixelCount, int stride, DecodedPixelFormat format, byte[] pixels)
    {
        if (stride != 4)
            throw new ArgumentOutOfRangeException(nameof(stride), stride, "Only RGBA pixels are re-packed.");
        switch (format)
        {
            case DecodedPixelFormat.Gray:
                for (int i = 0; i < pixelCount; i++)
                    pixels[i] = rgba[i * 4];
                break;
            case DecodedPixelFormat.GrayAlpha:
                for (int i = 0; i < pixelCount; i++)
                {
                    pixels[i * 2] = rgba[i * 4];
                    pixels[i * 2 + 1] = rgba[i * 4 + 3];
                }
                break;
            case DecodedPixelFormat.Rgb:
                DecodedImage.DropAlpha(rgba.AsSpan(0, pixelCount * 4), pixels.AsSpan(0, pixelCount * 3));
                break;
            default:
                rgba.AsSpan(0, pixelCount * 4).CopyTo(pixels);
                break;
        }
        return pixels;
    }

    /// <summary>A codec over a copy of the encoded bytes, with the size checked and PIL's view of the layout chosen.</summary>
    internal sealed class OpenedImage : IDisposable
    {
        private OpenedImage(string name, SKData data, SKCodec codec, DecodedPixelFormat format, bool nearest)
        {
            Name = name;
            Data = data;
            Codec = codec;
            Info = codec.Info;
            Format = format;
            Nearest = nearest;
        }

        public string Name { get; }
        public SKData Data { get; }
        public SKCodec Codec { get; }
        public SKImageInfo Info { get; }
        public int Width => Info.Width;
        public int Height => Info.Height;
        public DecodedPixelFormat Format { get; }
        public int Channels => (int)Format;
        public bool Nearest { get; }

        public static OpenedImage Open(ReadOnlySpan<byte> encoded, string name, ClipImageDecodeOptions options)
        {
            if (encoded.IsEmpty)
                throw new InvalidDataException($"Image '{name}' is empty (0 bytes).");

            PngHeader? png = null;
            if (PngHeader.IsPng(encoded))
            {
                if (!PngHeader.TryRead(encoded, out var header))
                    throw new InvalidDataException($"Image '{name}' has a PNG signature but no valid IHDR header: the file is corrupt or truncated.");
                // Checked before Skia sees the file, so no decoder state is sized from a hostile header.
                CheckSize(name, header.Width, header.Height, options);
                png = header;
            }

            var data = SKData.CreateCopy(encoded);
            // The codec takes ownership of the stream.
            var codec = SKCodec.Create(new SKMemoryStream(data), out var createResult);
            if (codec is null)
            {
                data.Dispose();
                string problem = createResult switch
                {
                    SKCodecResult.IncompleteInput => "is truncated or corrupt: the data ends inside its header",
                    SKCodecResult.Unimplemented when png is null => "is not in a supported image format (PNG, JPEG, GIF, BMP, WebP, ICO)",
                    _ when png is not null => "is a corrupt PNG",
                    _ => "is corrupt or not in a supported image format (PNG, JPEG, GIF, BMP, WebP, ICO)",
                };
                throw new InvalidDataException($"Image '{name}' {problem} (decoder: {createResult}).");
            }
            try
            {
                var info = codec.Info;
                CheckSize(name, info.Width, info.Height, options);
                long byteCount = (long)info.Width * info.Height * (info.ColorType == SKColorType.Gray8 ? 1 : 4);
                if (byteCount > Array.MaxLength)
                    throw new InvalidDataException($"Image '{name}' is {info.Width}x{info.Height} pixels, too large to decode into one buffer.");
                var (format, nearest) = ChooseFormat(codec, info, png, info.ColorType == SKColorType.Gray8);
                return new OpenedImage(name, data, codec, format, nearest);
            }
            catch
            {
                codec.Dispose();
                data.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            Codec.Dispose();
            Data.Dispose();
        }
    }
}
