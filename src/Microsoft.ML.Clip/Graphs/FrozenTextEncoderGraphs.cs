using Google.Protobuf;
using Microsoft.ML.Clip.Models;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>
/// Graphs of frozen BERT-family text encoders (the text tower of locked-text or both-locked tuning): each is brought to
/// one signature, <c>input_ids</c> int64 [batch, sequence] → <c>text_features</c> float32 [batch, F] — the attention mask
/// (ids ≠ the padding id) and all-zero token types computed inside from the ids, the encoder's own nodes and
/// initializers unchanged, then its pooling and optional L2 normalisation — so that training (features computed once,
/// cached) and the exported CLIP text encoder (this graph followed by the trained head) see exactly the same numbers.
/// </summary>
internal static class FrozenTextEncoderGraphs
{
    /// <summary>Input of a normalised text graph (the same name as a CLIP text encoder's).</summary>
    public const string InputName = EncoderSignature.InputIds;

    /// <summary>The inputs a BERT-family graph takes besides the ids, computed here from the ids.</summary>
    public const string MaskName = "attention_mask", TokenTypesName = "token_type_ids";

    /// <summary>Output of a normalised text graph.</summary>
    public const string FeaturesName = "text_features";

    /// <summary>The output a BERT export names its token states.</summary>
    public const string LastHiddenStateName = "last_hidden_state";

    /// <summary>Names of the trained head on the text features: CLIP's own names for the text side's last LayerNorm and projection.</summary>
    public const string NormWeightName = "ln_final.weight", NormBiasName = "ln_final.bias", ProjectionName = "text_projection";

    // Every value this class adds is prefixed, so that it cannot collide with a name of the encoder's own graph.
    private const string Prefix = "clip_text/";

    /// <summary>
    /// Brings a BERT-family ONNX graph to the normal form: inputs <c>input_ids</c>, <c>attention_mask</c> and optionally
    /// <c>token_type_ids</c> (int64 [batch, sequence]); output the token states [batch, sequence, H] (mean or CLS
    /// pooling) or a pooled [batch, H] (<see cref="FrozenTextPooling.Pooled"/>).
    /// </summary>
    /// <param name="onnx">The ONNX file's bytes.</param>
    /// <param name="origin">The file, for messages.</param>
    /// <param name="settings">Pooling, output and normalisation.</param>
    /// <param name="padId">The vocabulary's <c>[PAD]</c> id: positions holding it are masked out.</param>
    /// <returns>The graph and its feature size H (null when the file leaves it symbolic, as PyTorch's exports of BERT do:
    /// the caller runs the graph once to learn it).</returns>
    /// <exception cref="InvalidDataException">The file is not ONNX or its signature differs (the message names the file and says what it found).</exception>
    public static (ModelProto Model, int? FeatureSize) Normalize(byte[] onnx, string origin, FrozenTextEncoderSettings settings, long padId)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(onnx);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Text encoder '{origin}' is not an ONNX model: {e.Message}", e);
        }
        var graph = model.Graph ?? throw new InvalidDataException($"Text encoder '{origin}' has no graph.");
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        var byName = inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        string Found() => $"inputs {string.Join(", ", inputs.Select(Describe))}; outputs {string.Join(", ", graph.Output.Select(Describe))}";
        foreach (var required in new[] { InputName, MaskName })
            if (!byName.ContainsKey(required))
                throw new InvalidDataException($"Text encoder '{origin}' is not a BERT-family encoder: it has no input '{required}' (expected input_ids, attention_mask and optionally token_type_ids, int64 [batch, sequence]; found {Found()}).");
        foreach (var input in inputs)
        {
            if (input.Name is not (InputName or MaskName or TokenTypesName))
                throw new InvalidDataException($"Text encoder '{origin}' has an input this library cannot fill: '{input.Name}' (expected input_ids, attention_mask and optionally token_type_ids; found {Found()}).");
            if (ElementType(input) != DataType.Int64 || Dims(input).Length != 2)
                throw new InvalidDataException($"Text encoder '{origin}': input '{input.Name}' must be int64 [batch, sequence], got {Describe(input)}.");
        }
        var output = PickOutput(graph, origin, settings, Found);
        int? featureSize = Dims(output)[^1] > 0 ? (int)Dims(output)[^1] : null;
        if (graph.Node.SelectMany(n => n.Output).Concat(initializers).Any(n => n.StartsWith(Prefix, StringComparison.Ordinal)))
            throw new InvalidDataException($"Text encoder '{origin}' already has values named '{Prefix}…', the prefix this library's nodes use.");

        var opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();
        if (opset < 9)
            throw new InvalidDataException($"Text encoder '{origin}' uses opset {opset}; at least 9 is needed (ConstantOfShape).");
        var result = new GraphProto { Name = string.IsNullOrEmpty(graph.Name) ? "frozen_text_features" : graph.Name };
        result.Input.Add(OnnxGraphBuilder.Value(InputName, DataType.Int64, "batch", "sequence"));
        // The mask and token types the encoder reads are computed first from the ids, under the names it reads them by.
        result.Initializer.Add(OnnxGraphBuilder.Int64Tensor(Prefix + "pad_id", padId));
        result.Node.Add(OnnxGraphBuilder.CreateNode("Equal", Prefix + "is_pad", [InputName, Prefix + "pad_id"]));
        result.Node.Add(OnnxGraphBuilder.CreateNode("Not", Prefix + "is_token", [Prefix + "is_pad"]));
        result.Node.Add(OnnxGraphBuilder.CreateNode("Cast", MaskName, [Prefix + "is_token"], OnnxGraphBuilder.Int("to", (long)DataType.Int64)));
        if (byName.ContainsKey(TokenTypesName))
        {
            result.Node.Add(OnnxGraphBuilder.CreateNode("Shape", Prefix + "ids_shape", [InputName]));
            result.Node.Add(OnnxGraphBuilder.CreateNode("ConstantOfShape", TokenTypesName, [Prefix + "ids_shape"],
                new AttributeProto { Name = "value", Type = AttributeProto.Types.AttributeType.Tensor, T = OnnxGraphBuilder.Int64Tensor("zero", 0L).WithDims(1) }));
        }
        result.Initializer.AddRange(graph.Initializer);
        result.SparseInitializer.AddRange(graph.SparseInitializer);
        result.Node.AddRange(graph.Node);
        var pooled = settings.Pooling switch
        {
            FrozenTextPooling.Mean => MeanPool(result, output.Name, opset),
            FrozenTextPooling.Cls => ClsPool(result, output.Name),
            _ => output.Name,
        };
        var features = settings.Normalize ? L2Normalize(result, pooled, opset) : pooled;
        result.Node.Add(OnnxGraphBuilder.CreateNode("Identity", FeaturesName, [features]));
        result.Output.Add(OnnxGraphBuilder.Value(FeaturesName, DataType.Float, "batch", featureSize is int f ? f : "features"));
        return (FrozenEncoderGraphs.WithOpsets(result, model,
            $"Frozen text encoder '{Path.GetFileName(origin)}': {FrozenTextEncoderSettings.PoolingName(settings.Pooling)} pooling{(settings.Normalize ? ", L2-normalised" : "")}."), featureSize);
    }

    /// <summary>
    /// Checks that <paramref name="graph"/> is already in the normal form (a saved model carries it that way): one
    /// input <c>input_ids</c> int64 [batch, sequence], one output <c>text_features</c> float [batch, F]. Returns F, or
    /// null when the graph leaves it symbolic.
    /// </summary>
    /// <exception cref="InvalidDataException">It is not (the message names <paramref name="origin"/>).</exception>
    public static int? CheckNormalized(ModelProto graph, string origin)
    {
        var g = graph.Graph ?? throw new InvalidDataException($"Text encoder '{origin}' has no graph.");
        var initializers = g.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = g.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1 || inputs[0].Name != InputName || ElementType(inputs[0]) != DataType.Int64 || Dims(inputs[0]).Length != 2
            || g.Output.Count != 1 || g.Output[0].Name != FeaturesName || ElementType(g.Output[0]) != DataType.Float
            || Dims(g.Output[0]).Length != 2)
            throw new InvalidDataException($"Text encoder '{origin}' is not in this library's normal form ({InputName} int64 [batch, sequence] → {FeaturesName} float [batch, F]).");
        return Dims(g.Output[0])[1] > 0 ? (int)Dims(g.Output[0])[1] : null;
    }

    /// <summary>
    /// The feature graph followed by the trained head: <c>text_embeds = LayerNorm(text_features) · text_projection</c>
    /// (<paramref name="projection"/> row-major [F, D]; the norm's weight and bias [F]); the frozen part is copied unchanged.
    /// </summary>
    public static ModelProto WithProjection(ModelProto features, ReadOnlySpan<float> normWeight, ReadOnlySpan<float> normBias, float epsilon,
        ReadOnlySpan<float> projection, int featureSize, int embedDim, IReadOnlyDictionary<string, string>? metadata = null)
        => FrozenEncoderGraphs.WithProjection(features, normWeight, normBias, epsilon, projection, featureSize, embedDim, metadata, TextHead);

    /// <summary>The value names of the text head (see <see cref="FrozenEncoderGraphs.HeadNames"/>).</summary>
    internal static readonly FrozenEncoderGraphs.HeadNames TextHead = new(FeaturesName, EncoderSignature.TextEmbeds, NormWeightName, NormBiasName, ProjectionName, "text_head.");

    // The output to pool: the one the settings name, else the token states (or, for a graph that pools itself, its pooled output).
    private static ValueInfoProto PickOutput(GraphProto graph, string origin, FrozenTextEncoderSettings settings, Func<string> found)
    {
        var wantRank = settings.Pooling == FrozenTextPooling.Pooled ? 2 : 3;
        var shape = wantRank == 3 ? "float [batch, sequence, H]" : "float [batch, H]";
        ValueInfoProto? output;
        if (settings.OutputName is { } name)
            output = graph.Output.FirstOrDefault(o => o.Name == name)
                ?? throw new InvalidDataException($"Text encoder '{origin}' has no output '{name}' (found {found()}).");
        else
        {
            var candidates = graph.Output.Where(o => Dims(o).Length == wantRank && ElementType(o) == DataType.Float).ToList();
            output = (wantRank == 3 ? candidates.FirstOrDefault(o => o.Name == LastHiddenStateName) : null)
                ?? (candidates.Count == 1 ? candidates[0]
                    : throw new InvalidDataException($"Text encoder '{origin}': {(candidates.Count == 0 ? "no" : "more than one")} {shape} output to take for {FrozenTextEncoderSettings.PoolingName(settings.Pooling)} pooling; name it as \"output\" in {FrozenTextEncoderSettings.FileName} (found {found()})."));
        }
        var dims = Dims(output);
        if (ElementType(output) != DataType.Float || dims.Length != wantRank)
            throw new InvalidDataException($"Text encoder '{origin}': output '{output.Name}' must be {shape} for {FrozenTextEncoderSettings.PoolingName(settings.Pooling)} pooling, got {Describe(output)}.");
        return output;
    }

    // sentence-transformers' mean pooling: Σ h·m / max(Σ m, 1e-9) over the sequence, m the attention mask as float.
    private static string MeanPool(GraphProto g, string states, long opset)
    {
        void Node(string op, string output, string[] inputs, params AttributeProto[] attributes) => g.Node.Add(OnnxGraphBuilder.CreateNode(op, Prefix + output, inputs, attributes));
        Node("Cast", "mask_f", [MaskName], OnnxGraphBuilder.Int("to", (long)DataType.Float));
        // Unsqueeze and ReduceSum take their axes as an input from opset 13 on, as an attribute before.
        if (opset >= 13)
        {
            g.Initializer.Add(OnnxGraphBuilder.Int64Tensor(Prefix + "axis_last", -1));
            g.Initializer.Add(OnnxGraphBuilder.Int64Tensor(Prefix + "axis_sequence", 1));
            Node("Unsqueeze", "mask_3d", [Prefix + "mask_f", Prefix + "axis_last"]);
        }
        else Node("Unsqueeze", "mask_3d", [Prefix + "mask_f"], OnnxGraphBuilder.Ints("axes", -1));
        Node("Mul", "masked", [states, Prefix + "mask_3d"]);
        ReduceSum(g, "summed", Prefix + "masked", opset, keepDims: false);
        ReduceSum(g, "count", Prefix + "mask_3d", opset, keepDims: false);
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor(Prefix + "min_count", [], [1e-9f]));
        Node("Max", "count_safe", [Prefix + "count", Prefix + "min_count"]);
        Node("Div", "mean", [Prefix + "summed", Prefix + "count_safe"]);
        return Prefix + "mean";
    }

    private static void ReduceSum(GraphProto g, string output, string input, long opset, bool keepDims)
    {
        var keep = OnnxGraphBuilder.Int("keepdims", keepDims ? 1 : 0);
        g.Node.Add(opset >= 13
            ? OnnxGraphBuilder.CreateNode("ReduceSum", Prefix + output, [input, Prefix + "axis_sequence"], keep)
            : OnnxGraphBuilder.CreateNode("ReduceSum", Prefix + output, [input], OnnxGraphBuilder.Ints("axes", 1), keep));
    }

    // The state of the first token ([CLS]).
    private static string ClsPool(GraphProto g, string states)
    {
        g.Initializer.Add(OnnxGraphBuilder.Int64Tensor(Prefix + "first", 0).WithDims());
        g.Node.Add(OnnxGraphBuilder.CreateNode("Gather", Prefix + "cls", [states, Prefix + "first"], OnnxGraphBuilder.Int("axis", 1)));
        return Prefix + "cls";
    }

    // torch.nn.functional.normalize (sentence-transformers' Normalize): x / max(‖x‖₂, 1e-12) per row.
    private static string L2Normalize(GraphProto g, string x, long opset)
    {
        void Node(string op, string output, string[] inputs, params AttributeProto[] attributes) => g.Node.Add(OnnxGraphBuilder.CreateNode(op, Prefix + output, inputs, attributes));
        Node("Mul", "squares", [x, x]);
        var keep = OnnxGraphBuilder.Int("keepdims", 1);
        if (opset >= 13)
        {
            g.Initializer.Add(OnnxGraphBuilder.Int64Tensor(Prefix + "axis_features", -1));
            Node("ReduceSum", "sum_squares", [Prefix + "squares", Prefix + "axis_features"], keep);
        }
        else Node("ReduceSum", "sum_squares", [Prefix + "squares"], OnnxGraphBuilder.Ints("axes", -1), keep);
        Node("Sqrt", "norm", [Prefix + "sum_squares"]);
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor(Prefix + "min_norm", [], [1e-12f]));
        Node("Max", "norm_safe", [Prefix + "norm", Prefix + "min_norm"]);
        Node("Div", "normalised", [x, Prefix + "norm_safe"]);
        return Prefix + "normalised";
    }

    private static TensorProto WithDims(this TensorProto tensor, params long[] dims)
    {
        tensor.Dims.Clear();
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static DataType ElementType(ValueInfoProto value) => (DataType)(value.Type?.TensorType?.ElemType ?? 0);

    // Fixed sizes; -1 for a symbolic or unknown dimension.
    private static long[] Dims(ValueInfoProto value) =>
        value.Type?.TensorType?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L).ToArray() ?? [];

    private static string Describe(ValueInfoProto value) =>
        $"'{value.Name}' {ElementType(value).ToString().ToLowerInvariant()} [{string.Join(", ", Dims(value).Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
