using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>An array read from a numpy <c>.npy</c> file: its shape and its values.</summary>
public sealed record NpyArray<T>(int[] Shape, T[] Data)
{
    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;
}

/// <summary>
/// Reads (and writes) the numpy <c>.npy</c> format 1.0 files of the fixtures (little-endian, C order): float32
/// (<c>&lt;f4</c>), int64 (<c>&lt;i8</c>) and uint8 (<c>|u1</c>).
/// </summary>
public static class Npy
{
    private static readonly Regex DescrRe = new(@"'descr':\s*'([^']+)'", RegexOptions.Compiled);
    private static readonly Regex ShapeRe = new(@"'shape':\s*\(([^)]*)\)", RegexOptions.Compiled);
    private static readonly Regex OrderRe = new(@"'fortran_order':\s*(True|False)", RegexOptions.Compiled);

    /// <summary>Reads a float32 array.</summary>
    public static NpyArray<float> ReadFloat32(string path) => Read(path, "<f4", 4, (s, i) => BinaryPrimitives.ReadSingleLittleEndian(s.Slice(i * 4)));

    /// <summary>Reads an int64 array.</summary>
    public static NpyArray<long> ReadInt64(string path) => Read(path, "<i8", 8, (s, i) => BinaryPrimitives.ReadInt64LittleEndian(s.Slice(i * 8)));

    /// <summary>Reads a uint8 array.</summary>
    public static NpyArray<byte> ReadUInt8(string path) => Read(path, "|u1", 1, (s, i) => s[i]);

    /// <summary>Writes a float32 array in <c>.npy</c> format 1.0.</summary>
    public static void WriteFloat32(string path, int[] shape, ReadOnlySpan<float> data)
    {
        var shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        var header = $"{{'descr': '<f4', 'fortran_order': False, 'shape': {shapeText}, }}";
        var total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var stream = File.Create(path);
        stream.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y']);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        stream.Write(len);
        stream.Write(Encoding.ASCII.GetBytes(header));
        var buffer = new byte[data.Length * 4];
        for (var i = 0; i < data.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(buffer.AsSpan(i * 4), data[i]);
        stream.Write(buffer);
    }

    private delegate T Reader<T>(ReadOnlySpan<byte> span, int index);

    private static NpyArray<T> Read<T>(string path, string expectedDescr, int itemSize, Reader<T> read)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"'{path}' is not a .npy file.");
        int major = bytes[6];
        int headerLen, offset;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else { headerLen = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); offset = 12; }
        var header = Encoding.ASCII.GetString(bytes, offset, headerLen);
        var descr = DescrRe.Match(header).Groups[1].Value;
        if (descr != expectedDescr)
            throw new InvalidDataException($"'{path}' holds dtype '{descr}', expected '{expectedDescr}'.");
        if (OrderRe.Match(header).Groups[1].Value == "True")
            throw new InvalidDataException($"'{path}' is in Fortran order; only C order is supported.");
        var shape = ShapeRe.Match(header).Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(int.Parse).ToArray();
        var count = shape.Aggregate(1, (a, b) => a * b);
        var data = new T[count];
        var payload = bytes.AsSpan(offset + headerLen);
        if (payload.Length < count * itemSize)
            throw new InvalidDataException($"'{path}' is truncated: {payload.Length} bytes for {count} items.");
        for (var i = 0; i < count; i++)
            data[i] = read(payload, i);
        return new NpyArray<T>(shape, data);
    }
}
