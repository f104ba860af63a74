using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The package's own file format for trained models and training checkpoints: a magic, a format version, a JSON
/// header (UTF-8) and named little-endian tensors (float32, int64 or uint8 — the last for a frozen image encoder's ONNX graph: name, dtype, shape, raw data).
/// </summary>
internal static class ClipPackageFile
{
    public const int FormatVersion = 1;
    private static readonly byte[] Magic = "MLCLIPPK"u8.ToArray();
    private const int Float32Code = 0;
    private const int Int64Code = 1;
    private const int ByteCode = 2;

    public static void Write(Stream stream, JsonObject header, IEnumerable<(string Name, Tensor Tensor)> tensors, Action<int>? afterTensor = null)
    {
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(header.ToJsonString());
        var list = tensors.ToList();
        writer.Write(list.Count);
        for (var i = 0; i < list.Count; i++)
        {
            var (name, value) = list[i];
            using var cpu = value.detach().cpu().contiguous();
            writer.Write(name);
            switch (cpu.dtype)
            {
                case ScalarType.Float32:
                    writer.Write(Float32Code);
                    WriteShape(writer, cpu);
                    writer.Write(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()));
                    break;
                case ScalarType.Int64:
                    writer.Write(Int64Code);
                    WriteShape(writer, cpu);
                    writer.Write(MemoryMarshal.AsBytes(cpu.data<long>().ToArray().AsSpan()));
                    break;
                case ScalarType.Byte:
                    writer.Write(ByteCode);
                    WriteShape(writer, cpu);
                    writer.Write(cpu.data<byte>().ToArray());
                    break;
                default:
                    throw new NotSupportedException($"Tensor '{name}' has dtype {cpu.dtype}; only float32, int64 and uint8 are stored.");
            }
            afterTensor?.Invoke(i);
        }
        writer.Flush();
    }

    /// <summary>Reads only the JSON header of a file written by <see cref="Write"/>.</summary>
    public static ClipPackageHeader ReadHeader(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        try
        {
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != FormatVersion)
                throw new InvalidDataException($"{path} is not a Microsoft.ML.Clip model or checkpoint of format version {FormatVersion}.");
            return ParseHeader(reader.ReadString(), path);
        }
        catch (Exception e) when (e is EndOfStreamException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"{path} is truncated or corrupt: {e.Message}", e);
        }
    }

    /// <summary>Whether <paramref name="path"/> starts with this format's magic.</summary>
    public static bool IsPackageFile(string path)
    {
        using var stream = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[8];
        return stream.Read(magic) == Magic.Length && magic.SequenceEqual(Magic);
    }

    /// <summary>Reads a file written by <see cref="Write"/>; the tensors are on the CPU and owned by the caller.</summary>
    /// <exception cref="InvalidDataException">The stream is not such a file, or is truncated (the message names <paramref name="source"/>).</exception>
    public static (ClipPackageHeader Header, Dictionary<string, Tensor> Tensors) Read(Stream stream, string source)
    {
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new InvalidDataException($"{source} is not a Microsoft.ML.Clip model or checkpoint (bad magic).");
            var version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new InvalidDataException($"{source} has format version {version}; this library reads version {FormatVersion}.");
            var header = ParseHeader(reader.ReadString(), source);
            var count = reader.ReadInt32();
            for (var i = 0; i < count; i++)
            {
                var name = reader.ReadString();
                var code = reader.ReadInt32();
                var rank = reader.ReadInt32();
                if (rank is < 0 or > 8) throw new InvalidDataException($"{source}: tensor '{name}' has rank {rank}.");
                var shape = new long[rank];
                for (var d = 0; d < rank; d++) shape[d] = reader.ReadInt64();
                if (shape.Any(d => d < 0))
                    throw new InvalidDataException($"{source}: tensor '{name}' has a negative dimension in shape [{string.Join(", ", shape)}].");
                var elements = shape.Aggregate(1L, (a, b) => b == 0 || a <= long.MaxValue / b ? a * b : long.MaxValue);
                tensors[name] = code switch
                {
                    Float32Code => tensor(ReadArray<float>(reader, elements, name, source), shape).DetachFromDisposeScope(),
                    Int64Code => tensor(ReadArray<long>(reader, elements, name, source), shape).DetachFromDisposeScope(),
                    ByteCode => tensor(ReadArray<byte>(reader, elements, name, source), shape).DetachFromDisposeScope(),
                    _ => throw new InvalidDataException($"{source}: tensor '{name}' has unknown dtype code {code}."),
                };
            }
            return (header, tensors);
        }
        catch (Exception e) when (e is EndOfStreamException or System.Text.Json.JsonException)
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw new InvalidDataException($"{source} is truncated or corrupt: {e.Message}", e);
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
    }

    private static ClipPackageHeader ParseHeader(string json, string source) =>
        new(JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: the header is not a JSON object."), source);

    private static void WriteShape(BinaryWriter writer, Tensor tensor)
    {
        writer.Write((int)tensor.dim());
        foreach (var d in tensor.shape) writer.Write(d);
    }

    private static T[] ReadArray<T>(BinaryReader reader, long elements, string name, string source) where T : unmanaged
    {
        // The size comes from the file: check it against what is left before allocating, so a corrupt shape
        // cannot ask for gigabytes (BinaryReader.ReadBytes allocates the full count up front).
        var size = Marshal.SizeOf<T>();
        var bytes = elements > long.MaxValue / size ? long.MaxValue : elements * size;
        var stream = reader.BaseStream;
        if (bytes > Array.MaxLength || (stream.CanSeek && bytes > stream.Length - stream.Position))
            throw new InvalidDataException($"{source}: tensor '{name}' declares {elements} elements ({bytes} bytes), more than the file holds (truncated or corrupt).");
        var data = reader.ReadBytes((int)bytes);
        if (data.Length != bytes) throw new EndOfStreamException($"tensor '{name}' ends early");
        return MemoryMarshal.Cast<byte, T>(data).ToArray();
    }
}
