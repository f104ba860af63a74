using Microsoft.ML.Clip.Graphs;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Folds an inference BatchNormalization into the convolution before it: <c>W'_c = W_c · γ_c / √(σ²_c + ε)</c>,
/// <c>b'_c = (b_c − μ_c) · γ_c / √(σ²_c + ε) + β_c</c> — what ONNX Runtime does at load for float convolutions, done
/// in the graph so that a quantized convolution (which ONNX Runtime cannot fold into) quantizes the folded weights.
/// Only convolutions whose weights, bias and normalisation parameters are initializers and whose output feeds the
/// normalisation alone are folded.
/// </summary>
internal static class BatchNormFolding
{
    /// <summary>Folds in place; <paramref name="initializers"/> is the graph's name → initializer map (kept up to date).</summary>
    public static int Apply(GraphProto graph, Dictionary<string, TensorProto> initializers)
    {
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output) producers[output] = node;
            foreach (var input in node.Input) consumers[input] = consumers.GetValueOrDefault(input) + 1;
        }
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var names = new UniqueNames(graph);
        int folded = 0;
        foreach (var bn in graph.Node.Where(n => n.OpType == "BatchNormalization" && n.Domain is "" or "ai.onnx").ToList())
        {
            if (bn.Input.Count != 5 || bn.Output.Count != 1 || !producers.TryGetValue(bn.Input[0], out var conv) || conv.OpType != "Conv"
                || consumers.GetValueOrDefault(bn.Input[0]) != 1 || graphOutputs.Contains(bn.Input[0])
                || !bn.Input.Skip(1).All(initializers.ContainsKey) || conv.Input.Count < 2 || !initializers.TryGetValue(conv.Input[1], out var w)
                || w.DataType != (int)DataType.Float || consumers.GetValueOrDefault(conv.Input[1]) != 1
                || (conv.Input.Count > 2 && conv.Input[2].Length > 0 && !initializers.ContainsKey(conv.Input[2])))
                continue;
            var epsilon = bn.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            var (gamma, beta, mean, variance) = (Values(initializers, bn.Input[1]), Values(initializers, bn.Input[2]), Values(initializers, bn.Input[3]), Values(initializers, bn.Input[4]));
            var weights = DynamicInt8Quantization.FloatValues(w);
            int channels = (int)w.Dims[0], perChannel = weights.Length / channels;
            var bias = conv.Input.Count > 2 && conv.Input[2].Length > 0 ? Values(initializers, conv.Input[2]) : new float[channels];
            var newBias = new float[channels];
            for (int c = 0; c < channels; c++)
            {
                var factor = (float)(gamma[c] / Math.Sqrt((double)variance[c] + epsilon));
                for (int i = 0; i < perChannel; i++)
                    weights[c * perChannel + i] *= factor;
                newBias[c] = (bias[c] - mean[c]) * factor + beta[c];
            }
            var weightName = names.New(conv.Input[1] + "_bn_folded");
            var biasName = names.New(conv.Input[1] + "_bn_bias");
            var weightTensor = OnnxGraphBuilder.FloatTensor(weightName, [.. w.Dims], weights);
            var biasTensor = OnnxGraphBuilder.FloatTensor(biasName, [channels], newBias);
            graph.Initializer.Add(weightTensor);
            graph.Initializer.Add(biasTensor);
            initializers[weightName] = weightTensor;
            initializers[biasName] = biasTensor;
            conv.Input[1] = weightName;
            if (conv.Input.Count > 2) conv.Input[2] = biasName; else conv.Input.Add(biasName);
            conv.Output[0] = bn.Output[0];
            graph.Node.Remove(bn);
            folded++;
        }
        return folded;
    }

    private static float[] Values(Dictionary<string, TensorProto> initializers, string name)
    {
        var t = initializers[name];
        return t.DataType == (int)DataType.Float
            ? DynamicInt8Quantization.FloatValues(t)
            : throw new NotSupportedException($"BatchNormalization parameter '{name}' is {(DataType)t.DataType}, not float.");
    }
}
