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
            throw png is null
                ? new InvalidDataException($"Image '{name}' is not in a supported image format (PNG, JPEG, GIF, BMP, WebP, ICO) or its header is corrupt (decoder: {createResult}).")
                : new InvalidDataException($"Image '{name}' is a corrupt PNG (decoder: {createResult}).");
        }

        var info = codec.Info;
        CheckSize(name, info.Width, info.Height, options);

        bool gray8 = info.ColorType == SKColorType.Gray8;
        int bytesPerPixel = gray8 ? 1 : 4;
        long byteCount = (long)info.Width * info.Height * bytesPerPixel;
        if (byteCount > Array.MaxLength)
            throw new InvalidDataException($"Image '{name}' is {info.Width}x{info.Height} pixels, too large to decode into one buffer.");

        // Colour space null: Skia does no colour conversion (PIL ignores gAMA/iCCP too).
        var target = new SKImageInfo(info.Width, info.Height, gray8 ? SKColorType.Gray8 : SKColorType.Rgba8888,
            gray8 ? SKAlphaType.Opaque : SKAlphaType.Unpremul);
        var pixels = GC.AllocateUninitializedArray<byte>((int)byteCount, pinned: true);
        var result = codec.GetPixels(target, Marshal.UnsafeAddrOfPinnedArrayElement(pixels, 0));
        if (result != SKCodecResult.Success)
            throw new InvalidDataException($"Image '{name}' could not be decoded ({DescribeFailure(result)}, decoder: {result}).");

        if (gray8)
            return new DecodedImage(info.Width, info.Height, DecodedPixelFormat.Gray, pixels, nearestNeighbor: png?.PilResizesNearest ?? false);

        if (png is { } h)
        {
            return h.ColorType switch
            {
                PngHeader.Gray => Extract(info, pixels, DecodedPixelFormat.Gray, nearest: h.PilResizesNearest),
                PngHeader.GrayAlpha => Extract(info, pixels, DecodedPixelFormat.GrayAlpha, nearest: false),
                PngHeader.Rgba => new DecodedImage(info.Width, info.Height, DecodedPixelFormat.Rgba, pixels),
                // RGB with a tRNS colour key, and palette images: PIL keeps them without alpha and
                // convert('RGB') ignores the transparency, so the decoded alpha is dropped.
                _ => Extract(info, pixels, DecodedPixelFormat.Rgb, nearest: h.PilResizesNearest),
            };
        }
        if (codec.EncodedFormat == SKEncodedImageFormat.Gif)
            return Extract(info, pixels, DecodedPixelFormat.Rgb, nearest: true);
        return info.AlphaType == SKAlphaType.Opaque
            ? Extract(info, pixels, DecodedPixelFormat.Rgb, nearest: false)
            : new DecodedImage(info.Width, info.Height, DecodedPixelFormat.Rgba, pixels);
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
    private static DecodedImage Extract(SKImageInfo info, byte[] rgba, DecodedPixelFormat format, bool nearest)
    {
        int pixelCount = info.Width * info.Height;
        var pixels = new byte[pixelCount * (int)format];
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
                for (int i = 0, j = 0; i < pixelCount; i++, j += 3)
                {
                    pixels[j] = rgba[i * 4];
                    pixels[j + 1] = rgba[i * 4 + 1];
                    pixels[j + 2] = rgba[i * 4 + 2];
                }
                break;
            default:
                return new DecodedImage(info.Width, info.Height, format, rgba, nearestNeighbor: nearest);
        }
        return new DecodedImage(info.Width, info.Height, format, pixels, nearestNeighbor: nearest);
    }
}
