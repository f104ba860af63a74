using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>Plain checkpoint tensors for tests: constants, the form <see cref="TorchSaveWriter"/> writes, exact comparison.</summary>
internal static class TestTensors
{
    public static StateTensor Full(float value, params long[] shape) =>
        StateTensor.FromSingles(Enumerable.Repeat(value, (int)shape.Aggregate(1L, (a, b) => a * b)).ToArray(), shape);

    public static StateTensor Ones(params long[] shape) => Full(1f, shape);

    public static StateTensor Zeros(params long[] shape) => Full(0f, shape);

    /// <summary>The tensor as <c>torch.save</c> stores it.</summary>
    public static SavedTensor ToSaved(this StateTensor tensor) => new(tensor.Type switch
    {
        StateTensorType.Float32 => "FloatStorage",
        StateTensorType.Float16 => "HalfStorage",
        StateTensorType.BFloat16 => "BFloat16Storage",
        StateTensorType.Int64 => "LongStorage",
        var other => throw new ArgumentException($"No storage name for {other}."),
    }, tensor.Shape, tensor.Data.ToArray());

    /// <summary>The tensor in bfloat16 (round to nearest even, as <c>tensor.to(torch.bfloat16)</c>).</summary>
    public static StateTensor ToBFloat16(this StateTensor tensor)
    {
        var values = tensor.ToSingles();
        var bytes = new byte[values.Length * 2];
        for (var i = 0; i < values.Length; i++)
        {
            var bits = BitConverter.SingleToUInt32Bits(values[i]);
            var rounded = (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 2), rounded);
        }
        return new StateTensor(StateTensorType.BFloat16, tensor.Shape, bytes);
    }

    /// <summary>The tensor in float16 (round to nearest even).</summary>
    public static StateTensor ToFloat16(this StateTensor tensor)
    {
        var values = tensor.ToSingles();
        var halves = values.Select(v => (Half)v).ToArray();
        return new StateTensor(StateTensorType.Float16, tensor.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(halves.AsSpan()).ToArray());
    }

    /// <summary>Same names, shapes and values (compared as float64, so float16 and float32 of the same values agree).</summary>
    public static void AssertIdentical(IReadOnlyDictionary<string, StateTensor> expected, IReadOnlyDictionary<string, StateTensor> actual)
    {
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected)
        {
            var a = actual[name];
            Assert.True(e.Shape.SequenceEqual(a.Shape), $"{name}: [{string.Join(",", e.Shape)}] vs [{string.Join(",", a.Shape)}]");
            Assert.True(Values(e).SequenceEqual(Values(a)), $"{name} differs");
        }
    }

    private static double[] Values(StateTensor t) =>
        t.Type == StateTensorType.Int64 ? [.. t.ToInt64s().Select(v => (double)v)] : [.. t.ToSingles().Select(v => (double)v)];
}
