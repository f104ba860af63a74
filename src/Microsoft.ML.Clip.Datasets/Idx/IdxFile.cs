using System.Buffers.Binary;
using System.IO.Compression;

namespace Microsoft.ML.Clip.Datasets.Idx;

/// <summary>
/// Reader of IDX files (the MNIST format): a 4-byte magic <c>00 00 type ndims</c>, <c>ndims</c> big-endian int32
/// dimensions, then the row-major data. Only unsigned bytes (type 0x08), which MNIST and Fashion-MNIST use, are
/// supported. Files ending in <c>.gz</c> are decompressed on the fly. Records are streamed, never all held.
/// </summary>
public sealed class IdxFile
{
    private const byte UnsignedByteType = 0x08;

    private IdxFile(string path, int[] dimensions)
    {
        Path = path;
        Dimensions = dimensions;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The dimensions: [count] for labels, [count, rows, columns] for images.</summary>
    public IReadOnlyList<int> Dimensions { get; }

    /// <summary>Number of records (the first dimension).</summary>
    public int Count => Dimensions[0];

    /// <summary>Bytes per record (the product of the other dimensions; 1 for labels).</summary>
    public int RecordSize => Dimensions.Skip(1).Aggregate(1, (a, b) => a * b); // checked in ReadHeader: cannot overflow

    /// <summary>Reads and checks the header of <paramref name="path"/>; <paramref name="expectedRank"/> is the
    /// number of dimensions the caller needs (1 for labels, 3 for images).</summary>
    /// <exception cref="InvalidDataException">The header is not an unsigned-byte IDX header of that rank, or the
    /// file is shorter than the header says; the message names the file.</exception>
    public static IdxFile Open(string path, int expectedRank)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"IDX file '{path}' not found.", path);
        using var stream = OpenData(path);
        var file = ReadHeader(stream, path, expectedRank);
        if (!path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            long expected = HeaderSize(expectedRank) + (long)file.Count * file.RecordSize;
            long actual = new FileInfo(path).Length;
            if (actual < expected)
                throw new InvalidDataException(
                    $"IDX file '{path}' is truncated: its header announces {file.Count} records of {file.RecordSize} bytes ({expected} bytes in all) but the file has {actual} bytes.");
        }
        return file;
    }

    /// <summary>Streams the records whose indices are in <paramref name="indices"/> (ascending), each as a fresh
    /// array of <see cref="RecordSize"/> bytes, with its index.</summary>
    public IEnumerable<(int Index, byte[] Record)> Read(IReadOnlyList<int> indices)
    {
        using var stream = new BufferedStream(OpenData(Path), 1 << 16);
        ReadHeader(stream, Path, Dimensions.Count);
        var recordSize = RecordSize;
        var position = 0;
        var skip = new byte[recordSize];
        foreach (var index in indices)
        {
            if (index < position || index >= Count)
                throw new ArgumentOutOfRangeException(nameof(indices), index, $"Record indices must be ascending and below {Count} (file '{Path}').");
            for (; position < index; position++)
                ReadExactly(stream, skip, Path, position);
            var record = new byte[recordSize];
            ReadExactly(stream, record, Path, position);
            position++;
            yield return (index, record);
        }
    }

    private static int HeaderSize(int rank) => 4 + 4 * rank;

    private static Stream OpenData(string path)
    {
        Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(stream, CompressionMode.Decompress) : stream;
    }

    private static IdxFile ReadHeader(Stream stream, string path, int expectedRank)
    {
        Span<byte> magic = stackalloc byte[4];
        if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4)
            throw new InvalidDataException($"IDX file '{path}' is too short for an IDX header (4-byte magic).");
        if (magic[0] != 0 || magic[1] != 0)
            throw new InvalidDataException(
                $"IDX file '{path}' has no IDX magic: expected the bytes 00 00 <type> <rank>, got {Convert.ToHexString(magic)}.");
        if (magic[2] != UnsignedByteType)
            throw new InvalidDataException($"IDX file '{path}' holds data type 0x{magic[2]:X2}; only unsigned bytes (0x08) are supported.");
        if (magic[3] != expectedRank)
            throw new InvalidDataException($"IDX file '{path}' has {magic[3]} dimensions; expected {expectedRank}.");
        var dimensions = new int[expectedRank];
        Span<byte> word = stackalloc byte[4];
        for (var i = 0; i < expectedRank; i++)
        {
            if (stream.ReadAtLeast(word, 4, throwOnEndOfStream: false) < 4)
                throw new InvalidDataException($"IDX file '{path}' ends inside its header (dimension {i} of {expectedRank}).");
            var value = BinaryPrimitives.ReadInt32BigEndian(word);
            if (value <= 0)
                throw new InvalidDataException($"IDX file '{path}' has a non-positive dimension {i}: {value}.");
            dimensions[i] = value;
        }
        // The dimensions are untrusted: a product past the largest array would overflow RecordSize (to 0 for
        // 65536 x 65536, which would pass the length check and read empty records) or ask for a huge buffer.
        long recordSize = 1;
        for (var i = 1; i < expectedRank; i++)
        {
            recordSize *= dimensions[i];
            if (recordSize > Array.MaxLength)
                throw new InvalidDataException(
                    $"IDX file '{path}' announces records of {string.Join(" x ", dimensions.Skip(1))} bytes, more than one array can hold (corrupt header?).");
        }
        return new IdxFile(path, dimensions);
    }

    private static void ReadExactly(Stream stream, byte[] buffer, string path, int index)
    {
        if (stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false) < buffer.Length)
            throw new InvalidDataException($"IDX file '{path}' ends inside record {index}.");
    }
}
