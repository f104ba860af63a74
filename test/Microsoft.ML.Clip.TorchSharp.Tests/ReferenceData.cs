using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>Loads the reference fixtures (<c>test/fixtures/clip-reference</c>) as tensors.</summary>
internal static class ReferenceData
{
    public static string Checkpoint(string model) => Fixtures.Reference("models", $"{model}.openai.pt");

    /// <summary>The state dict of a <c>.pt</c> file as tensors of the file's dtype (float16 for the fixtures).</summary>
    public static Dictionary<string, Tensor> StateDict(string path) =>
        StateTensorConversion.ToTensors(PyTorchCheckpoint.ReadStateDict(path), floatingAsFloat32: false);

    /// <summary>The tensor as <see cref="TorchSaveWriter"/> writes it.</summary>
    public static SavedTensor ToSaved(this Tensor tensor) => new(tensor.dtype switch
    {
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        var other => throw new ArgumentException($"No storage name for {other}."),
    }, tensor.shape, tensor.contiguous().bytes.ToArray());

    public static Tensor Float(params string[] parts)
    {
        var array = Npy.ReadFloat32(Fixtures.Reference(parts));
        return tensor(array.Data, array.Shape.Select(x => (long)x).ToArray());
    }

    public static Tensor Int64(params string[] parts)
    {
        var array = Npy.ReadInt64(Fixtures.Reference(parts));
        return tensor(array.Data, array.Shape.Select(x => (long)x).ToArray());
    }

    public static double MaxAbsDiff(Tensor actual, Tensor expected)
    {
        Assert.Equal(expected.shape, actual.shape);
        return actual.to(ScalarType.Float64).sub(expected.to(ScalarType.Float64)).abs().max().item<double>();
    }
}
