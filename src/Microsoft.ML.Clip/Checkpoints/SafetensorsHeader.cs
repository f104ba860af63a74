namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>One tensor of a safetensors header: name, dtype, shape and byte range in the data section.</summary>
/// <param name="Name">Tensor name.</param>
/// <param name="DType">Safetensors dtype name (<c>F32</c>, <c>F16</c>, <c>BF16</c>, <c>I64</c>, ...).</param>
/// <param name="Type">The element type of <paramref name="DType"/>.</param>
/// <param name="Shape">Dimensions (empty for a 0-d tensor).</param>
/// <param name="Begin">First byte, relative to the start of the data section.</param>
/// <param name="End">One past the last byte, relative to the start of the data section.</param>
internal sealed record SafetensorsEntry(string Name, string DType, StateTensorType Type, long[] Shape, long Begin, long End)
{
    /// <summary>Number of bytes of the tensor's data.</summary>
    public long ByteLength => End - Begin;
}

/// <summary>The parsed header of a safetensors file.</summary>
/// <param name="Path">The file it was read from (named in error messages).</param>
/// <param name="Metadata">The <c>__metadata__</c> string map (empty when absent).</param>
/// <param name="Entries">The tensors in header order.</param>
/// <param name="DataOffset">Absolute file offset of the data section (8 + header length).</param>
internal sealed record SafetensorsHeader(string Path, IReadOnlyDictionary<string, string> Metadata, IReadOnlyList<SafetensorsEntry> Entries, long DataOffset);
