using Microsoft.ML.Clip.Graphs;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Export;

/// <summary>
/// The TorchSharp side of <see cref="OnnxGraphBuilder"/>: initializers from state-dict tensors (copied to the
/// CPU as float32 values and dims, optionally stored as float16), and the layers whose weights are tensors.
/// </summary>
internal static class OnnxGraphBuilderTensorExtensions
{
    /// <summary>An initializer holding <paramref name="tensor"/> (any float dtype), stored as float32 or float16.</summary>
    public static string Weight(this OnnxGraphBuilder g, string name, Tensor tensor, ScalarType storeAs = ScalarType.Float32)
    {
        if (storeAs is not (ScalarType.Float32 or ScalarType.Float16))
            throw new NotSupportedException($"Initializer dtype {storeAs} is not supported.");
        var (values, dims) = ToFloats(tensor);
        return g.Floats(name, values, dims, asFloat16: storeAs == ScalarType.Float16);
    }

    /// <summary>The values (row-major, float32) and shape of <paramref name="tensor"/>.</summary>
    public static (float[] Values, long[] Dims) ToFloats(Tensor tensor)
    {
        using var scope = torch.NewDisposeScope();
        var data = tensor.detach().cpu().to(ScalarType.Float32).contiguous();
        return (data.data<float>().ToArray(), data.shape);
    }

    /// <summary><c>x·Wᵀ + b</c> for a PyTorch <c>Linear</c> weight [out, in] (stored transposed as [in, out]).</summary>
    public static string Linear(this OnnxGraphBuilder g, string x, Tensor weight, Tensor? bias, string name)
    {
        using var transposed = weight.t();
        var weightT = g.Weight(name + ".weight_t", transposed);
        return g.Linear(x, weightT, bias is null ? null : g.Weight(name + ".bias", bias));
    }

    /// <summary>LayerNormalization over the last axis (opset 17) with the affine <paramref name="weight"/> and <paramref name="bias"/>.</summary>
    public static string LayerNorm(this OnnxGraphBuilder g, string x, Tensor weight, Tensor bias, float epsilon, string name)
        => g.LayerNorm(x, g.Weight(name + ".weight", weight), g.Weight(name + ".bias", bias), epsilon);
}
