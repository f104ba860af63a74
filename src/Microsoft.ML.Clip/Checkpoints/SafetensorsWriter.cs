using System.Buffers.Binary;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.ML.Clip.IO;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Writes tensors in the safetensors format as the Python <c>safetensors</c> library does: tensors
/// ordered by decreasing item size, then by name (so every tensor stays aligned to its item size), a
/// compact JSON header that starts with <c>__metadata__</c> (<c>{"format":"pt"}</c> plus any extra
/// entries) and is padded with spaces to a multiple of 8 bytes.
/// </summary>
internal static class SafetensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (any supported dtype) to <paramref name="path"/>.</summary>
    /// <param name="path">The file to create or overwrite.</param>
    /// <param name="tensors">Tensors by name.</param>
    /// <param name="metadata">Extra <c>__metadata__</c> entries; <c>format</c> defaults to <c>pt</c>.</param>
    /// <exception cref="NotSupportedException">A tensor has a dtype safetensors cannot store.</exception>
    public static void Write(string path, IReadOnlyDictionary<string, StateTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var ordered = tensors
            .Select(kv => (kv.Key, kv.Value, DType: SafetensorsDType.Of(kv.Value.Type, kv.Key)))
            .OrderByDescending(t => t.DType.Size)
            .ThenBy(t => t.Key, StringComparer.Ordinal)
            .ToList();

        var headerBuffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(headerBuffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            var meta = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["format"] = "pt" };
            if (metadata != null)
                foreach (var kv in metadata) meta[kv.Key] = kv.Value;
            foreach (var kv in meta) json.WriteString(kv.Key, kv.Value);
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, tensor, dtype) in ordered)
            {
                var length = tensor.ElementCount * dtype.Size;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype.Name);
                json.WriteStartArray("shape");
                foreach (var d in tensor.Shape) json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(offset + length);
                json.WriteEndArray();
                json.WriteEndObject();
                offset += length;
            }
            json.WriteEndObject();
        }
        var header = headerBuffer.ToArray();
        var padded = (header.Length + 7) / 8 * 8;

        AtomicFile.Write(path, stream =>
        {
            Span<byte> lengthBytes = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(lengthBytes, (ulong)padded);
            stream.Write(lengthBytes);
            stream.Write(header);
            stream.Write(Encoding.ASCII.GetBytes(new string(' ', padded - header.Length)));
            foreach (var (_, tensor, _) in ordered)
                stream.Write(tensor.Data.Span);
        });
    }
}
