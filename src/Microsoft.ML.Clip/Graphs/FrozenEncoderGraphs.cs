using Google.Protobuf;
using Onnx;
using static Onnx.TensorProto.Types;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>
/// Graphs of frozen image feature extractors (the image tower of locked-image tuning): each is brought to one
/// signature, <c>pixel_values</c> float32 [batch, 3, R, R] → <c>image_features</c> float32 [batch, F], with a
/// symbolic batch dimension, and can be extended by a trained projection into the <c>image_embeds</c> graph the
/// inference components load.
/// </summary>
internal static class FrozenEncoderGraphs
{
    /// <summary>Input of a normalised feature graph (the same name as a CLIP image encoder's).</summary>
    public const string InputName = Models.EncoderSignature.PixelValues;

    /// <summary>Output of a normalised feature graph.</summary>
    public const string FeaturesName = "image_features";

    /// <summary>Output of a feature graph extended by a projection.</summary>
    public const string EmbedsName = Models.EncoderSignature.ImageEmbeds;

    /// <summary>Name of the projection initializer (the state-dict name of the trainable part).</summary>
    public const string ProjectionName = "visual.proj";

    /// <summary>Names of the trained LayerNorm before the projection.</summary>
    public const string NormWeightName = "visual.ln_post.weight", NormBiasName = "visual.ln_post.bias";

    /// <summary>
    /// The value names of a trained head on frozen features: the features it reads, the embedding it writes, its norm and
    /// projection initializers, and the prefix of its intermediate values.
    /// </summary>
    internal sealed record HeadNames(string Features, string Embeds, string NormWeight, string NormBias, string Projection, string Prefix);

    /// <summary>The image head: <c>visual.ln_post</c> and <c>visual.proj</c> on <c>image_features</c>.</summary>
    internal static readonly HeadNames ImageHead = new(FeaturesName, EmbedsName, NormWeightName, NormBiasName, ProjectionName, "head.");

    /// <summary>The input size ML.NET's ResNet-18 files declare.</summary>
    public const int NativeResNet18Resolution = Models.ResNet18Files.NativeResolution;

    // Value names inside the two ONNX files of Microsoft.ML.DnnImageFeaturizer.ResNet18.
    private const string PrepInput = Models.ResNet18Files.PrepInput, PrepOutput = Models.ResNet18Files.PrepOutput,
        NetInput = Models.ResNet18Files.NetInput, NetOutput = Models.ResNet18Files.NetOutput;

    /// <summary>
    /// Chains the package's preprocessing graph (RGB 0–255 → BGR minus the mean image) and ResNet-18 up to its pooled
    /// layer into one graph with a symbolic batch and a flattened [batch, 512] output. Both files fix the batch at 1
    /// in their declared shapes only (no reshape bakes it in), so declaring it symbolic is enough.
    /// </summary>
    /// <remarks>
    /// At another <paramref name="resolution"/> than the native 224, the mean image is resampled (bilinearly: it is a
    /// smooth image) and the final 7×7 average pool becomes a global one, the same operation on the native 7×7 map.
    /// </remarks>
    public static ModelProto ResNet18(string preprocessPath, string networkPath, int resolution = NativeResNet18Resolution)
    {
        if (resolution < 32)
            throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "ResNet-18 needs images of at least 32×32 (it downsamples 32 times).");
        var prep = Read(preprocessPath);
        var net = Read(networkPath);
        RequireValue(prep.Graph.Input, PrepInput, preprocessPath);
        RequireValue(prep.Graph.Output, PrepOutput, preprocessPath);
        RequireValue(net.Graph.Input, NetInput, networkPath);
        RequireValue(net.Graph.Output, NetOutput, networkPath);

        var graph = new GraphProto { Name = "resnet18_features" };
        graph.Input.Add(OnnxGraphBuilder.Value(InputName, DataType.Float, "batch", 3, resolution, resolution));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (model, path) in new[] { (prep, preprocessPath), (net, networkPath) })
            foreach (var initializer in model.Graph.Initializer)
                if (!names.Add(initializer.Name))
                    throw new InvalidDataException($"'{path}': initializer '{initializer.Name}' also exists in the other ResNet-18 graph.");
        graph.Initializer.AddRange(prep.Graph.Initializer.Select(t => resolution == NativeResNet18Resolution ? t : ResampleMeanImage(t, resolution, preprocessPath)));
        graph.Initializer.AddRange(net.Graph.Initializer);
        graph.Node.AddRange(prep.Graph.Node.Select(n => Rename(n, PrepInput, InputName)));
        graph.Node.AddRange(net.Graph.Node.Select(n => Rename(n, NetInput, PrepOutput))
            .Select(n => resolution == NativeResNet18Resolution || n.Output[0] != NetOutput ? n : GlobalPool(n, networkPath)));
        graph.Node.Add(OnnxGraphBuilder.CreateNode("Flatten", FeaturesName, [NetOutput], OnnxGraphBuilder.Int("axis", 1)));
        graph.Output.Add(OnnxGraphBuilder.Value(FeaturesName, DataType.Float, "batch", 512));
        return WithOpsets(graph, net, "ResNet-18 (Microsoft.ML.DnnImageFeaturizer.ResNet18) pooled features, frozen.");
    }

    /// <summary>
    /// Brings a user's feature extractor to the common signature: one float input [N, 3, R, R] and one float output
    /// [N, F] or [N, F, 1, 1] (a pooled map, flattened here). The batch dimension is made symbolic; intermediate shape
    /// annotations are dropped (ONNX Runtime infers them again).
    /// </summary>
    /// <returns>The graph and the input resolution R (null when the file leaves it symbolic).</returns>
    /// <exception cref="InvalidDataException">The file is not ONNX or its signature differs (the message names the file).</exception>
    public static (ModelProto Model, int? Resolution, int FeatureSize) Normalize(byte[] onnx, string origin)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(onnx);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"Image encoder '{origin}' is not an ONNX model: {e.Message}", e);
        }
        var graph = model.Graph ?? throw new InvalidDataException($"Image encoder '{origin}' has no graph.");
        var initializers = graph.Initializer.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var inputs = graph.Input.Where(i => !initializers.Contains(i.Name)).ToList();
        if (inputs.Count != 1 || graph.Output.Count != 1)
            throw new InvalidDataException($"Image encoder '{origin}' must have one image input and one feature output; it has {inputs.Count} inputs and {graph.Output.Count} outputs.");
        var input = inputs[0];
        var output = graph.Output[0];
        var inDims = Dims(input);
        if (ElementType(input) != DataType.Float || inDims.Length != 4 || inDims[1] != 3 || inDims[2] != inDims[3])
            throw new InvalidDataException($"Image encoder '{origin}': input '{input.Name}' must be float [N, 3, R, R], got {Describe(input)}.");
        var outDims = Dims(output);
        var featureSize = outDims.Length >= 2 ? outDims[1] : -1;
        var pooled = outDims.Length == 4 && outDims[2] == 1 && outDims[3] == 1;
        if (ElementType(output) != DataType.Float || featureSize <= 0 || !(outDims.Length == 2 || pooled))
            throw new InvalidDataException($"Image encoder '{origin}': output '{output.Name}' must be float [N, F] or [N, F, 1, 1] with a fixed F, got {Describe(output)}.");
        if (inDims[0] > 1 || outDims[0] > 1)
            throw new InvalidDataException($"Image encoder '{origin}': the batch dimension is fixed at {Math.Max(inDims[0], outDims[0])}; only a symbolic batch or a batch of 1 can be made dynamic.");

        var result = new GraphProto { Name = string.IsNullOrEmpty(graph.Name) ? "frozen_image_features" : graph.Name };
        result.Initializer.AddRange(graph.Initializer);
        result.SparseInitializer.AddRange(graph.SparseInitializer);
        result.Input.Add(OnnxGraphBuilder.Value(InputName, DataType.Float, "batch", 3, inDims[2] > 0 ? inDims[2] : "height", inDims[3] > 0 ? inDims[3] : "width"));
        result.Node.AddRange(graph.Node.Select(n => Rename(n, input.Name, InputName)));
        if (output.Name == InputName)
            throw new InvalidDataException($"Image encoder '{origin}': its output is named '{InputName}', the name its input gets here.");
        if (pooled || output.Name != FeaturesName)
            result.Node.Add(OnnxGraphBuilder.CreateNode(pooled ? "Flatten" : "Identity", FeaturesName, [output.Name], pooled ? [OnnxGraphBuilder.Int("axis", 1)] : []));
        result.Output.Add(OnnxGraphBuilder.Value(FeaturesName, DataType.Float, "batch", featureSize));
        return (WithOpsets(result, model, model.DocString), inDims[2] > 0 ? (int)inDims[2] : null, (int)featureSize);
    }

    /// <summary>
    /// The feature graph followed by the trained head: <c>image_embeds = LayerNorm(image_features) · proj</c>
    /// (<paramref name="projection"/> row-major [F, D]; the norm's weight and bias [F]). The frozen part is copied
    /// unchanged; the norm is written with ReduceMean/Sub/Mul/Sqrt/Div in the encoder's own opset (ML.NET's ResNet-18 is
    /// opset 8; LayerNormalization arrived in 17).
    /// </summary>
    public static ModelProto WithProjection(ModelProto features, ReadOnlySpan<float> normWeight, ReadOnlySpan<float> normBias, float epsilon,
        ReadOnlySpan<float> projection, int featureSize, int embedDim, IReadOnlyDictionary<string, string>? metadata = null, HeadNames? names = null)
    {
        var (featuresName, embedsName, normWeightName, normBiasName, projectionName, head) = names ?? ImageHead;
        if (projection.Length != featureSize * embedDim)
            throw new ArgumentException($"The projection has {projection.Length} values; expected {featureSize} × {embedDim}.", nameof(projection));
        if (normWeight.Length != featureSize || normBias.Length != featureSize)
            throw new ArgumentException($"The norm has {normWeight.Length} weights and {normBias.Length} biases; expected {featureSize}.", nameof(normWeight));
        var model = features.Clone();
        var graph = model.Graph;
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(projectionName, [featureSize, embedDim], projection));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(normWeightName, [featureSize], normWeight));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(normBiasName, [featureSize], normBias));
        graph.Initializer.Add(OnnxGraphBuilder.FloatTensor(head + "epsilon", [], [epsilon]));
        void Node(string op, string output, params string[] inputs) => graph.Node.Add(OnnxGraphBuilder.CreateNode(op, output, inputs));
        // ReduceMean takes its axes as an attribute up to opset 17 and as an input from 18 on; the encoder's opset decides.
        var opset = model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(1).Max();
        if (opset >= 18) graph.Initializer.Add(OnnxGraphBuilder.Int64Tensor(head + "axes", 1));
        void MeanOverFeatures(string input, string output) => graph.Node.Add(opset >= 18
            ? OnnxGraphBuilder.CreateNode("ReduceMean", output, [input, head + "axes"], OnnxGraphBuilder.Int("keepdims", 1))
            : OnnxGraphBuilder.CreateNode("ReduceMean", output, [input], OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 1)));
        MeanOverFeatures(featuresName, head + "mean");
        Node("Sub", head + "centred", featuresName, head + "mean");
        Node("Mul", head + "squared", head + "centred", head + "centred");
        MeanOverFeatures(head + "squared", head + "variance");
        Node("Add", head + "variance_eps", head + "variance", head + "epsilon");
        Node("Sqrt", head + "std", head + "variance_eps");
        Node("Div", head + "normalised", head + "centred", head + "std");
        Node("Mul", head + "scaled", head + "normalised", normWeightName);
        Node("Add", head + "normed", head + "scaled", normBiasName);
        Node("MatMul", embedsName, head + "normed", projectionName);
        graph.Output.Clear();
        graph.Output.Add(OnnxGraphBuilder.Value(embedsName, DataType.Float, "batch", embedDim));
        if (metadata is not null)
            foreach (var (key, value) in metadata)
                model.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        return model;
    }

    // The mean image [1, 3, 224, 224] brought to [1, 3, r, r] by bilinear sampling at pixel centres.
    private static TensorProto ResampleMeanImage(TensorProto mean, int r, string path)
    {
        const int n = NativeResNet18Resolution;
        if (!mean.Dims.SequenceEqual([1L, 3, n, n]) || mean.DataType != (int)DataType.Float)
            throw new InvalidDataException($"'{path}': initializer '{mean.Name}' is not the float [1, 3, {n}, {n}] mean image this library expects.");
        var source = mean.FloatData.Count > 0 ? mean.FloatData.ToArray() : System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(mean.RawData.Span).ToArray();
        var target = new float[3 * r * r];
        for (var c = 0; c < 3; c++)
            for (var y = 0; y < r; y++)
            {
                var sy = Math.Clamp((y + 0.5) * n / r - 0.5, 0, n - 1);
                int y0 = (int)sy, y1 = Math.Min(y0 + 1, n - 1);
                var fy = sy - y0;
                for (var x = 0; x < r; x++)
                {
                    var sx = Math.Clamp((x + 0.5) * n / r - 0.5, 0, n - 1);
                    int x0 = (int)sx, x1 = Math.Min(x0 + 1, n - 1);
                    var fx = sx - x0;
                    float At(int yy, int xx) => source[(c * n + yy) * n + xx];
                    target[(c * r + y) * r + x] = (float)((1 - fy) * ((1 - fx) * At(y0, x0) + fx * At(y0, x1)) + fy * ((1 - fx) * At(y1, x0) + fx * At(y1, x1)));
                }
            }
        return OnnxGraphBuilder.FloatTensor(mean.Name, [1, 3, r, r], target);
    }

    // The network's last node, a 7×7 average pool over the 7×7 map, as the global pool it amounts to.
    private static NodeProto GlobalPool(NodeProto node, string path)
    {
        if (node.OpType != "AveragePool" || node.Attribute.Any(a => a.Name == "pads" && a.Ints.Any(p => p != 0)))
            throw new InvalidDataException($"'{path}': the last node is {node.OpType}, not the unpadded average pool this library expects.");
        var global = new NodeProto { OpType = "GlobalAveragePool", Name = node.Name };
        global.Input.Add(node.Input[0]);
        global.Output.Add(node.Output[0]);
        return global;
    }

    private static ModelProto Read(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image encoder file '{path}' is missing.", path);
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"'{path}' is not an ONNX model: {e.Message}", e);
        }
    }

    private static void RequireValue(IEnumerable<ValueInfoProto> values, string name, string path)
    {
        if (!values.Any(v => v.Name == name))
            throw new InvalidDataException($"'{path}' has no value '{name}': not the ONNX file of Microsoft.ML.DnnImageFeaturizer.ResNet18 this library expects.");
    }

    private static NodeProto Rename(NodeProto node, string from, string to)
    {
        var copy = node.Clone();
        for (var i = 0; i < copy.Input.Count; i++)
            if (copy.Input[i] == from) copy.Input[i] = to;
        return copy;
    }

    /// <summary>A new model around <paramref name="graph"/> with <paramref name="source"/>'s opsets and local functions
    /// (a graph exported with ONNX functions needs them to load).</summary>
    internal static ModelProto WithOpsets(GraphProto graph, ModelProto source, string docString)
    {
        var model = new ModelProto
        {
            IrVersion = Math.Max(source.IrVersion, 3),
            ProducerName = "Microsoft.ML.Clip",
            DocString = docString ?? "",
            Graph = graph,
        };
        model.OpsetImport.AddRange(source.OpsetImport);
        model.Functions.AddRange(source.Functions);
        return model;
    }

    private static DataType ElementType(ValueInfoProto value) => (DataType)(value.Type?.TensorType?.ElemType ?? 0);

    // Fixed sizes; -1 for a symbolic or unknown dimension.
    private static long[] Dims(ValueInfoProto value) =>
        value.Type?.TensorType?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue : -1L).ToArray() ?? [];

    private static string Describe(ValueInfoProto value) =>
        $"{ElementType(value)} [{string.Join(", ", Dims(value).Select(d => d < 0 ? "?" : d.ToString(System.Globalization.CultureInfo.InvariantCulture)))}]";
}
