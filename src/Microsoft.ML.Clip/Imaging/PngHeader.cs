using System.Buffers.Binary;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// The fields of a PNG's <c>IHDR</c> chunk. Skia's codec reports the decoded colour type, not the
/// stored one, but PIL's behaviour depends on the stored one (palette images are resized with nearest
/// neighbour; grey and RGB images with a transparent colour key stay without alpha).
/// </summary>
internal readonly record struct PngHeader(int Width, int Height, int BitDepth, int ColorType)
{
    /// <summary>PNG colour type: greyscale.</summary>
    public const int Gray = 0;

    /// <summary>PNG colour type: RGB.</summary>
    public const int Rgb = 2;

    /// <summary>PNG colour type: palette indices.</summary>
    public const int Palette = 3;

    /// <summary>PNG colour type: greyscale with alpha.</summary>
    public const int GrayAlpha = 4;

    /// <summary>PNG colour type: RGB with alpha.</summary>
    public const int Rgba = 6;

    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Whether the bytes start with the PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> data) => data.StartsWith(Signature);

    /// <summary>Reads the IHDR that must follow the signature; false when it is missing or cut short.</summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out PngHeader header)
    {
        header = default;
        // signature (8) + chunk length (4) + "IHDR" (4) + width, height (8) + depth, colour type (2)
        if (data.Length < 26 || !IsPng(data) || !data.Slice(12, 4).SequenceEqual("IHDR"u8))
            return false;
        uint width = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(16));
        uint height = BinaryPrimitives.ReadUInt32BigEndian(data.Slice(20));
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            return false;
        header = new PngHeader((int)width, (int)height, data[24], data[25]);
        return true;
    }

    /// <summary>PIL opens palette and 1-bit greyscale PNGs as modes <c>P</c> / <c>1</c>, which it resizes with nearest neighbour.</summary>
    public bool PilResizesNearest => ColorType == Palette || (ColorType == Gray && BitDepth == 1);
}
