using System.Buffers.Binary;
using Microsoft.ML.Clip.Datasets.Images;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>Builders of the tiny fixtures the tests write: IDX files, PNGs, SVGs.</summary>
internal static class SyntheticData
{
    /// <summary>An unsigned-byte IDX file: magic 00 00 08 rank, big-endian dimensions, then <paramref name="data"/>.</summary>
    public static byte[] Idx(int[] dimensions, byte[] data, byte type = 0x08)
    {
        var bytes = new byte[4 + 4 * dimensions.Length + data.Length];
        bytes[2] = type;
        bytes[3] = (byte)dimensions.Length;
        for (var i = 0; i < dimensions.Length; i++)
            BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dimensions[i]);
        data.CopyTo(bytes, 4 + 4 * dimensions.Length);
        return bytes;
    }

    /// <summary>Three 28×28 images whose pixel (y, x) is (7·y + 3·x + 50·k) mod 256 for image k.</summary>
    public static byte[] ThreeImages()
    {
        var data = new byte[3 * 28 * 28];
        for (var k = 0; k < 3; k++)
            for (var y = 0; y < 28; y++)
                for (var x = 0; x < 28; x++)
                    data[k * 784 + y * 28 + x] = (byte)((7 * y + 3 * x + 50 * k) % 256);
        return data;
    }

    /// <summary>A small greyscale PNG (any valid PNG serves where a loader only passes the path on).</summary>
    public static byte[] Png(int width = 4, int height = 4) => PngEncoder.EncodeGray8(new byte[width * height], width, height);

    /// <summary>Only a PNG signature and IHDR claiming <paramref name="width"/>×<paramref name="height"/> (never decoded).</summary>
    public static byte[] PngHeaderOnly(int width, int height)
    {
        var bytes = new byte[33];
        new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), 13);
        "IHDR"u8.CopyTo(bytes.AsSpan(12));
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), height);
        bytes[24] = 8;
        bytes[25] = 6;
        return bytes;
    }

    /// <summary>A 100×50 SVG: left half red, right half blue.</summary>
    public const string TwoColourSvg =
        """<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50" viewBox="0 0 100 50"><rect x="0" y="0" width="50" height="50" fill="#ff0000"/><rect x="50" y="0" width="50" height="50" fill="#0000ff"/></svg>""";

    /// <summary>Decodes a PNG with Skia into a bitmap (the test's independent check of what loaders wrote).</summary>
    public static SKBitmap Decode(byte[] png) =>
        SKBitmap.Decode(png) ?? throw new InvalidDataException("Skia could not decode the PNG.");
}
