using Google.Protobuf;
using Onnx;
using TorchSharp;
using static TorchSharp.torch;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.TorchSharp.Export;

/// <summary>
/// A small helper over OnnxSharp's protobuf types that builds one ONNX graph node by node: unique value
/// names, initializers from TorchSharp tensors or arrays, and typed graph inputs/outputs. Each operator
/// helper returns the name of its output so graphs read like the forward pass they restate.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>Opset of the ai.onnx domain the graphs target (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>IR version matching opset 17 (as torch.onnx writes it).</summary>
    public const int IrVersion = 8;

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public OnnxGraphBuilder(string graphName) => _graph = new GraphProto { Name = graphName };

    /// <summary>Adds a graph input; a <see langword="string"/> dimension is symbolic (e.g. <c>batch</c>).</summary>
    public string Input(string name, DataType type, params object[] dims)
    {
        _graph.Input.Add(ValueInfo(name, type, dims));
        _names.Add(name);
        return name;
    }

    /// <summary>Marks <paramref name="value"/> as a graph output named <paramref name="name"/>.</summary>
    public void Output(string value, string name, DataType type, params object[] dims)
    {
        if (value != name)
            Node("Identity", [value], name);
        _graph.Output.Add(ValueInfo(name, type, dims));
    }

    private static ValueInfoProto ValueInfo(string name, DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
        {
            shape.Dim.Add(d switch
            {
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ => new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) },
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A float32 initializer holding <paramref name="tensor"/> (any float dtype; copied to the CPU).</summary>
    public string Weight(string name, Tensor tensor) => Weight(name, tensor, ScalarType.Float32);

    /// <summary>An initializer holding <paramref name="tensor"/> converted to <paramref name="storeAs"/> (float32 or float16).</summary>
    public string Weight(string name, Tensor tensor, ScalarType storeAs)
    {
        using var scope = torch.NewDisposeScope();
        var data = tensor.detach().cpu().to(storeAs).contiguous();
        var proto = new TensorProto
        {
            Name = Unique(name),
            DataType = (int)(storeAs switch
            {
                ScalarType.Float32 => DataType.Float,
                ScalarType.Float16 => DataType.Float16,
                ScalarType.Int64 => DataType.Int64,
                _ => throw new NotSupportedException($"Initializer dtype {storeAs} is not supported."),
            }),
            RawData = ByteString.CopyFrom(data.bytes),
        };
        proto.Dims.AddRange(data.shape);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>A float32 initializer from values.</summary>
    public string Floats(string name, float[] values, params long[] dims)
    {
        var proto = new TensorProto { Name = Unique(name), DataType = (int)DataType.Float };
        proto.Dims.AddRange(dims);
        var bytes = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, bytes, 0, bytes.Length);
        proto.RawData = ByteString.CopyFrom(bytes);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    private readonly Dictionary<float, string> _scalars = new();

    /// <summary>A float32 scalar (0-d) initializer, shared by every use of the same value.</summary>
    public string Scalar(float value)
    {
        if (!_scalars.TryGetValue(value, out var name))
            _scalars[value] = name = Floats("const_" + value.ToString("R", System.Globalization.CultureInfo.InvariantCulture), [value]);
        return name;
    }

    /// <summary>An int64 initializer (shapes, axes, indices); a 0-d one when <paramref name="scalar"/>.</summary>
    public string Int64s(string name, long[] values, bool scalar = false)
    {
        var proto = new TensorProto { Name = Unique(name), DataType = (int)DataType.Int64 };
        if (!scalar) proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string op, string[] inputs, string? output = null, params AttributeProto[] attributes)
        => Node(op, inputs, 1, output, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs and returns their names.</summary>
    public string[] Node(string op, string[] inputs, int outputCount, string? output = null, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = Unique(op + "_" + _counter) };
        node.Input.AddRange(inputs);
        var outputs = new string[outputCount];
        for (var i = 0; i < outputCount; i++)
            outputs[i] = output != null && i == 0 ? Unique(output) : Unique($"{op.ToLowerInvariant()}_{_counter}_{i}");
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _counter++;
        _graph.Node.Add(node);
        return outputs;
    }

    private string Unique(string name)
    {
        var candidate = name;
        for (var i = 1; !_names.Add(candidate); i++)
            candidate = $"{name}__{i}";
        return candidate;
    }

    // Attribute factories.
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    // Operators used by the CLIP graphs.
    public string Add(string a, string b) => Node("Add", [a, b]);

    public string Mul(string a, string b) => Node("Mul", [a, b]);

    public string Div(string a, string b) => Node("Div", [a, b]);

    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    public string Relu(string x) => Node("Relu", [x]);

    public string Sigmoid(string x) => Node("Sigmoid", [x]);

    public string Softmax(string x) => Node("Softmax", [x], null, Int("axis", -1));

    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], null, Ints("perm", perm));

    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Int64s("shape", shape)]);

    public string Concat(long axis, params string[] inputs) => Node("Concat", inputs, null, Int("axis", axis));

    /// <summary><c>x·Wᵀ + b</c> for a PyTorch <c>Linear</c> weight [out, in] (stored transposed as [in, out]).</summary>
    public string Linear(string x, Tensor weight, Tensor? bias, string name)
    {
        var y = MatMul(x, Weight(name + ".weight_t", weight.t()));
        return bias is null ? y : Add(y, Weight(name + ".bias", bias));
    }

    /// <summary>LayerNormalization over the last axis (opset 17).</summary>
    public string LayerNorm(string x, Tensor weight, Tensor bias, float epsilon, string name)
        => Node("LayerNormalization", [x, Weight(name + ".weight", weight), Weight(name + ".bias", bias)], null,
            Int("axis", -1), Float("epsilon", epsilon));

    /// <summary>The finished model: opset 17, IR 8, with <paramref name="metadata"/> as metadata_props.</summary>
    public ModelProto Build(string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "Microsoft.ML.Clip",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
            DocString = docString,
            Graph = _graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (key, value) in metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }
}
