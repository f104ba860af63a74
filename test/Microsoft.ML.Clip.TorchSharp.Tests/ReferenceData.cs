using Microsoft.ML.Clip.TestUtilities;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>Loads the reference fixtures (<c>test/fixtures/clip-reference</c>) as tensors.</summary>
internal static class ReferenceData
{
    public static string Checkpoint(string model) => Fixtures.Reference("models", $"{model}.openai.pt");

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
