using Onnx;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Which tensors <see cref="StaticInt8Quantization"/> quantizes, decided on the float graph (BatchNormalization already
/// folded) before calibration, so that the ranges are measured on exactly the tensors that get a scale.
/// </summary>
internal sealed class QuantizationPlan
{
    /// <summary>A tensor that passes through QuantizeLinear → DequantizeLinear.</summary>
    /// <param name="Name">The tensor its consumers read (after a dropped Relu: the Relu's output).</param>
    /// <param name="Source">The tensor that is quantized (before a dropped Relu: the convolution's or sum's output).</param>
    /// <param name="RangeOf">The tensor whose calibrated range sets the scale (a MaxPool's output: its input's).</param>
    internal sealed record Tensor(string Name, string Source, string RangeOf);

    /// <summary>The quantized tensors by <see cref="Tensor.Name"/>.</summary>
    public Dictionary<string, Tensor> Tensors { get; } = new(StringComparer.Ordinal);

    // Nodes are compared by reference: protobuf messages compare (and hash) by value, which the rewrite changes.

    /// <summary>The convolutions whose weights become int8.</summary>
    public HashSet<NodeProto> Convolutions { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The activation input of each of <see cref="Convolutions"/>.</summary>
    public Dictionary<NodeProto, string> ConvolutionInputs { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The Relu nodes replaced by a quantization with zero point 0.</summary>
    public HashSet<NodeProto> AbsorbedRelus { get; } = new(ReferenceEqualityComparer.Instance);

    /// <summary>The float tensors whose ranges calibration measures.</summary>
    public IReadOnlyCollection<string> CalibratedTensors => Tensors.Values.Select(t => t.RangeOf).ToHashSet(StringComparer.Ordinal);

    public static QuantizationPlan For(GraphProto graph, Dictionary<string, TensorProto> initializers)
    {
        var plan = new QuantizationPlan();
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
                producers[output] = node;
            foreach (var input in node.Input)
                (consumers.TryGetValue(input, out var list) ? list : consumers[input] = []).Add(node);
        }
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        // A tensor read as is; a graph output stays float (its consumers outside the graph want floats).
        void Quantize(string name)
        {
            if (!graphOutputs.Contains(name) && !plan.Tensors.ContainsKey(name))
                plan.Tensors[name] = new Tensor(name, name, name);
        }

        // An op's output: a Relu that alone reads it is dropped, and the Relu's output is what consumers read.
        void QuantizeOutput(string output)
        {
            if (graphOutputs.Contains(output) || plan.Tensors.ContainsKey(output))
                return;
            if (consumers.GetValueOrDefault(output) is [{ OpType: "Relu", Domain: "" or "ai.onnx" } relu] && !graphOutputs.Contains(relu.Output[0]))
            {
                plan.AbsorbedRelus.Add(relu);
                plan.Tensors[relu.Output[0]] = new Tensor(relu.Output[0], output, relu.Output[0]);
            }
            else
            {
                plan.Tensors[output] = new Tensor(output, output, output);
            }
        }

        // A convolution over a graph output stays float: that tensor must stay float for the graph's own readers.
        foreach (var conv in graph.Node.Where(n => StaticInt8Quantization.IsQuantizableConv(n, initializers) && !graphOutputs.Contains(n.Input[0])))
        {
            plan.Convolutions.Add(conv);
            plan.ConvolutionInputs[conv] = conv.Input[0];
            Quantize(conv.Input[0]);
            QuantizeOutput(conv.Output[0]);
        }
        // Residual sums: both inputs computed, at least one by a quantized convolution.
        foreach (var add in graph.Node.Where(n => n.OpType == "Add" && n.Domain is "" or "ai.onnx" && n.Input.Count == 2))
        {
            if (add.Input.Any(initializers.ContainsKey) || graphOutputs.Contains(add.Output[0])
                || !add.Input.Any(i => producers.TryGetValue(i, out var p) && plan.Convolutions.Contains(p)))
                continue;
            foreach (var input in add.Input)
                Quantize(input);
            QuantizeOutput(add.Output[0]);
        }
        // A max pool of a quantized tensor runs on uint8 when its output has the same scale (its values are a subset).
        // In graph order, so a pool of a pool's output finds its input planned.
        foreach (var pool in graph.Node.Where(n => n.OpType == "MaxPool" && n.Domain is "" or "ai.onnx" && n.Output.Count == 1))
        {
            if (plan.Tensors.TryGetValue(pool.Input[0], out var input) && !graphOutputs.Contains(pool.Output[0]))
                plan.Tensors[pool.Output[0]] = new Tensor(pool.Output[0], pool.Output[0], input.RangeOf);
        }
        return plan;
    }
}
