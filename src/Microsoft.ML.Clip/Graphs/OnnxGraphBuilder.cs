using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>
/// The one helper over OnnxSharp's protobuf types that every ONNX graph of this package is written with.
/// Static members make single protos (values, nodes, attributes, initializers from spans and dims, the model);
/// an instance builds one graph node by node with unique value names, each operator returning the name of
/// its output so graphs read like the forward pass they restate (the CLIP exporter in
/// <c>Microsoft.ML.Clip.TorchSharp</c> adds a <c>Tensor</c> adapter on top). Tensor-agnostic on purpose.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    /// <summary>Opset of the ai.onnx domain the graphs target (LayerNormalization needs 17).</summary>
    public const int Opset = 17;

    /// <summary>IR version matching opset 17 (as torch.onnx writes it).</summary>
    public const int IrVersion = 8;

    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<float, string> _scalars = new();
    private int _counter;

    /// <summary>Starts an empty graph named <paramref name="graphName"/>.</summary>
    public OnnxGraphBuilder(string graphName) => _graph = new GraphProto { Name = graphName };

    // ---- Single protos -------------------------------------------------------------------------------

    /// <summary>
    /// A tensor value description (graph input or output). A <see langword="string"/> dimension is symbolic;
    /// a negative number is too (named <c>batch</c> first, <c>n{i}</c> after); other numbers are fixed.
    /// </summary>
    public static ValueInfoProto Value(string name, DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
        {
            var size = dims[i] is string ? 0 : Convert.ToInt64(dims[i], CultureInfo.InvariantCulture);
            shape.Dim.Add(dims[i] switch
            {
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ when size < 0 => new TensorShapeProto.Types.Dimension { DimParam = i == 0 ? "batch" : $"n{i}" },
                _ => new TensorShapeProto.Types.Dimension { DimValue = size },
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A node <paramref name="op"/>(<paramref name="inputs"/>) → <paramref name="output"/>, named <c>{output}_{op}</c>.</summary>
    public static NodeProto CreateNode(string op, string output, string[] inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>An integer-list attribute.</summary>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A float32 initializer of shape <paramref name="dims"/> (empty: a 0-d scalar).</summary>
    public static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
        => RawTensor(name, DataType.Float, dims, MemoryMarshal.AsBytes(values));

    /// <summary>A float16 initializer of shape <paramref name="dims"/>: <paramref name="values"/> rounded to nearest even.</summary>
    public static TensorProto Float16Tensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        // Written straight into the buffer the initializer keeps (no second copy of a large weight).
        var bytes = new byte[values.Length * 2];
        var halves = MemoryMarshal.Cast<byte, Half>(bytes.AsSpan());
        for (int i = 0; i < values.Length; i++)
            halves[i] = (Half)values[i];
        return WrappedTensor(name, DataType.Float16, dims, bytes);
    }

    /// <summary>
    /// An initializer whose raw data is <paramref name="littleEndian"/> itself, not a copy: the caller hands the memory
    /// over and must never change it (large weights are then held once, not twice).
    /// </summary>
    public static TensorProto WrappedTensor(string name, DataType type, long[] dims, ReadOnlyMemory<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw data is little-endian.");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = UnsafeByteOperations.UnsafeWrap(littleEndian) };
        t.Dims.AddRange(dims);
        return t;
    }

    private static TensorProto RawTensor(string name, DataType type, long[] dims, ReadOnlySpan<byte> littleEndian)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw data is little-endian.");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(littleEndian) };
        t.Dims.AddRange(dims);
        return t;
    }

    /// <summary>A 1-d int64 initializer.</summary>
    public static TensorProto Int64Tensor(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    /// <summary>A model around <paramref name="graph"/> at ONNX opset <paramref name="opset"/>, IR <see cref="IrVersion"/>.</summary>
    public static ModelProto CreateModel(GraphProto graph, long opset = Opset)
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            Graph = graph,
            ProducerName = "Microsoft.ML.Clip",
            ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    // ---- Building one graph --------------------------------------------------------------------------

    /// <summary>Adds a graph input (dimensions as in <see cref="Value"/>).</summary>
    public string Input(string name, DataType type, params object[] dims)
    {
        _graph.Input.Add(Value(name, type, dims));
        _names.Add(name);
        return name;
    }

    /// <summary>Marks <paramref name="value"/> as a graph output named <paramref name="name"/>.</summary>
    public void Output(string value, string name, DataType type, params object[] dims)
    {
        if (value != name)
            Node("Identity", [value], name);
        _graph.Output.Add(Value(name, type, dims));
    }

    /// <summary>A float32 (or, with <paramref name="asFloat16"/>, float16) initializer; returns its unique name.</summary>
    public string Floats(string name, ReadOnlySpan<float> values, long[] dims, bool asFloat16 = false)
    {
        var unique = Unique(name);
        _graph.Initializer.Add(asFloat16 ? Float16Tensor(unique, dims, values) : FloatTensor(unique, dims, values));
        return unique;
    }

    /// <summary>An initializer over <paramref name="littleEndian"/> (not copied; see <see cref="WrappedTensor"/>); returns its unique name.</summary>
    public string Initializer(string name, DataType type, long[] dims, ReadOnlyMemory<byte> littleEndian)
    {
        var unique = Unique(name);
        _graph.Initializer.Add(WrappedTensor(unique, type, dims, littleEndian));
        return unique;
    }

    /// <summary>A float32 initializer from values.</summary>
    public string Floats(string name, float[] values, params long[] dims) => Floats(name, values.AsSpan(), dims);

    /// <summary>A float32 scalar (0-d) initializer, shared by every use of the same value.</summary>
    public string Scalar(float value)
    {
        if (!_scalars.TryGetValue(value, out var name))
            _scalars[value] = name = Floats("const_" + value.ToString("R", CultureInfo.InvariantCulture), [value]);
        return name;
    }

    /// <summary>An int64 initializer (shapes, axes, indices); a 0-d one when <paramref name="scalar"/>.</summary>
    public string Int64s(string name, long[] values, bool scalar = false)
    {
        var proto = Int64Tensor(Unique(name), values);
        if (scalar) proto.Dims.Clear();
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

    /// <summary><c>a + b</c>.</summary>
    public string Add(string a, string b) => Node("Add", [a, b]);

    /// <summary><c>a · b</c> (elementwise).</summary>
    public string Mul(string a, string b) => Node("Mul", [a, b]);

    /// <summary><c>a / b</c>.</summary>
    public string Div(string a, string b) => Node("Div", [a, b]);

    /// <summary>Matrix product.</summary>
    public string MatMul(string a, string b) => Node("MatMul", [a, b]);

    /// <summary>ReLU.</summary>
    public string Relu(string x) => Node("Relu", [x]);

    /// <summary>Logistic sigmoid.</summary>
    public string Sigmoid(string x) => Node("Sigmoid", [x]);

    /// <summary>Softmax over the last axis.</summary>
    public string Softmax(string x) => Node("Softmax", [x], null, Int("axis", -1));

    /// <summary>Transpose by <paramref name="perm"/>.</summary>
    public string Transpose(string x, params long[] perm) => Node("Transpose", [x], null, Ints("perm", perm));

    /// <summary>Reshape to the constant <paramref name="shape"/>.</summary>
    public string Reshape(string x, params long[] shape) => Node("Reshape", [x, Int64s("shape", shape)]);

    /// <summary>Reshape to the shape held by the int64 tensor <paramref name="shape"/> (e.g. one computed from the input's).</summary>
    public string Reshape(string x, string shape) => Node("Reshape", [x, shape]);

    /// <summary>Concatenation along <paramref name="axis"/>.</summary>
    public string Concat(long axis, params string[] inputs) => Node("Concat", inputs, null, Int("axis", axis));

    /// <summary><c>x·W + b</c> with <paramref name="weightT"/> an initializer already stored as [in, out].</summary>
    public string Linear(string x, string weightT, string? bias)
    {
        var y = MatMul(x, weightT);
        return bias is null ? y : Add(y, bias);
    }

    /// <summary>
    /// <c>a·b + c</c> for a 2-d <paramref name="a"/> [M, K] and <paramref name="b"/> [K, N] (an initializer stored as
    /// [in, out]), <paramref name="c"/> broadcast (a bias [N]): ONNX Runtime runs it as one GEMM with the bias in its
    /// output, where a MatMul followed by an Add makes a second pass over the result.
    /// </summary>
    public string Gemm(string a, string b, string? c) => Node("Gemm", c is null ? [a, b] : [a, b, c]);

    /// <summary>
    /// <c>x[starts:ends]</c> along <paramref name="axes"/>; <paramref name="ends"/> is the name of an int64 tensor (one
    /// end per axis), so the slice can follow a shape read from the graph.
    /// </summary>
    public string Slice(string x, long[] starts, string ends, params long[] axes)
        => Node("Slice", [x, Int64s("starts", starts), ends, Int64s("axes", axes)]);

    /// <summary>The int64 shape of <paramref name="x"/>, dimensions <paramref name="start"/> to <paramref name="end"/> (exclusive).</summary>
    public string Shape(string x, long start, long end)
        => Node("Shape", [x], null, Int("start", start), Int("end", end));

    /// <summary>LayerNormalization over the last axis (opset 17).</summary>
    public string LayerNorm(string x, string weight, string bias, float epsilon)
        => Node("LayerNormalization", [x, weight, bias], null, Int("axis", -1), Float("epsilon", epsilon));

    /// <summary>The finished model: opset 17, IR 8, with <paramref name="metadata"/> as metadata_props.</summary>
    public ModelProto Build(string docString, IReadOnlyDictionary<string, string> metadata)
    {
        var model = CreateModel(_graph);
        model.DocString = docString;
        foreach (var (key, value) in metadata)
            model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }
}
