using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Graphs;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Stores a graph's float32 weight tensors (every initializer of rank ≥ 2: matrices, convolution kernels, embedding
/// tables) as float16, each followed by a Cast back to float32 under the original name, so that the rest of the graph
/// is untouched. The file shrinks to about half; ONNX Runtime folds the Casts when it loads the model, so inference
/// still runs in float32. The values are exact when the weights are float16-representable (OpenAI's released
/// checkpoints are float16); otherwise they are rounded to the nearest float16. Vectors (biases, norms) stay float32:
/// they are small and their precision is cheap to keep.
/// </summary>
internal static class Float16WeightStorage
{
    /// <summary>Suffix of the float16 initializer that feeds the Cast producing the original name.</summary>
    private const string StoredSuffix = ".float16";

    /// <summary>Rewrites <paramref name="model"/> in place.</summary>
    /// <returns>True when storing as float16 changed some value (a weight that is not float16-representable).</returns>
    public static bool Apply(ModelProto model)
    {
        var graph = model.Graph;
        var casts = new List<NodeProto>();
        var rounded = false;
        for (var i = 0; i < graph.Initializer.Count; i++)
        {
            var tensor = graph.Initializer[i];
            if (tensor.DataType != (int)DataType.Float || tensor.Dims.Count < 2) continue;
            var stored = tensor.Name + StoredSuffix;
            var values = Values(tensor);
            rounded = rounded || !HoldsFloat16Values(values);
            graph.Initializer[i] = OnnxGraphBuilder.Float16Tensor(stored, [.. tensor.Dims], values);
            casts.Add(OnnxGraphBuilder.CreateNode("Cast", tensor.Name, [stored], OnnxGraphBuilder.Int("to", (long)DataType.Float)));
        }
        // Nodes stay in topological order: the Casts read only initializers, so they go first.
        for (var i = casts.Count - 1; i >= 0; i--) graph.Node.Insert(0, casts[i]);
        return rounded;
    }

    // True when every value survives the trip through float16 (NaN counts as surviving: it stays a NaN).
    private static bool HoldsFloat16Values(ReadOnlySpan<float> values)
    {
        foreach (var value in values)
            if (!((float)(Half)value).Equals(value))
                return false;
        return true;
    }

    private static ReadOnlySpan<float> Values(TensorProto tensor)
    {
        if (!tensor.RawData.IsEmpty) return MemoryMarshal.Cast<byte, float>(tensor.RawData.Span);
        return tensor.FloatData.ToArray();
    }
}
