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
        if (Directory.Exists(path))
            throw new InvalidDataException($"'{path}' is a folder, not a .npy file.");
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"'{path}' is not a .npy file.");
        int major = bytes[6];
        if (major is not (1 or 2 or 3))
            throw new InvalidDataException($"'{path}': unknown .npy format version {major}.");
        long headerLen;
        int offset;
        if (major == 1) { headerLen = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); offset = 10; }
        else if (bytes.Length >= 12) { headerLen = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)); offset = 12; }
        else throw new InvalidDataException($"'{path}' is truncated: its header ends after {bytes.Length} bytes.");
        // Every check before any use, so a damaged file is named with what is wrong rather than failing in a buffer copy.
        if (offset + headerLen > bytes.Length)
            throw new InvalidDataException($"'{path}' is truncated: its header says {headerLen} bytes, the file has {bytes.Length - offset} after the preamble.");
        var header = Encoding.ASCII.GetString(bytes, offset, (int)headerLen);
        var descr = DescrRe.Match(header).Groups[1].Value;
        if (descr != expectedDescr)
            throw new InvalidDataException($"'{path}' holds dtype '{descr}', expected '{expectedDescr}'.");
        if (OrderRe.Match(header).Groups[1].Value == "True")
            throw new InvalidDataException($"'{path}' is in Fortran order; only C order is supported.");
        var shapeMatch = ShapeRe.Match(header);
        if (!shapeMatch.Success)
            throw new InvalidDataException($"'{path}': the header has no shape.");
        var dims = shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        long count = 1;
        for (var d = 0; d < dims.Length; d++)
        {
            if (!int.TryParse(dims[d], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out shape[d]))
                throw new InvalidDataException($"'{path}': shape dimension '{dims[d]}' is not a non-negative integer.");
            count *= shape[d];
            if (count > Array.MaxLength)
                throw new InvalidDataException($"'{path}': the shape ({string.Join(", ", dims)}) holds more items than an array can.");
        }
        var payload = bytes.AsSpan(offset + (int)headerLen);
        if (payload.Length < count * itemSize)
            throw new InvalidDataException($"'{path}' is truncated: {payload.Length} bytes for {count} items.");
        var data = new T[count];
        for (var i = 0; i < count; i++)
            data[i] = read(payload, i);
        return new NpyArray<T>(shape, data);
    }
}
