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
    /// <exception cref="InvalidDataException">The path is a folder, or the file is empty, corrupt, truncated, too large or not a
    /// supported image.</exception>
    public static DecodedImage DecodeFile(string path, ClipImageDecodeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        CheckFile(path);
        return Decode(File.ReadAllBytes(path), path, options);
    }

    /// <summary>Throws the error a user can act on when <paramref name="path"/> is not a file: a folder is said to be one.</summary>
    internal static void CheckFile(string path)
    {
        if (Directory.Exists(path))
            throw new InvalidDataException($"Image file '{path}' is a folder, not an image file.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file '{path}' was not found.", path);
    }

    /// <summary>Decodes an encoded image held in memory.</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="sourceName">Named in error messages (a file name, a row id); optional.</param>
    /// <param name="options">Limits; <see cref="ClipImageDecodeOptions.Default"/> when null.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, corrupt, truncated, too large or not a supported image.</exception>
    public static DecodedImage Decode(ReadOnlySpan<byte> encoded, string? sourceName = null, ClipImageDecodeOptions? options = null)
    {
        options ??= ClipImageDecodeOptions.Default;
        string name = sourceName ?? UnnamedSource;
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

        using var data = SKData.CreateCopy(encoded);
        // The codec takes ownership of the stream.
        using var codec = SKCodec.Create(new SKMemoryStream(data), out var createResult);
        if (codec is null)
        {
            string problem = createResult switch
            {
                SKCodecResult.IncompleteInput => "is truncated or corrupt: the data ends inside its header",
                SKCodecResult.Unimplemented when png is null => "is not in a supported image format (PNG, JPEG, GIF, BMP, WebP, ICO)",
                _ when png is not null => "is a corrupt PNG",
                _ => "is corrupt or not in a supported image format (PNG, JPEG, GIF, BMP, WebP, ICO)",
            };
            throw new InvalidDataException($"Image '{name}' {problem} (decoder: {createResult}).");
        }

        var info = codec.Info;
        CheckSize(name, info.Width, info.Height, options);

        bool gray8 = info.ColorType == SKColorType.Gray8;
        int bytesPerPixel = gray8 ? 1 : 4;
        long byteCount = (long)info.Width * info.Height * bytesPerPixel;
        if (byteCount > Array.MaxLength)
            throw new InvalidDataException($"Image '{name}' is {info.Width}x{info.Height} pixels, too large to decode into one buffer.");

        var (format, nearest) = ChooseFormat(codec, info, png, gray8);
        // Colour space null: Skia does no colour conversion (PIL ignores gAMA/iCCP too).
        var target = new SKImageInfo(info.Width, info.Height, gray8 ? SKColorType.Gray8 : SKColorType.Rgba8888,
            gray8 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        // Decode straight into the result when the layouts agree, else into a pooled buffer.
        bool direct = gray8 || format == DecodedPixelFormat.Rgba;
        var decoded = direct ? GC.AllocateUninitializedArray<byte>((int)byteCount) : ArrayPool<byte>.Shared.Rent((int)byteCount);
        try
        {
            var handle = GCHandle.Alloc(decoded, GCHandleType.Pinned);
            SKCodecResult result;
            try
            {
                result = codec.GetPixels(target, handle.AddrOfPinnedObject());
            }
            finally
            {
                handle.Free();
            }
            if (result != SKCodecResult.Success)
                throw new InvalidDataException($"Image '{name}' could not be decoded ({DescribeFailure(result)}, decoder: {result}).");
            var pixels = direct ? decoded : Extract(decoded, info.Width * info.Height, format);
            return new DecodedImage(info.Width, info.Height, format, pixels, nearestNeighbor: nearest);
        }
        finally
        {
            if (!direct)
                ArrayPool<byte>.Shared.Return(decoded);
        }
    }

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
    private static byte[] Extract(byte[] rgba, int pixelCount, DecodedPixelFormat format)
    {
        var pixels = GC.AllocateUninitializedArray<byte>(pixelCount * (int)format);
        switch (format)
        {
            case DecodedPixelFormat.Gray:
                for (int i = 0; i < pixels.Length; i++)
                    pixels[i] = rgba[i * 4];
                break;
            case DecodedPixelFormat.GrayAlpha:
                for (int i = 0; i < pixelCount; i++)
                {
                    pixels[i * 2] = rgba[i * 4];
                    pixels[i * 2 + 1] = rgba[i * 4 + 3];
                }
                break;
            default:
                DecodedImage.DropAlpha(rgba.AsSpan(0, pixelCount * 4), pixels);
                break;
        }
        return pixels;
    }
}
