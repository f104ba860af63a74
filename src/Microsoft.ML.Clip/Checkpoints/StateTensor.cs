using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>The element types a checkpoint tensor can have (those of safetensors and of PyTorch's typed storages).</summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Checkpoints/StateTensorConversion maps it to and from TorchSharp's ScalarType)
internal enum StateTensorType
{
    /// <summary>IEEE double.</summary>
    Float64,

    /// <summary>IEEE single.</summary>
    Float32,

    /// <summary>IEEE half.</summary>
    Float16,

    /// <summary>The upper 16 bits of an IEEE single.</summary>
    BFloat16,

    /// <summary>Signed 64-bit integer.</summary>
    Int64,

    /// <summary>Signed 32-bit integer.</summary>
    Int32,

    /// <summary>Signed 16-bit integer.</summary>
    Int16,

    /// <summary>Signed 8-bit integer.</summary>
    Int8,

    /// <summary>Unsigned 8-bit integer (PyTorch's <c>Byte</c>).</summary>
    UInt8,

    /// <summary>One byte per value, 0 or 1.</summary>
    Bool,
}

/// <summary>
/// One tensor of a checkpoint as plain data: element type, shape and the values as little-endian bytes in C order.
/// Checkpoint reading, conversion and ONNX export work on these, so that none of them needs libtorch; the
/// TorchSharp package turns them into <c>torch.Tensor</c>s and back. Immutable: a tensor may share its bytes with
/// the storage it was read from (a PyTorch archive entry) or with other tensors.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Checkpoints/StateTensorConversion turns these into torch tensors and back)
internal sealed class StateTensor
{
    private readonly ReadOnlyMemory<byte> _data;
    private readonly Func<ReadOnlyMemory<byte>>? _read;

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of <paramref name="type"/> and <paramref name="shape"/>.</summary>
    /// <exception cref="ArgumentException">The byte count is not the element count times the item size.</exception>
    public StateTensor(StateTensorType type, long[] shape, ReadOnlyMemory<byte> data)
        : this(type, shape)
    {
        if (checked(ElementCount * ItemSize(type)) != data.Length)
            throw new ArgumentException($"A {type} tensor of shape [{string.Join(", ", shape)}] needs {ElementCount * ItemSize(type)} bytes, got {data.Length}.", nameof(data));
        _data = data;
    }

    private StateTensor(StateTensorType type, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0)) throw new ArgumentException($"Negative dimension in shape [{string.Join(", ", shape)}].", nameof(shape));
        Type = type;
        Shape = shape;
        ElementCount = shape.Contains(0) ? 0L : shape.Aggregate(1L, (product, d) => checked(product * d));
    }

    /// <summary>
    /// A tensor whose bytes live elsewhere (a TorchSharp parameter) and are copied out by <paramref name="read"/> on
    /// each access to <see cref="Data"/>: exporting a model from its tensors then holds one weight at a time in managed
    /// memory, not a second copy of the model.
    /// </summary>
    public static StateTensor Deferred(StateTensorType type, long[] shape, Func<ReadOnlyMemory<byte>> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        return new StateTensor(type, shape, read);
    }

    private StateTensor(StateTensorType type, long[] shape, Func<ReadOnlyMemory<byte>> read)
        : this(type, shape) => _read = read;

    /// <summary>The element type.</summary>
    public StateTensorType Type { get; }

    /// <summary>The dimensions (empty for a 0-d tensor). Not to be modified.</summary>
    public long[] Shape { get; }

    /// <summary>The values, little-endian, in C (row-major) order (for a <see cref="Deferred"/> tensor, a new copy each time).</summary>
    public ReadOnlyMemory<byte> Data
    {
        get
        {
            if (_read is null) return _data;
            var data = _read();
            if (data.Length != ElementCount * ItemSize(Type))
                throw new InvalidOperationException($"The source of a {this} tensor gave {data.Length} bytes.");
            return data;
        }
    }

    /// <summary>The number of values.</summary>
    public long ElementCount { get; }

    /// <summary>The number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>True for the floating types (float64, float32, float16, bfloat16).</summary>
    public bool IsFloatingPoint => IsFloating(Type);

    /// <summary>Bytes per value of <paramref name="type"/>.</summary>
    public static int ItemSize(StateTensorType type) => type switch
    {
        StateTensorType.Float64 or StateTensorType.Int64 => 8,
        StateTensorType.Float32 or StateTensorType.Int32 => 4,
        StateTensorType.Float16 or StateTensorType.BFloat16 or StateTensorType.Int16 => 2,
        StateTensorType.Int8 or StateTensorType.UInt8 or StateTensorType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown element type."),
    };

    /// <summary>True for the floating types.</summary>
    public static bool IsFloating(StateTensorType type) =>
        type is StateTensorType.Float64 or StateTensorType.Float32 or StateTensorType.Float16 or StateTensorType.BFloat16;

    /// <summary>A float32 tensor holding <paramref name="values"/> (copied) in <paramref name="shape"/>.</summary>
    public static StateTensor FromSingles(ReadOnlySpan<float> values, params long[] shape) =>
        new(StateTensorType.Float32, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>An int64 tensor holding <paramref name="values"/> (copied) in <paramref name="shape"/>.</summary>
    public static StateTensor FromInt64s(ReadOnlySpan<long> values, params long[] shape) =>
        new(StateTensorType.Int64, shape, MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>
    /// The values as float32, as <c>tensor.to(torch.float32)</c> gives them: exact from float16, bfloat16 and the
    /// integers up to 2²⁴, rounded to nearest from float64 and larger integers. A new array each call.
    /// </summary>
    public float[] ToSingles()
    {
        var result = new float[ElementCount];
        CopyAsSingles(result);
        return result;
    }

    /// <summary>This tensor in float32: itself when it already is, else a converted copy (see <see cref="ToSingles"/>).</summary>
    public StateTensor ToFloat32()
    {
        if (Type == StateTensorType.Float32) return this;
        var bytes = new byte[checked(ElementCount * sizeof(float))];
        CopyAsSingles(MemoryMarshal.Cast<byte, float>(bytes.AsSpan()));
        return new StateTensor(StateTensorType.Float32, Shape, bytes);
    }

    private void CopyAsSingles(Span<float> result) => CopyAsSingles(Type, Data.Span, result);

    private static void CopyAsSingles(StateTensorType type, ReadOnlySpan<byte> bytes, Span<float> result)
    {
        switch (type)
        {
            case StateTensorType.Float32:
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
            case StateTensorType.Float16:
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = (float)halves[i];
                break;
            case StateTensorType.BFloat16:
                // bfloat16 is the upper half of a float32: widening is a shift, exact.
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                break;
            case StateTensorType.Float64:
                var doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = (float)doubles[i];
                break;
            case StateTensorType.Int64:
                var longs = MemoryMarshal.Cast<byte, long>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = longs[i];
                break;
            case StateTensorType.Int32:
                var ints = MemoryMarshal.Cast<byte, int>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = ints[i];
                break;
            case StateTensorType.Int16:
                var shorts = MemoryMarshal.Cast<byte, short>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = shorts[i];
                break;
            case StateTensorType.Int8:
                var sbytes = MemoryMarshal.Cast<byte, sbyte>(bytes);
                for (var i = 0; i < result.Length; i++) result[i] = sbytes[i];
                break;
            default:
                for (var i = 0; i < result.Length; i++) result[i] = bytes[i];
                break;
        }
    }

    /// <summary>The values of an int64 tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is of another type.</exception>
    public long[] ToInt64s() => Type == StateTensorType.Int64
        ? MemoryMarshal.Cast<byte, long>(Data.Span).ToArray()
        : throw new InvalidOperationException($"A {Type} tensor is not int64.");

    /// <summary>The one value of a single-element floating tensor, in float32 (e.g. <c>logit_scale</c>).</summary>
    /// <exception cref="InvalidOperationException">The tensor holds more or fewer than one value.</exception>
    public float SingleValue() => ElementCount == 1
        ? ToSingles()[0]
        : throw new InvalidOperationException($"A tensor of shape [{string.Join(", ", Shape)}] has {ElementCount} values, not one.");

    /// <summary>The same values in <paramref name="shape"/> (same element count; the bytes are shared).</summary>
    public StateTensor Reshape(params long[] shape)
    {
        var reshaped = _read is null ? new StateTensor(Type, shape, _data) : new StateTensor(Type, shape, _read);
        return reshaped.ElementCount == ElementCount
            ? reshaped
            : throw new ArgumentException($"A {this} tensor cannot be reshaped to [{string.Join(", ", shape)}].", nameof(shape));
    }

    /// <summary>The transpose of a 2-d tensor, <c>tensor.t().contiguous()</c>: a new [columns, rows] tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is not 2-d.</exception>
    public StateTensor Transpose()
    {
        var (rows, columns) = Matrix();
        var size = ItemSize(Type);
        var source = Data.Span;
        var result = new byte[source.Length];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < columns; c++)
                source.Slice((r * columns + c) * size, size).CopyTo(result.AsSpan((c * rows + r) * size, size));
        return new StateTensor(Type, [Shape[1], Shape[0]], result);
    }

    /// <summary>
    /// <c>tensor.t().to(torch.float32).contiguous()</c> of a 2-d floating tensor in one pass: the only new array is the
    /// result (a large float16 weight is widened row by row, not copied twice).
    /// </summary>
    /// <exception cref="InvalidOperationException">The tensor is not 2-d.</exception>
    public StateTensor TransposeToFloat32()
    {
        if (Type == StateTensorType.Float32) return Transpose();
        var (rows, columns) = Matrix();
        var size = ItemSize(Type);
        var source = Data.Span;
        var bytes = new byte[checked(ElementCount * sizeof(float))];
        var result = MemoryMarshal.Cast<byte, float>(bytes.AsSpan());
        var row = new float[columns];
        for (var r = 0; r < rows; r++)
        {
            CopyAsSingles(Type, source.Slice(r * columns * size, columns * size), row);
            for (var c = 0; c < columns; c++) result[c * rows + r] = row[c];
        }
        return new StateTensor(StateTensorType.Float32, [Shape[1], Shape[0]], bytes);
    }

    private (int Rows, int Columns) Matrix() => Rank == 2
        ? (checked((int)Shape[0]), checked((int)Shape[1]))
        : throw new InvalidOperationException($"Only a 2-d tensor can be transposed; this one has shape [{string.Join(", ", Shape)}].");

    /// <summary>
    /// <c>torch.cat(parts, 0)</c>: the tensors one after the other along their first dimension. They must share the
    /// element type and every other dimension.
    /// </summary>
    public static StateTensor Concatenate(IReadOnlyList<StateTensor> parts)
    {
        ArgumentNullException.ThrowIfNull(parts);
        if (parts.Count == 0) throw new ArgumentException("Nothing to concatenate.", nameof(parts));
        var first = parts[0];
        if (first.Rank == 0) throw new ArgumentException("0-d tensors cannot be concatenated.", nameof(parts));
        foreach (var part in parts)
            if (part.Type != first.Type || part.Rank != first.Rank || !part.Shape.AsSpan(1).SequenceEqual(first.Shape.AsSpan(1)))
                throw new ArgumentException(
                    $"Cannot concatenate a {part.Type} [{string.Join(", ", part.Shape)}] to a {first.Type} [{string.Join(", ", first.Shape)}].", nameof(parts));
        var result = new byte[parts.Sum(p => p.ElementCount * ItemSize(p.Type))];
        var at = 0;
        foreach (var part in parts)
        {
            var data = part.Data.Span;
            data.CopyTo(result.AsSpan(at));
            at += data.Length;
        }
        long[] shape = [parts.Sum(p => p.Shape[0]), .. first.Shape.AsSpan(1)];
        return new StateTensor(first.Type, shape, result);
    }

    /// <summary><c>tensor.chunk(count, 0)</c> for a first dimension that <paramref name="count"/> divides: views, no copy.</summary>
    public StateTensor[] Split(int count)
    {
        if (Rank == 0 || count <= 0 || Shape[0] % count != 0)
            throw new InvalidOperationException($"A tensor of shape [{string.Join(", ", Shape)}] does not split into {count} equal parts along its first dimension.");
        var data = Data;
        var partBytes = data.Length / count;
        long[] shape = [Shape[0] / count, .. Shape.AsSpan(1)];
        return [.. Enumerable.Range(0, count).Select(i => new StateTensor(Type, shape, data.Slice(i * partBytes, partBytes)))];
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Type} [{string.Join(", ", Shape)}]";
}
