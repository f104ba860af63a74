using System.Buffers.Binary;
using System.Text.Json;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Reads the <a href="https://github.com/huggingface/safetensors">safetensors</a> format: an 8-byte
/// little-endian header length, a JSON header (<c>__metadata__</c> plus, per tensor, <c>dtype</c>,
/// <c>shape</c> and <c>data_offsets</c> relative to the data section), then the raw little-endian data.
/// Every offset is checked before any data is read, so a damaged file fails with a message naming the
/// file and the tensor rather than with a garbage tensor.
/// </summary>
internal static class SafetensorsReader
{
    // The reference implementation refuses headers over 100 MB; a larger one is a damaged length field.
    private const long MaxHeaderLength = 100_000_000;

    /// <summary>Reads and validates the header of <paramref name="path"/> without reading tensor data.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    public static SafetensorsHeader ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Reads every tensor of <paramref name="path"/> in the stored dtype, in header order (one array per tensor).</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    public static Dictionary<string, StateTensor> Read(string path) => Read(path, out _);

    /// <summary>Reads every tensor of <paramref name="path"/> and its <c>__metadata__</c>.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid safetensors file.</exception>
    public static Dictionary<string, StateTensor> Read(string path, out IReadOnlyDictionary<string, string> metadata)
    {
        using var stream = File.OpenRead(path);
        var header = ReadHeader(stream, path);
        metadata = header.Metadata;
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("safetensors files store little-endian data; this machine is big-endian.");
        var tensors = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        foreach (var entry in header.Entries)
            tensors.Add(entry.Name, ReadTensor(stream, header, entry));
        return tensors;
    }

    private static StateTensor ReadTensor(FileStream stream, SafetensorsHeader header, SafetensorsEntry entry)
    {
        if (entry.ByteLength > Array.MaxLength)
            throw new NotSupportedException($"'{header.Path}': tensor '{entry.Name}' holds {entry.ByteLength} bytes; tensors over 2 GB are not supported.");
        var data = new byte[entry.ByteLength];
        if (data.Length > 0)
        {
            stream.Position = header.DataOffset + entry.Begin;
            stream.ReadExactly(data);
        }
        return new StateTensor(entry.Type, entry.Shape, data);
    }

    internal static SafetensorsHeader ReadHeader(Stream stream, string path)
    {
        var fileLength = stream.Length;
        if (fileLength < 8)
            throw new InvalidDataException($"'{path}' is not a safetensors file: {fileLength} bytes, shorter than the 8-byte header length.");
        Span<byte> lengthBytes = stackalloc byte[8];
        stream.ReadExactly(lengthBytes);
        var headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthBytes);
        if (headerLength > MaxHeaderLength || (long)headerLength > fileLength - 8)
            throw new InvalidDataException($"'{path}' is not a valid safetensors file: header length {headerLength} exceeds the {fileLength - 8} bytes after the length field (truncated or not safetensors).");
        var headerBytes = new byte[headerLength];
        stream.ReadExactly(headerBytes);
        var dataOffset = 8 + (long)headerLength;
        var dataLength = fileLength - dataOffset;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(headerBytes);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}': the safetensors header is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"'{path}': the safetensors header is a JSON {document.RootElement.ValueKind}, expected an object.");
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            var entries = new List<SafetensorsEntry>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                    throw new InvalidDataException($"'{path}': tensor '{property.Name}' appears twice in the header.");
                if (property.Name == "__metadata__")
                    ReadMetadata(property.Value, metadata, path);
                else
                    entries.Add(ParseEntry(property, path, dataLength));
            }
            CheckOverlaps(entries, path);
            return new SafetensorsHeader(path, metadata, entries, dataOffset);
        }
    }

    private static void ReadMetadata(JsonElement element, Dictionary<string, string> metadata, string path)
    {
        if (element.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"'{path}': __metadata__ must be a JSON object of strings.");
        foreach (var item in element.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"'{path}': __metadata__ value '{item.Name}' is not a string.");
            metadata[item.Name] = item.Value.GetString()!;
        }
    }

    private static SafetensorsEntry ParseEntry(JsonProperty property, string path, long dataLength)
    {
        var name = property.Name;
        var value = property.Value;
        string Where() => $"'{path}': tensor '{name}'";
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"{Where()}: header entry is not a JSON object.");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"{Where()}: missing string 'dtype'.");
        var dtype = dtypeElement.GetString()!;
        if (!SafetensorsDType.TryParse(dtype, out var type, out var itemSize))
            throw new InvalidDataException($"{Where()}: unsupported dtype '{dtype}' (supported: {SafetensorsDType.Supported}).");
        var shape = ReadInt64Array(value, "shape", Where);
        if (shape.Any(d => d < 0))
            throw new InvalidDataException($"{Where()}: negative dimension in shape [{string.Join(", ", shape)}].");
        var offsets = ReadInt64Array(value, "data_offsets", Where);
        if (offsets.Length != 2)
            throw new InvalidDataException($"{Where()}: data_offsets must hold two numbers, got {offsets.Length}.");
        var (begin, end) = (offsets[0], offsets[1]);
        if (begin < 0 || end < begin)
            throw new InvalidDataException($"{Where()}: data_offsets [{begin}, {end}] are not an increasing pair.");
        if (end > dataLength)
            throw new InvalidDataException($"{Where()}: data_offsets [{begin}, {end}] lie outside the {dataLength}-byte data section (file truncated or offsets out of range).");
        long expected;
        try
        {
            expected = itemSize;
            foreach (var d in shape)
                expected = checked(expected * d);
        }
        catch (OverflowException)
        {
            throw new InvalidDataException($"{Where()}: shape [{string.Join(", ", shape)}] has more bytes than a file can hold.");
        }
        if (end - begin != expected)
            throw new InvalidDataException($"{Where()}: data_offsets [{begin}, {end}] cover {end - begin} bytes, but {dtype} [{string.Join(", ", shape)}] needs {expected}.");
        return new SafetensorsEntry(name, dtype, type, shape, begin, end);
    }

    private static long[] ReadInt64Array(JsonElement value, string field, Func<string> where)
    {
        if (!value.TryGetProperty(field, out var element) || element.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{where()}: missing array '{field}'.");
        var result = new long[element.GetArrayLength()];
        var i = 0;
        foreach (var item in element.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Number || !item.TryGetInt64(out result[i++]))
                throw new InvalidDataException($"{where()}: '{field}' holds a value that is not an integer.");
        }
        return result;
    }

    private static void CheckOverlaps(List<SafetensorsEntry> entries, string path)
    {
        var ordered = entries.Where(e => e.ByteLength > 0).OrderBy(e => e.Begin).ToList();
        for (var i = 1; i < ordered.Count; i++)
        {
            if (ordered[i].Begin < ordered[i - 1].End)
                throw new InvalidDataException(
                    $"'{path}': tensors '{ordered[i - 1].Name}' [{ordered[i - 1].Begin}, {ordered[i - 1].End}) and '{ordered[i].Name}' [{ordered[i].Begin}, {ordered[i].End}) overlap.");
        }
    }
}
