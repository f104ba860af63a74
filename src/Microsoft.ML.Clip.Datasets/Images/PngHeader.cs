using System.Buffers.Binary;

namespace Microsoft.ML.Clip.Datasets.Images;

/// <summary>Reads a PNG's size from its IHDR chunk (24 bytes), so oversized images are skipped without decoding.</summary>
public static class PngHeader
{
    /// <summary>The width and height of the PNG at <paramref name="path"/>, or null when the file is not a PNG.</summary>
    public static (int Width, int Height)? TryReadSize(string path)
    {
        Span<byte> head = stackalloc byte[24];
        using var stream = File.OpenRead(path);
        if (stream.ReadAtLeast(head, 24, throwOnEndOfStream: false) < 24)
            return null;
        // Signature (8 bytes), IHDR length (4) and type (4), then width and height.
        if (head[0] != 0x89 || head[1] != (byte)'P' || head[2] != (byte)'N' || head[3] != (byte)'G' || !head.Slice(12, 4).SequenceEqual("IHDR"u8))
            return null;
        return (BinaryPrimitives.ReadInt32BigEndian(head[16..]), BinaryPrimitives.ReadInt32BigEndian(head[20..]));
    }
}
