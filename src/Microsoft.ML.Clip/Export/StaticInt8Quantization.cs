using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Graphs;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Static (calibrated) int8 quantization of a graph's convolutions, written in the portable QDQ form: each quantized
/// activation passes through <c>QuantizeLinear → DequantizeLinear</c> (uint8, one scale and zero point per tensor,
/// measured on calibration images), each convolution's weight is int8 symmetric per output channel behind a
/// <c>DequantizeLinear</c> and its bias int32 at scale <c>x_scale · w_scale_c</c>. ONNX Runtime's optimiser turns every
/// <c>DQ → Conv → Q</c> into one <c>QLinearConv</c> (u8 × s8, the form its x86 kernels prefer, VNNI / AMX where the CPU
/// has them), <c>DQ, DQ → Add → Q</c> into <c>QLinearAdd</c> and drops the pair around a <c>MaxPool</c>, so the
/// network stays uint8 from the first convolution to the last residual sum; any other runtime runs the same graph as
/// float ops on quantized values.
/// </summary>
/// <remarks>
/// <para>What is quantized: the activation input and the output of every convolution with a float weight
/// initializer (after BatchNormalization folding); both inputs and the output of every residual <c>Add</c> (two computed
/// inputs, one of them a convolution's); a <c>MaxPool</c> of a quantized tensor, whose output keeps its input's scale.
/// A <c>Relu</c> that alone reads such an output is dropped and its range calibrated instead: quantizing with zero point 0
/// clamps at 0 exactly as it would. Tensors that are graph outputs stay float, so do the ops before the first
/// convolution and after the last quantized tensor (here: the input's channel swap and mean subtraction, the average pool
/// and any head). A convolution over at most four input channels — the one reading the image — stays float too: it is a
/// small share of the work (K = 3 · 7 · 7 = 147 for ResNet-18's) and the one whose quantization cost the most accuracy
/// (ResNet-18 on held-out images: minimum cosine to the float features 0.967 with it int8, 0.992 without; docs/results.md).</para>
/// <para>Ranges come from <see cref="ActivationRanges"/> over <see cref="Int8Calibration"/>; each is widened to hold 0
/// (so zero padding is exact), <c>scale = (max − min) / 255</c>, <c>zero_point = round(−min / scale)</c>. Weights:
/// <c>scale_c = max|w_c| / 127</c>, <c>q = round_half_even(w / scale_c)</c> in [−127, 127]. The opset is raised to 13
/// (per-channel <c>DequantizeLinear</c>) where the graph's operators allow (<see cref="OpsetUpgrade"/>).</para>
/// </remarks>
internal static class StaticInt8Quantization
{
    /// <summary>The value of the <c>activations</c> metadata entry of a graph quantized this way.</summary>
    public const string MetadataValue = "uint8 per tensor, calibrated (static quantization of the convolutions: QDQ)";

    /// <summary>Rewrites <paramref name="model"/> in place.</summary>
    /// <returns>The number of convolutions quantized (0: the graph has none and is unchanged).</returns>
    /// <exception cref="NotSupportedException">An operator of the graph is not known to mean the same at opset 13.</exception>
    public static int Apply(ModelProto model, Int8Calibration calibration)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (!graph.Node.Any(n => IsQuantizableConv(n, initializers)))
            return 0;
        // Upgraded first: refused before the (slow) calibration, and calibrated as the graph that will run (the folded
        // weights are initializers without graph inputs, which IR versions below 4 do not allow).
        OpsetUpgrade.RaiseTo(model, 13);
        BatchNormFolding.Apply(graph, initializers);
        UnusedInitializers.Remove(graph);
        var plan = QuantizationPlan.For(graph, initializers);
        var ranges = ActivationRanges.Measure(model, plan.CalibratedTensors, calibration);
        Rewrite(graph, initializers, plan, ranges);
        return plan.Convolutions.Count;
    }

    /// <summary>Convolutions with at most this many input channels stay float (see the remarks).</summary>
    public const int MinInputChannels = 5;

    // A convolution with float weights [M, C/group, kh, kw] (and bias) as initializers over a computed input, with enough
    // input channels to be worth an int8 kernel.
    internal static bool IsQuantizableConv(NodeProto node, Dictionary<string, TensorProto> initializers)
    {
        if (node.OpType != "Conv" || node.Domain is not ("" or "ai.onnx") || node.Input.Count < 2 || initializers.ContainsKey(node.Input[0])
            || !initializers.TryGetValue(node.Input[1], out var w) || w.DataType != (int)DataType.Float || w.Dims.Count != 4
            || (node.Input.Count > 2 && node.Input[2].Length > 0 && !initializers.ContainsKey(node.Input[2])))
            return false;
        var group = node.Attribute.FirstOrDefault(a => a.Name == "group")?.I ?? 1;
        return w.Dims[1] * group >= MinInputChannels;
    }

    private static void Rewrite(GraphProto graph, Dictionary<string, TensorProto> initializers, QuantizationPlan plan,
        Dictionary<string, (float Min, float Max)> ranges)
    {
        var names = new UniqueNames(graph);
        // One scale / zero point pair per calibrated range (a MaxPool's output shares its input's).
        var parameters = new Dictionary<string, (string Scale, string ZeroPoint, float ScaleValue)>(StringComparer.Ordinal);
        (string Scale, string ZeroPoint, float ScaleValue) Parameters(string rangeOf)
        {
            if (parameters.TryGetValue(rangeOf, out var p))
                return p;
            var (scale, zeroPoint) = ActivationParameters(ranges[rangeOf]);
            p = (names.New(rangeOf + "_scale"), names.New(rangeOf + "_zero_point"), scale);
            graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(p.Scale, [], [scale]));
            graph.Initializer.Add(OnnxGraphBuilder.WrappedTensor(p.ZeroPoint, DataType.Uint8, [], new[] { zeroPoint }));
            return parameters[rangeOf] = p;
        }

        var quantizedBySource = plan.Tensors.Values.ToLookup(t => t.Source, StringComparer.Ordinal);
        var rewritten = new List<NodeProto>(graph.Node.Count * 3);
        var quantizedNames = new Dictionary<string, string>(StringComparer.Ordinal); // tensor → its uint8 form
        void EmitQuantize(string source)
        {
            foreach (var tensor in quantizedBySource[source])
            {
                var p = Parameters(tensor.RangeOf);
                var q = names.New(tensor.Name + "_quantized");
                rewritten.Add(Create("QuantizeLinear", [tensor.Source, p.Scale, p.ZeroPoint], q));
                quantizedNames[tensor.Name] = q;
            }
        }

        foreach (var input in graph.Input)
            EmitQuantize(input.Name);
        foreach (var node in graph.Node)
        {
            if (plan.AbsorbedRelus.Contains(node))
                continue;
            // Each quantized input is read through a DequantizeLinear of its own (ONNX Runtime fuses node units whose
            // DQs feed them alone).
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (!plan.Tensors.TryGetValue(node.Input[i], out var tensor))
                    continue;
                var p = Parameters(tensor.RangeOf);
                var dq = names.New(tensor.Name + "_dequantized");
                rewritten.Add(Create("DequantizeLinear", [quantizedNames[tensor.Name], p.Scale, p.ZeroPoint], dq));
                node.Input[i] = dq;
            }
            if (plan.Convolutions.Contains(node))
            {
                var inputScale = Parameters(plan.Tensors[plan.ConvolutionInputs[node]].RangeOf).ScaleValue;
                rewritten.AddRange(QuantizeConvolutionWeights(node, initializers, graph, names, inputScale));
            }
            rewritten.Add(node);
            foreach (var output in node.Output)
                EmitQuantize(output);
        }
        graph.Node.Clear();
        graph.Node.AddRange(rewritten);
        UnusedInitializers.Remove(graph);
    }

    // uint8, asymmetric, the range widened to hold 0.
    internal static (float Scale, byte ZeroPoint) ActivationParameters((float Min, float Max) range)
    {
        var (min, max) = (MathF.Min(range.Min, 0), MathF.Max(range.Max, 0));
        if (max - min <= 0)
            return (1f, 0);
        var scale = (max - min) / 255f;
        return (scale, (byte)Math.Clamp(MathF.Round(-min / scale, MidpointRounding.ToEven), 0, 255));
    }

    // The DequantizeLinear nodes of a convolution's weight and bias; the convolution is pointed at their outputs.
    private static IEnumerable<NodeProto> QuantizeConvolutionWeights(NodeProto conv, Dictionary<string, TensorProto> initializers, GraphProto graph,
        UniqueNames names, float inputScale)
    {
        var w = initializers[conv.Input[1]];
        var values = DynamicInt8Quantization.FloatValues(w);
        int channels = (int)w.Dims[0], perChannel = values.Length / channels;
        var scales = new float[channels];
        var q = new byte[values.Length];
        for (int c = 0; c < channels; c++)
        {
            var row = values.AsSpan(c * perChannel, perChannel);
            float max = 0;
            foreach (var v in row)
                max = MathF.Max(max, MathF.Abs(v));
            scales[c] = max > 0 ? max / 127f : 1f;
            for (int i = 0; i < perChannel; i++)
                q[c * perChannel + i] = unchecked((byte)(sbyte)Math.Clamp(MathF.Round(row[i] / scales[c], MidpointRounding.ToEven), -127, 127));
        }
        var weight = names.New(conv.Input[1] + "_int8");
        var weightScale = names.New(conv.Input[1] + "_int8_scale");
        var weightZeroPoint = names.New(conv.Input[1] + "_int8_zero_point");
        var weightDequantized = names.New(conv.Input[1] + "_dequantized");
        graph.Initializer.Add(OnnxGraphBuilder.WrappedTensor(weight, DataType.Int8, [.. w.Dims], q));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(weightScale, [channels], scales));
        graph.Initializer.Add(OnnxGraphBuilder.WrappedTensor(weightZeroPoint, DataType.Int8, [channels], new byte[channels]));
        var axis = OnnxGraphBuilder.Int("axis", 0);
        yield return Create("DequantizeLinear", [weight, weightScale, weightZeroPoint], weightDequantized, axis);
        conv.Input[1] = weightDequantized;
        if (conv.Input.Count < 3 || conv.Input[2].Length == 0)
            yield break;

        // The bias in int32 at the product's scale, as QLinearConv adds it to the int32 accumulator.
        var bias = DynamicInt8Quantization.FloatValues(initializers[conv.Input[2]]);
        var biasScales = scales.Select(s => s * inputScale).ToArray();
        var biasQ = new int[channels];
        for (int c = 0; c < channels; c++)
            biasQ[c] = (int)Math.Clamp(Math.Round(bias[c] / (double)biasScales[c], MidpointRounding.ToEven), int.MinValue + 1, int.MaxValue);
        var biasName = names.New(conv.Input[2] + "_int32");
        var biasScale = names.New(conv.Input[2] + "_int32_scale");
        var biasZeroPoint = names.New(conv.Input[2] + "_int32_zero_point");
        var biasDequantized = names.New(conv.Input[2] + "_dequantized");
        graph.Initializer.Add(OnnxGraphBuilder.WrappedTensor(biasName, DataType.Int32, [channels], MemoryMarshal.AsBytes(biasQ.AsSpan()).ToArray()));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(biasScale, [channels], biasScales));
        graph.Initializer.Add(OnnxGraphBuilder.WrappedTensor(biasZeroPoint, DataType.Int32, [channels], new byte[4 * channels]));
        yield return Create("DequantizeLinear", [biasName, biasScale, biasZeroPoint], biasDequantized, axis);
        conv.Input[2] = biasDequantized;
    }

    private static NodeProto Create(string op, string[] inputs, string output, params AttributeProto[] attributes)
        => OnnxGraphBuilder.CreateNode(op, output, inputs, attributes);
}
