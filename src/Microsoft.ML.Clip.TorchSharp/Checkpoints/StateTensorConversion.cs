using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// Between the inference package's plain checkpoint tensors (<see cref="StateTensor"/>: dtype, shape, bytes) and
/// TorchSharp tensors: checkpoints are read and exported on plain arrays, and only training and fine-tuning need them
/// as <c>torch.Tensor</c>s. Both directions copy the bytes as they are (little-endian, C order).
/// </summary>
internal static class StateTensorConversion
{
    private static readonly (StateTensorType Plain, ScalarType Torch)[] Types =
    [
        (StateTensorType.Float64, ScalarType.Float64),
        (StateTensorType.Float32, ScalarType.Float32),
        (StateTensorType.Float16, ScalarType.Float16),
        (StateTensorType.BFloat16, ScalarType.BFloat16),
        (StateTensorType.Int64, ScalarType.Int64),
        (StateTensorType.Int32, ScalarType.Int32),
        (StateTensorType.Int16, ScalarType.Int16),
        (StateTensorType.Int8, ScalarType.Int8),
        (StateTensorType.UInt8, ScalarType.Byte),
        (StateTensorType.Bool, ScalarType.Bool),
    ];

    /// <summary>A new CPU tensor holding <paramref name="tensor"/>'s values in its dtype.</summary>
    public static Tensor ToTensor(this StateTensor tensor)
    {
        var result = empty(tensor.Shape, Torch(tensor.Type));
        // The setter copies from the span; it only takes a writable one.
        if (tensor.ElementCount > 0) result.bytes = MemoryMarshal.AsMemory(tensor.Data).Span;
        return result;
    }

    /// <summary>The values of <paramref name="tensor"/> (any device) as a plain tensor of the same dtype (a copy).</summary>
    /// <exception cref="NotSupportedException">A dtype checkpoints do not hold (complex, quantised, …).</exception>
    public static StateTensor ToStateTensor(this Tensor tensor, string name)
    {
        using var cpu = tensor.detach().cpu().contiguous();
        var type = Plain(cpu.dtype, name);
        return new StateTensor(type, cpu.shape, cpu.numel() > 0 ? cpu.bytes.ToArray() : []);
    }

    /// <summary>
    /// A plain view of <paramref name="tensor"/> whose bytes are copied out of it on each read (see
    /// <see cref="StateTensor.Deferred"/>); the tensor must outlive the view and stay unchanged.
    /// </summary>
    public static StateTensor ToDeferredStateTensor(this Tensor tensor, string name) =>
        StateTensor.Deferred(Plain(tensor.dtype, name), tensor.shape, () => tensor.ToStateTensor(name).Data);

    /// <summary>Every tensor of <paramref name="tensors"/> as a new CPU tensor (floating ones in float32 when <paramref name="floatingAsFloat32"/>).</summary>
    /// <remarks>On failure the tensors made so far are disposed.</remarks>
    public static Dictionary<string, Tensor> ToTensors(IReadOnlyDictionary<string, StateTensor> tensors, bool floatingAsFloat32)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            foreach (var (name, tensor) in tensors)
                result[name] = (floatingAsFloat32 && tensor.IsFloatingPoint ? tensor.ToFloat32() : tensor).ToTensor();
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    /// <summary>Every tensor of <paramref name="tensors"/> as a plain tensor (copied to the CPU).</summary>
    public static Dictionary<string, StateTensor> ToStateDict(IEnumerable<KeyValuePair<string, Tensor>> tensors) =>
        tensors.ToDictionary(kv => kv.Key, kv => kv.Value.ToStateTensor(kv.Key), StringComparer.Ordinal);

    private static ScalarType Torch(StateTensorType type) => Types.First(t => t.Plain == type).Torch;

    private static StateTensorType Plain(ScalarType type, string name)
    {
        foreach (var (plain, torch) in Types)
            if (torch == type) return plain;
        throw new NotSupportedException($"Tensor '{name}' has dtype {type}, which checkpoints cannot store.");
    }
}
