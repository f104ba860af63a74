using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>Channel layout of a <see cref="DecodedImage"/>, 8 bits per channel, interleaved.</summary>
/// <remarks>These are PIL's modes <c>L</c>, <c>LA</c>, <c>RGB</c> and <c>RGBA</c>; the mode decides how
/// PIL resizes (alpha images are resized premultiplied) and how it converts to RGB.</remarks>
public enum DecodedPixelFormat
{
    /// <summary>One grey byte per pixel (PIL <c>L</c>).</summary>
    Gray = 1,

    /// <summary>Grey then alpha (PIL <c>LA</c>).</summary>
    GrayAlpha = 2,

    /// <summary>Red, green, blue (PIL <c>RGB</c>).</summary>
    Rgb = 3,

    /// <summary>Red, green, blue, alpha (PIL <c>RGBA</c>).</summary>
    Rgba = 4,
}

/// <summary>
/// An image already decoded to 8-bit pixels: the input of <see cref="ClipImagePreprocessor"/> when the
/// caller decodes (or holds an ML.NET <see cref="MLImage"/>) itself.
/// </summary>
public sealed class DecodedImage
{
    /// <summary>Wraps pixels (not copied) after checking that their length fits the size and format.</summary>
    /// <param name="width">Width in pixels (positive).</param>
    /// <param name="height">Height in pixels (positive).</param>
    /// <param name="format">Channel layout of <paramref name="pixels"/>.</param>
    /// <param name="pixels">Rows top to bottom, no padding: <c>width * height * channels</c> bytes.</param>
    /// <param name="alphaPremultiplied">True when colour channels are already multiplied by alpha
    /// (rounded <c>c * a / 255</c>, as Skia and ML.NET's <see cref="MLImage"/> store them).</param>
    /// <param name="nearestNeighbor">True for palette and 1-bit sources, which PIL keeps as mode
    /// <c>P</c>/<c>1</c> and therefore resizes with nearest neighbour whatever filter is asked for.</param>
    public DecodedImage(int width, int height, DecodedPixelFormat format, byte[] pixels, bool alphaPremultiplied = false, bool nearestNeighbor = false)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (width <= 0)
            throw new ArgumentOutOfRangeException(nameof(width), width, "Image width must be positive.");
        if (height <= 0)
            throw new ArgumentOutOfRangeException(nameof(height), height, "Image height must be positive.");
        if (!Enum.IsDefined(format))
            throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown pixel format.");
        long expected = (long)width * height * (int)format;
        if (pixels.LongLength != expected)
            throw new ArgumentException($"A {width}x{height} {format} image needs {expected} bytes of pixels, got {pixels.LongLength}.", nameof(pixels));
        Width = width;
        Height = height;
        Format = format;
        Pixels = pixels;
        AlphaPremultiplied = alphaPremultiplied && HasAlpha;
        NearestNeighbor = nearestNeighbor;
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>Channel layout.</summary>
    public DecodedPixelFormat Format { get; }

    /// <summary>Bytes per pixel (1 to 4).</summary>
    public int Channels => (int)Format;

    /// <summary>Whether the last channel is alpha.</summary>
    public bool HasAlpha => Format is DecodedPixelFormat.GrayAlpha or DecodedPixelFormat.Rgba;

    /// <summary>Interleaved pixels, rows top to bottom.</summary>
    public byte[] Pixels { get; }

    /// <summary>Whether colour channels are premultiplied by alpha.</summary>
    public bool AlphaPremultiplied { get; }

    /// <summary>Whether PIL would resize this image with nearest neighbour (palette or 1-bit source).</summary>
    public bool NearestNeighbor { get; }

    /// <summary>
    /// Copies the pixels of an ML.NET image at once (ML.NET's image getters dispose the previous
    /// image, so the copy must not be deferred). <see cref="MLImage"/> holds 32-bit BGRA or RGBA
    /// pixels with premultiplied alpha (Skia's convention); they are reordered to RGBA and marked
    /// premultiplied, which is exactly the intermediate PIL builds before resizing an RGBA image.
    /// </summary>
    /// <param name="image">The image; not disposed here.</param>
    public static DecodedImage FromMLImage(MLImage image)
    {
        ArgumentNullException.ThrowIfNull(image);
        int width = image.Width, height = image.Height;
        var source = image.Pixels;
        var pixels = new byte[checked(width * height * 4)];
        if (source.Length != pixels.Length)
            throw new ArgumentException($"MLImage of {width}x{height} holds {source.Length} pixel bytes, expected {pixels.Length}.", nameof(image));
        bool opaque = true;
        switch (image.PixelFormat)
        {
            case MLPixelFormat.Rgba32:
                source.CopyTo(pixels);
                break;
            case MLPixelFormat.Bgra32:
                for (int i = 0; i < pixels.Length; i += 4)
                {
                    pixels[i] = source[i + 2];
                    pixels[i + 1] = source[i + 1];
                    pixels[i + 2] = source[i];
                    pixels[i + 3] = source[i + 3];
                }
                break;
            default:
                throw new ArgumentException($"MLImage pixel format {image.PixelFormat} is not supported (expected Bgra32 or Rgba32).", nameof(image));
        }
        for (int i = 3; i < pixels.Length && opaque; i += 4)
            opaque = pixels[i] == 255;
        if (!opaque)
            return new DecodedImage(width, height, DecodedPixelFormat.Rgba, pixels, alphaPremultiplied: true);
        // Fully opaque: RGB, so that no alpha work happens (PIL too would see an RGB image).
        var rgb = GC.AllocateUninitializedArray<byte>(width * height * 3);
        DropAlpha(pixels, rgb);
        return new DecodedImage(width, height, DecodedPixelFormat.Rgb, rgb);
    }

    /// <summary>
    /// PIL's <c>convert("RGB")</c> as an image to resize: alpha dropped (colours taken as stored, not composited; premultiplied
    /// colours are unpremultiplied first, which cannot restore the exact values of translucent pixels), grey kept as one
    /// channel (replicating it before or after the resize gives the same bytes), and resized with the bicubic filter even
    /// when the source was a palette or 1-bit image. Returns this image when nothing changes.
    /// </summary>
    internal DecodedImage ConvertedToRgb()
    {
        if (!HasAlpha && !NearestNeighbor)
            return this;
        if (!HasAlpha)
            return new DecodedImage(Width, Height, Format, Pixels);
        int channels = Channels, kept = channels - 1;
        var pixels = GC.AllocateUninitializedArray<byte>(Width * Height * kept);
        for (int i = 0, j = 0; j < pixels.Length; i += channels)
        {
            byte alpha = Pixels[i + kept];
            for (int c = 0; c < kept; c++)
                pixels[j++] = AlphaPremultiplied ? PillowResize.Unpremultiply(Pixels[i + c], alpha) : Pixels[i + c];
        }
        return new DecodedImage(Width, Height, Format == DecodedPixelFormat.Rgba ? DecodedPixelFormat.Rgb : DecodedPixelFormat.Gray, pixels);
    }

    /// <summary>RGBA (or RGBX) to RGB: copies the first three of every four bytes.</summary>
    internal static void DropAlpha(ReadOnlySpan<byte> rgba, Span<byte> rgb)
    {
        for (int i = 0, j = 0; j < rgb.Length; i += 4, j += 3)
        {
            rgb[j] = rgba[i];
            rgb[j + 1] = rgba[i + 1];
            rgb[j + 2] = rgba[i + 2];
        }
    }
}
