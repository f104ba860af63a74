using Google.Protobuf;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>
/// Small helpers over OnnxSharp's protobuf types to write the ONNX graphs this package generates
/// (encoder wrappers and zero-shot heads). Shapes use <c>-1</c> for a symbolic dimension.
/// </summary>
internal static class OnnxGraphBuilder
{
    /// <summary>A tensor value description (graph input or output).</summary>
    public static ValueInfoProto Value(string name, DataType type, params long[] dims)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(dims[i] < 0
                ? new TensorShapeProto.Types.Dimension { DimParam = i == 0 ? "batch" : $"n{i}" }
                : new TensorShapeProto.Types.Dimension { DimValue = dims[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A node <paramref name="op"/>(<paramref name="inputs"/>) → <paramref name="output"/>.</summary>
    public static NodeProto Node(string op, string output, string[] inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = output + "_" + op };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>An integer attribute.</summary>
    public static AttributeProto IntAttribute(string name, long value)
        => new() { Name = name, I = value, Type = AttributeProto.Types.AttributeType.Int };

    /// <summary>A float32 initializer.</summary>
    public static TensorProto FloatTensor(string name, long[] dims, ReadOnlySpan<float> values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Float };
        t.Dims.AddRange(dims);
        var bytes = new byte[values.Length * sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).CopyTo(bytes);
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("ONNX raw data is little-endian.");
        t.RawData = ByteString.CopyFrom(bytes);
        return t;
    }

    /// <summary>An int64 initializer.</summary>
    public static TensorProto Int64Tensor(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64 };
        t.Dims.Add(values.Length);
        t.Int64Data.AddRange(values);
        return t;
    }

    /// <summary>A model around <paramref name="graph"/> at ONNX opset <paramref name="opset"/>.</summary>
    public static ModelProto CreateModel(GraphProto graph, long opset)
    {
        var model = new ModelProto { IrVersion = 8, Graph = graph, ProducerName = "Microsoft.ML.Clip", ProducerVersion = "1" };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    /// <summary>The default-domain opset a model imports (17 when it does not say).</summary>
    public static long DefaultOpset(ModelProto model)
        => model.OpsetImport.FirstOrDefault(o => string.IsNullOrEmpty(o.Domain))?.Version ?? 17;
}
