using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace ClipCli.IO;

/// <summary>An array read from a numpy <c>.npy</c> file: its shape and its values.</summary>
internal sealed record NpyArray<T>(int[] Shape, T[] Data)
{
    /// <summary>Number of elements.</summary>
    public int Length => Data.Length;
}

/// <summary>
/// Reads numpy <c>.npy</c> format 1.0 float32 files (<c>&lt;f4</c>, little-endian, C order): the preprocessed pixels
/// <c>clip embed-image --pixels</c> and <c>clip zeroshot --pixels</c> take.
/// </summary>
internal static class Npy
{
    private static readonly Regex DescrRe = new(@"'descr':\s*'([^']+)'", RegexOptions.Compiled);
    private static readonly Regex ShapeRe = new(@"'shape':\s*\(([^)]*)\)", RegexOptions.Compiled);
    private static readonly Regex OrderRe = new(@"'fortran_order':\s*(True|False)", RegexOptions.Compiled);

    /// <summary>Reads a float32 array.</summary>
    public static NpyArray<float> ReadFloat32(string path) => Read(path, "<f4", 4, (s, i) => BinaryPrimitives.ReadSingleLittleEndian(s.Slice(i * 4)));

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
