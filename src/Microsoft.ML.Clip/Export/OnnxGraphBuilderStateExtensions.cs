using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The state-dict side of <see cref="OnnxGraphBuilder"/>: initializers from checkpoint tensors (their values in float32,
/// whatever dtype the checkpoint stores), and the layers whose weights are state-dict tensors.
/// </summary>
internal static class OnnxGraphBuilderStateExtensions
{
    /// <summary>
    /// A float32 initializer holding <paramref name="tensor"/> (any floating dtype, converted as <c>to(float32)</c> does).
    /// Its bytes are shared, not copied: a float32 tensor's own (they never change), else the converted copy's.
    /// </summary>
    public static string Weight(this OnnxGraphBuilder g, string name, StateTensor tensor)
    {
        var values = tensor.ToFloat32();
        return g.Initializer(name, DataType.Float, values.Shape, values.Data);
    }

    /// <summary><c>x·Wᵀ + b</c> for a PyTorch <c>Linear</c> weight [out, in] (stored transposed as [in, out]).</summary>
    public static string Linear(this OnnxGraphBuilder g, string x, StateTensor weight, StateTensor? bias, string name)
    {
        // Transposed and widened in one pass: one float32 copy of the weight, the one the graph keeps.
        var weightT = g.Weight(name + ".weight_t", weight.TransposeToFloat32());
        return g.Linear(x, weightT, bias is null ? null : g.Weight(name + ".bias", bias));
    }

    /// <summary>
    /// <c>x·Wᵀ + b</c> for 2-d rows <paramref name="x"/> and a PyTorch <c>Linear</c> weight [out, in], as one
    /// <c>Gemm</c> (the weight stored transposed as [in, out], as for <see cref="Linear"/>).
    /// </summary>
    public static string Gemm(this OnnxGraphBuilder g, string x, StateTensor weight, StateTensor? bias, string name)
        => g.Gemm(x, g.Weight(name + ".weight_t", weight.TransposeToFloat32()), bias is null ? null : g.Weight(name + ".bias", bias));

    /// <summary>LayerNormalization over the last axis (opset 17) with the affine <paramref name="weight"/> and <paramref name="bias"/>.</summary>
    public static string LayerNorm(this OnnxGraphBuilder g, string x, StateTensor weight, StateTensor bias, float epsilon, string name)
        => g.LayerNorm(x, g.Weight(name + ".weight", weight), g.Weight(name + ".bias", bias), epsilon);
}
