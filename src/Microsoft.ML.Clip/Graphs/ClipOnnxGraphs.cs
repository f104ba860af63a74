using Google.Protobuf;
using Onnx;
using static Microsoft.ML.Clip.Graphs.OnnxGraphBuilder;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>
/// The ONNX graphs the ML.NET row path runs through <c>ApplyOnnxModel</c>: an encoder wrapped to
/// take one flat row and give one embedding vector, and the zero-shot head. They are generated at
/// <c>Fit</c> and stored, bytes and all, inside the saved ML.NET model.
/// </summary>
/// <remarks>
/// ML.NET feeds one row at a time as a tensor of the declared input shape, and a rank-0 ONNX output
/// breaks its getters; so inputs are declared <c>[1, n]</c> and outputs flattened to rank 1.
/// </remarks>
internal static class ClipOnnxGraphs
{
    /// <summary>Prefix of every name this package adds to a graph (never used by exporters).</summary>
    public const string Prefix = "__clip_";

    /// <summary>
    /// Wraps an image encoder (<paramref name="encoderInput"/> [N,3,R,R] → <paramref name="encoderOutput"/> [N,D]):
    /// input <paramref name="inputName"/> float [1, 3·R·R] (CHW flattened; declared [1, n] with a symbolic n when
    /// <paramref name="variableLength"/>, as ML.NET feeds variable-size vector columns only into a symbolic
    /// dimension and known-size ones only into a fixed one), optionally normalised per channel
    /// in the graph as <c>(x - mean) / std</c>; output <paramref name="outputName"/> float [D], L2-normalised
    /// when <paramref name="normalize"/>.
    /// </summary>
    public static byte[] WrapImageEncoder(byte[] encoder, string encoderInput, string encoderOutput, int resolution, int embedDim,
        float[]? mean, float[]? std, bool normalize, string inputName, string outputName, bool variableLength)
    {
        var model = ModelProto.Parser.ParseFrom(encoder);
        var g = model.Graph;
        WidenFloat16Initializers(g);
        var prologue = new List<NodeProto>();
        g.Initializer.Add(Int64Tensor(Prefix + "image_shape", 1, 3, resolution, resolution));
        if (mean is null)
        {
            prologue.Add(CreateNode("Reshape", encoderInput, [inputName, Prefix + "image_shape"]));
        }
        else
        {
            g.Initializer.Add(FloatTensor(Prefix + "mean", [1, 3, 1, 1], mean));
            g.Initializer.Add(FloatTensor(Prefix + "std", [1, 3, 1, 1], std!));
            prologue.Add(CreateNode("Reshape", Prefix + "image_chw", [inputName, Prefix + "image_shape"]));
            prologue.Add(CreateNode("Sub", Prefix + "image_centered", [Prefix + "image_chw", Prefix + "mean"]));
            prologue.Add(CreateNode("Div", encoderInput, [Prefix + "image_centered", Prefix + "std"]));
        }
        ReplaceInput(g, encoderInput, Value(inputName, DataType.Float, 1, variableLength ? -1 : 3L * resolution * resolution), prologue);
        AppendEmbeddingOutput(g, encoderOutput, embedDim, normalize, outputName);
        return ToBytes(model, "image");
    }

    /// <summary>
    /// Wraps a text encoder (<paramref name="encoderInput"/> int64 [N,L] → <paramref name="encoderOutput"/> [N,D]):
    /// input <paramref name="inputName"/> int64 [1, L] (a symbolic length when <paramref name="variableLength"/>: the ids
    /// of the pipeline's tokenizer mapping are a variable-size column, as only the saved spec knows L); output
    /// <paramref name="outputName"/> float [D].
    /// </summary>
    public static byte[] WrapTextEncoder(byte[] encoder, string encoderInput, string encoderOutput, int contextLength, int embedDim,
        bool normalize, string inputName, string outputName, bool variableLength = false)
    {
        var model = ModelProto.Parser.ParseFrom(encoder);
        var g = model.Graph;
        ReplaceInput(g, encoderInput, Value(inputName, DataType.Int64, 1, variableLength ? -1 : contextLength), [CreateNode("Identity", encoderInput, [inputName])]);
        WidenFloat16Initializers(g);
        AppendEmbeddingOutput(g, encoderOutput, embedDim, normalize, outputName);
        return ToBytes(model, "text");
    }

    // A wrapped graph lives in memory and inside the saved ML.NET model as one protobuf message (2 GB at most); a float16
    // encoder widened to float32 can outgrow it even though its file did not.
    private static byte[] ToBytes(ModelProto model, string tower)
    {
        var size = ProtobufSize.Of(model);
        if (ProtobufSize.OverLimit(size))
            throw new NotSupportedException(
                $"The {tower} encoder, with its weights in float32 as ML.NET's ONNX scoring needs them, would be about {size} bytes: over protobuf's 2 GB limit, so an ML.NET pipeline cannot hold it. " +
                "ClipModel runs the file as it is: ClipModel.EmbedImages / EmbedTexts (also as an IDataView).");
        return model.ToByteArray();
    }

    /// <summary>
    /// The zero-shot head: input <paramref name="inputName"/> float [1, D] (an image embedding, normalised
    /// or not), output <paramref name="outputName"/> float [C] = softmax(scale · normalise(x) · W) — or, with a
    /// <paramref name="bias"/> (a sigmoid model), sigmoid(scale · normalise(x) · W + bias) per class —, where
    /// <paramref name="classWeights"/> is W row-major [D, C] (columns = normalised class embeddings).
    /// </summary>
    public static byte[] ZeroShotHead(ReadOnlySpan<float> classWeights, int embedDim, int classCount, float scale,
        string inputName, string outputName, float? bias = null)
    {
        if (classWeights.Length != embedDim * classCount)
            throw new ArgumentException($"Class weights hold {classWeights.Length} values, expected {embedDim} x {classCount}.", nameof(classWeights));
        var g = new GraphProto { Name = "clip_zero_shot_head" };
        g.Input.Add(Value(inputName, DataType.Float, 1, embedDim));
        g.Initializer.Add(FloatTensor(Prefix + "class_weights", [embedDim, classCount], classWeights));
        g.Initializer.Add(FloatTensor(Prefix + "scale", [], [scale]));
        g.Initializer.Add(Int64Tensor(Prefix + "flat", -1));
        g.Node.Add(CreateNode("LpNormalization", Prefix + "unit", [inputName], Int("axis", 1), Int("p", 2)));
        g.Node.Add(CreateNode("MatMul", Prefix + "cosine", [Prefix + "unit", Prefix + "class_weights"]));
        if (bias is float b)
        {
            g.Initializer.Add(FloatTensor(Prefix + "bias", [], [b]));
            g.Node.Add(CreateNode("Mul", Prefix + "scaled", [Prefix + "cosine", Prefix + "scale"]));
            g.Node.Add(CreateNode("Add", Prefix + "logits", [Prefix + "scaled", Prefix + "bias"]));
            g.Node.Add(CreateNode("Sigmoid", Prefix + "probs", [Prefix + "logits"]));
        }
        else
        {
            g.Node.Add(CreateNode("Mul", Prefix + "logits", [Prefix + "cosine", Prefix + "scale"]));
            g.Node.Add(CreateNode("Softmax", Prefix + "probs", [Prefix + "logits"], Int("axis", 1)));
        }
        g.Node.Add(CreateNode("Reshape", outputName, [Prefix + "probs", Prefix + "flat"]));
        g.Output.Add(Value(outputName, DataType.Float, classCount));
        return CreateModel(g).ToByteArray();
    }

    /// <summary>
    /// ML.NET's ONNX scoring reads the type of every value in the graph and rejects float16 (exporters store
    /// e.g. the token-embedding table as float16 followed by a Cast): widen such initializers to float32
    /// (exact), which leaves the Cast a no-op, and drop the optional intermediate type hints.
    /// </summary>
    private static void WidenFloat16Initializers(GraphProto g)
    {
        foreach (var t in g.Initializer.Where(t => t.DataType == (int)DataType.Float16).ToList())
        {
            var count = t.Dims.Aggregate(1L, (a, b) => a * b);
            var values = new float[count];
            if (!t.RawData.IsEmpty)
            {
                var raw = t.RawData.Span;
                for (int i = 0; i < count; i++)
                    values[i] = (float)BitConverter.ToHalf(raw.Slice(i * 2, 2));
            }
            else
            {
                // float16 values without raw data are stored as the low 16 bits of int32_data.
                for (int i = 0; i < count; i++)
                    values[i] = (float)BitConverter.UInt16BitsToHalf((ushort)t.Int32Data[i]);
            }
            var widened = FloatTensor(t.Name, [.. t.Dims], values);
            g.Initializer[g.Initializer.IndexOf(t)] = widened;
        }
        g.ValueInfo.Clear();
    }

    private static void ReplaceInput(GraphProto g, string encoderInput, ValueInfoProto newInput, IReadOnlyList<NodeProto> prologue)
    {
        var old = g.Input.FirstOrDefault(i => i.Name == encoderInput)
            ?? throw new InvalidDataException($"The encoder graph has no input '{encoderInput}'.");
        g.Input.Remove(old);
        g.Input.Insert(0, newInput);
        // Nodes must stay in topological order: the prologue feeds the encoder's first nodes.
        for (int i = prologue.Count - 1; i >= 0; i--)
            g.Node.Insert(0, prologue[i]);
    }

    private static void AppendEmbeddingOutput(GraphProto g, string encoderOutput, int embedDim, bool normalize, string outputName)
    {
        if (g.Output.All(o => o.Name != encoderOutput))
            throw new InvalidDataException($"The encoder graph has no output '{encoderOutput}'.");
        g.Output.Clear();
        var source = encoderOutput;
        if (normalize)
        {
            // LpNormalization has the same definition in every opset (unlike ReduceL2 and Squeeze).
            g.Node.Add(CreateNode("LpNormalization", Prefix + "unit", [encoderOutput], Int("axis", 1), Int("p", 2)));
            source = Prefix + "unit";
        }
        g.Initializer.Add(Int64Tensor(Prefix + "flat", -1));
        g.Node.Add(CreateNode("Reshape", outputName, [source, Prefix + "flat"]));
        g.Output.Add(Value(outputName, DataType.Float, embedDim));
    }
}
