using System.Text;
using System.Text.Json.Nodes;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// The package's own file format for trained models (<c>model.clipmodel</c>) and training checkpoints
/// (<c>checkpoint.clipckpt</c>): a magic, a format version, a JSON header (UTF-8) and named little-endian tensors
/// (float32, int64 or uint8 — the last for a frozen image encoder's ONNX graph: name, dtype, shape, raw data).
/// Read and written on plain arrays, so that converting a trained model needs no libtorch.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training writes and resumes these files, through Checkpoints/ClipPackageTensors)
internal static class ClipPackageFile
{
    public const int FormatVersion = 1;

    /// <summary>Header <c>kind</c> of a trained model.</summary>
    public const string ModelKind = "model";

    /// <summary>Header <c>kind</c> of a training checkpoint (its weights are prefixed <see cref="CheckpointModelPrefix"/>).</summary>
    public const string CheckpointKind = "checkpoint";

    /// <summary>Prefix of the model's tensors in a checkpoint (the optimiser's are <c>optim.</c>).</summary>
    public const string CheckpointModelPrefix = "model.";

    /// <summary>Name under which a saved locked-image model carries its frozen encoder's ONNX graph (uint8).</summary>
    public const string ImageEncoderTensorName = "image_encoder.onnx";

    /// <summary>
    /// Whether the tensor <paramref name="name"/> of a package is a model weight, not one of the inputs stored beside the
    /// weights (a frozen image or text encoder, the tokenizer file): the one rule for every reader.
    /// </summary>
    public static bool IsModelWeight(string name)
        => name is not (ImageEncoderTensorName or ClipPackageInputs.TokenizerTensorName) && !ClipPackageTextEncoder.IsEncoderTensor(name);

    private static readonly byte[] Magic = "MLCLIPPK"u8.ToArray();
    private const int Float32Code = 0;
    private const int Int64Code = 1;
    private const int ByteCode = 2;

    /// <summary>
    /// Writes <paramref name="count"/> tensors, taken one at a time from <paramref name="tensors"/> (so that a caller
    /// converting them from another form holds one converted tensor at a time).
    /// </summary>
    /// <param name="stream">Where to write.</param>
    /// <param name="header">The JSON header.</param>
    /// <param name="count">How many tensors <paramref name="tensors"/> yields (written before them).</param>
    /// <param name="tensors">The tensors: float32, int64 or uint8.</param>
    /// <param name="afterTensor">Called with the index of each tensor once it is written (tests interrupt a write there).</param>
    public static void Write(Stream stream, JsonObject header, int count, IEnumerable<(string Name, StateTensor Tensor)> tensors, Action<int>? afterTensor = null)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("Package files store little-endian data; this machine is big-endian.");
        using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        writer.Write(Magic);
        writer.Write(FormatVersion);
        writer.Write(header.ToJsonString());
        writer.Write(count);
        var written = 0;
        foreach (var (name, tensor) in tensors)
        {
            if (written == count)
                throw new ArgumentException($"More than the {count} tensors announced.", nameof(tensors));
            writer.Write(name);
            writer.Write(tensor.Type switch
            {
                StateTensorType.Float32 => Float32Code,
                StateTensorType.Int64 => Int64Code,
                StateTensorType.UInt8 => ByteCode,
                _ => throw new NotSupportedException($"Tensor '{name}' has dtype {tensor.Type}; only float32, int64 and uint8 are stored."),
            });
            writer.Write(tensor.Rank);
            foreach (var d in tensor.Shape) writer.Write(d);
            writer.Write(tensor.Data.Span);
            afterTensor?.Invoke(written);
            written++;
        }
        if (written != count)
            throw new ArgumentException($"{written} tensors given, {count} announced.", nameof(tensors));
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

    /// <summary>Reads a file written by <see cref="Write"/>.</summary>
    /// <exception cref="InvalidDataException">The stream is not such a file, or is truncated (the message names <paramref name="source"/>).</exception>
    public static (ClipPackageHeader Header, Dictionary<string, StateTensor> Tensors) Read(Stream stream, string source)
    {
        var tensors = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
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
                var type = code switch
                {
                    Float32Code => StateTensorType.Float32,
                    Int64Code => StateTensorType.Int64,
                    ByteCode => StateTensorType.UInt8,
                    _ => throw new InvalidDataException($"{source}: tensor '{name}' has unknown dtype code {code}."),
                };
                tensors[name] = new StateTensor(type, shape, ReadData(reader, elements, StateTensor.ItemSize(type), name, source));
            }
            return (header, tensors);
        }
        catch (Exception e) when (e is EndOfStreamException or System.Text.Json.JsonException)
        {
            throw new InvalidDataException($"{source} is truncated or corrupt: {e.Message}", e);
        }
    }

    private static ClipPackageHeader ParseHeader(string json, string source) =>
        new(JsonNode.Parse(json) as JsonObject ?? throw new InvalidDataException($"{source}: the header is not a JSON object."), source);

    private static byte[] ReadData(BinaryReader reader, long elements, int size, string name, string source)
    {
        // The size comes from the file: check it against what is left before allocating, so a corrupt shape
        // cannot ask for gigabytes (BinaryReader.ReadBytes allocates the full count up front).
        var bytes = elements > long.MaxValue / size ? long.MaxValue : elements * size;
        var stream = reader.BaseStream;
        if (bytes > Array.MaxLength || (stream.CanSeek && bytes > stream.Length - stream.Position))
            throw new InvalidDataException($"{source}: tensor '{name}' declares {elements} elements ({bytes} bytes), more than the file holds (truncated or corrupt).");
        var data = reader.ReadBytes((int)bytes);
        if (data.Length != bytes) throw new EndOfStreamException($"tensor '{name}' ends early");
        return data;
    }
}
