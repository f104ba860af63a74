using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Dynamic int8 quantization of a finished graph: the weights of its linear layers (<c>MatMul</c> and <c>Gemm</c> with a
/// weight initializer) become int8, symmetric per output channel; the activations are quantized on each call
/// (<c>DynamicQuantizeLinear</c>: uint8, asymmetric, one scale per tensor), so no calibration data is needed.
/// </summary>
/// <remarks>
/// <para>Each layer is written in plain ONNX as ONNX Runtime's own quantization tool writes it —
/// <c>DynamicQuantizeLinear → MatMulInteger → Cast → Mul(a_scale · w_scale) → Add(bias)</c> — the form its CPU graph
/// optimiser fuses into one <c>DynamicQuantizeMatMul</c> (u8 × s8 GEMM with the per-column scales and the bias in its
/// output stage; prepacked weights; AVX-512 VNNI / AMX kernels where the CPU has them). One
/// <c>DynamicQuantizeLinear</c> per layer, even when layers share an input (q, k and v): the fusion needs the three
/// outputs to feed one layer. Any other ONNX runtime runs the plain form as it stands.</para>
/// <para>Convolutions (<see cref="Int8QuantizationOptions.Convolutions"/>) become <c>ConvInteger</c> with the same
/// scaling, after any BatchNormalization that follows them is folded into their weights. ONNX Runtime's CPU
/// <c>ConvInteger</c> is a plain im2col + uint8 GEMM (uint8 weights with one zero point, unpacked), so this is off by
/// default: see <c>docs/formats.md</c> for the measured cost.</para>
/// <para>Weights: <c>scale_c = max|w_c| / 127</c>, <c>q = round_half_even(w / scale_c)</c> in [-127, 127] (zero point 0;
/// ConvInteger, which takes uint8 weights only, gets <c>q + 128</c> with zero point 128). A channel of zeros gets
/// scale 1. The graph's opset is raised to 11 (DynamicQuantizeLinear) where it is lower and the graph's other operators
/// mean the same there (<see cref="OpsetUpgrade"/>).</para>
/// </remarks>
internal static class DynamicInt8Quantization
{
    /// <summary>The value of the <c>weights</c> metadata entry of a quantized graph.</summary>
    public const string MetadataValue = "int8 per output channel (dynamic quantization of the linear layers)";

    /// <summary>Rewrites <paramref name="model"/> in place.</summary>
    /// <returns>The number of layers quantized.</returns>
    /// <exception cref="NotSupportedException">The graph's opset is below 11 and holds an operator whose meaning changes by 11.</exception>
    public static int Apply(ModelProto model, Int8QuantizationOptions? options = null)
    {
        options ??= new Int8QuantizationOptions();
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        if (options.Convolutions)
            BatchNormFolding.Apply(graph, initializers);

        var nodes = graph.Node.ToList();
        var rewritten = new List<NodeProto>(nodes.Count);
        var names = new UniqueNames(graph);
        var quantized = new Dictionary<string, QuantizedWeight>(StringComparer.Ordinal);
        int count = 0;
        foreach (var node in nodes)
        {
            var replacement = node.OpType switch
            {
                "MatMul" when node.Domain is "" or "ai.onnx" => MatMul(node, initializers, quantized, names, graph),
                "Gemm" when node.Domain is "" or "ai.onnx" => Gemm(node, initializers, quantized, names, graph),
                "Conv" when options.Convolutions && node.Domain is "" or "ai.onnx" => Conv(node, initializers, quantized, names, graph),
                _ => null,
            };
            if (replacement is null)
            {
                rewritten.Add(node);
                continue;
            }
            rewritten.AddRange(replacement);
            count++;
        }
        if (count == 0)
            return 0;
        OpsetUpgrade.RaiseTo(model, 11);
        graph.Node.Clear();
        graph.Node.AddRange(rewritten);
        UnusedInitializers.Remove(graph);
        return count;
    }

    // y = A·W (+ bias): W a float initializer [K, N].
    private static List<NodeProto>? MatMul(NodeProto node, Dictionary<string, TensorProto> initializers, Dictionary<string, QuantizedWeight> quantized,
        UniqueNames names, GraphProto graph)
    {
        if (node.Input.Count != 2 || !IsFloatMatrix(initializers, node.Input[1]) || initializers.ContainsKey(node.Input[0]))
            return null;
        var weight = Quantize(quantized, initializers, graph, node.Input[1], transpose: false, convolution: false);
        return Linear(node.Input[0], weight, bias: null, node.Output[0], names);
    }

    // Gemm(A, B, C) with alpha = beta = 1 and A not transposed: B a float initializer ([K, N], or [N, K] with transB).
    private static List<NodeProto>? Gemm(NodeProto node, Dictionary<string, TensorProto> initializers, Dictionary<string, QuantizedWeight> quantized,
        UniqueNames names, GraphProto graph)
    {
        float alpha = 1, beta = 1;
        long transA = 0, transB = 0;
        foreach (var a in node.Attribute)
        {
            switch (a.Name)
            {
                case "alpha": alpha = a.F; break;
                case "beta": beta = a.F; break;
                case "transA": transA = a.I; break;
                case "transB": transB = a.I; break;
            }
        }
        if (alpha != 1 || beta != 1 || transA != 0 || node.Input.Count < 2 || !IsFloatMatrix(initializers, node.Input[1]))
            return null;
        var weight = Quantize(quantized, initializers, graph, node.Input[1], transpose: transB != 0, convolution: false);
        var bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
        return Linear(node.Input[0], weight, bias, node.Output[0], names);
    }

    private static List<NodeProto> Linear(string input, QuantizedWeight weight, string? bias, string output, UniqueNames names)
    {
        var (q, scale, zeroPoint) = (names.New(output + "_quantized"), names.New(output + "_scale"), names.New(output + "_zero_point"));
        var product = names.New(output + "_int32");
        var asFloat = names.New(output + "_float");
        var multiplier = names.New(output + "_multiplier");
        var scaled = bias is null ? output : names.New(output + "_scaled");
        var result = new List<NodeProto>
        {
            Create("DynamicQuantizeLinear", [input], [q, scale, zeroPoint]),
            Create("MatMulInteger", [q, weight.Name, zeroPoint], [product]),
            Create("Cast", [product], [asFloat], OnnxGraphBuilder.Int("to", (long)DataType.Float)),
            Create("Mul", [scale, weight.ScaleName], [multiplier]),
            Create("Mul", [asFloat, multiplier], [scaled]),
        };
        if (bias is not null)
            result.Add(Create("Add", [scaled, bias], [output]));
        return result;
    }

    // Conv(X, W[, B]) with W a float initializer [M, C/group, kh, kw]: ConvInteger with uint8 weights (zero point 128).
    private static List<NodeProto>? Conv(NodeProto node, Dictionary<string, TensorProto> initializers, Dictionary<string, QuantizedWeight> quantized,
        UniqueNames names, GraphProto graph)
    {
        if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var w) || w.DataType != (int)DataType.Float || w.Dims.Count != 4
            || initializers.ContainsKey(node.Input[0]))
            return null;
        var weight = Quantize(quantized, initializers, graph, node.Input[1], transpose: false, convolution: true);
        var output = node.Output[0];
        var (q, scale, zeroPoint) = (names.New(output + "_quantized"), names.New(output + "_scale"), names.New(output + "_zero_point"));
        var product = names.New(output + "_int32");
        var asFloat = names.New(output + "_float");
        var multiplier = names.New(output + "_multiplier");
        var bias = node.Input.Count > 2 && node.Input[2].Length > 0 ? node.Input[2] : null;
        var scaled = bias is null ? output : names.New(output + "_scaled");
        var conv = Create("ConvInteger", [q, weight.Name, zeroPoint, weight.ZeroPointName!], [product]);
        conv.Attribute.AddRange(node.Attribute);
        var result = new List<NodeProto>
        {
            Create("DynamicQuantizeLinear", [node.Input[0]], [q, scale, zeroPoint]),
            conv,
            Create("Cast", [product], [asFloat], OnnxGraphBuilder.Int("to", (long)DataType.Float)),
            Create("Mul", [scale, weight.ScaleName], [multiplier]),
            Create("Mul", [asFloat, multiplier], [scaled]),
        };
        if (bias is not null)
        {
            // The bias [M] broadcasts over channels as [M, 1, 1].
            var shaped = names.New(bias + "_channels");
            graph.Initializer.Add(Reshaped(initializers[bias], shaped, [initializers[bias].Dims[0], 1, 1]));
            result.Add(Create("Add", [scaled, shaped], [output]));
        }
        return result;
    }

    /// <summary>The int8 form of a weight: its initializer, its per-channel scales, and (ConvInteger) its uint8 zero point.</summary>
    private sealed record QuantizedWeight(string Name, string ScaleName, string? ZeroPointName);

    private static QuantizedWeight Quantize(Dictionary<string, QuantizedWeight> quantized, Dictionary<string, TensorProto> initializers, GraphProto graph,
        string name, bool transpose, bool convolution)
    {
        var key = name + (transpose ? "/T" : "");
        if (quantized.TryGetValue(key, out var done))
            return done;
        var tensor = initializers[name];
        var values = FloatValues(tensor);
        long[] dims = [.. tensor.Dims];
        // Layout [rows, channels] (MatMul: channel = column) or [channels, rest] (Conv: channel = first dimension).
        int channels, perChannel;
        if (convolution)
        {
            channels = (int)dims[0];
            perChannel = values.Length / channels;
        }
        else
        {
            if (transpose)
            {
                values = Transposed(values, (int)dims[0], (int)dims[1]);
                dims = [dims[1], dims[0]];
            }
            channels = (int)dims[1];
            perChannel = (int)dims[0];
        }
        var scales = new float[channels];
        var q = new byte[values.Length];
        for (int c = 0; c < channels; c++)
        {
            float max = 0;
            for (int i = 0; i < perChannel; i++)
                max = MathF.Max(max, MathF.Abs(values[Index(c, i)]));
            var scale = max > 0 ? max / 127f : 1f;
            scales[c] = scale;
            for (int i = 0; i < perChannel; i++)
            {
                var v = (int)Math.Clamp(MathF.Round(values[Index(c, i)] / scale, MidpointRounding.ToEven), -127, 127);
                q[Index(c, i)] = convolution ? (byte)(v + 128) : unchecked((byte)(sbyte)v);
            }
        }
        int Index(int c, int i) => convolution ? c * perChannel + i : i * channels + c;

        var result = new QuantizedWeight(Unique(initializers, name + ".int8"), Unique(initializers, name + ".int8_scale"),
            convolution ? Unique(initializers, name + ".int8_zero_point") : null);
        var weightTensor = OnnxGraphBuilder.WrappedTensor(result.Name, convolution ? DataType.Uint8 : DataType.Int8, dims, q);
        var scaleTensor = convolution
            ? OnnxGraphBuilder.FloatTensor(result.ScaleName, [1, channels, 1, 1], scales)
            : OnnxGraphBuilder.FloatTensor(result.ScaleName, [channels], scales);
        graph.Initializer.Add(weightTensor);
        graph.Initializer.Add(scaleTensor);
        initializers[result.Name] = weightTensor;
        initializers[result.ScaleName] = scaleTensor;
        if (result.ZeroPointName is { } zp)
        {
            var zeroPoint = OnnxGraphBuilder.WrappedTensor(zp, DataType.Uint8, [], new byte[] { 128 });
            graph.Initializer.Add(zeroPoint);
            initializers[zp] = zeroPoint;
        }
        quantized[key] = result;
        return result;
    }

    private static string Unique(Dictionary<string, TensorProto> initializers, string name)
    {
        var candidate = name;
        for (int i = 1; initializers.ContainsKey(candidate); i++)
            candidate = $"{name}__{i}";
        return candidate;
    }

    private static bool IsFloatMatrix(Dictionary<string, TensorProto> initializers, string name)
        => initializers.TryGetValue(name, out var t) && t.DataType == (int)DataType.Float && t.Dims.Count == 2;

    /// <summary>The values of a float32 initializer (raw data or float_data).</summary>
    internal static float[] FloatValues(TensorProto tensor)
        => !tensor.RawData.IsEmpty ? MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray() : [.. tensor.FloatData];

    private static float[] Transposed(float[] values, int rows, int columns)
    {
        var result = new float[values.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                result[c * rows + r] = values[r * columns + c];
        return result;
    }

    private static TensorProto Reshaped(TensorProto tensor, string name, long[] dims)
        => OnnxGraphBuilder.FloatTensor(name, dims, FloatValues(tensor));

    private static NodeProto Create(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = outputs[0] + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }
}

/// <summary>Options of <see cref="DynamicInt8Quantization"/>.</summary>
internal sealed record Int8QuantizationOptions
{
    /// <summary>Quantize convolutions too (ConvInteger); off by default (see <see cref="DynamicInt8Quantization"/>).</summary>
    public bool Convolutions { get; init; }
}
