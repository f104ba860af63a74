using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// Checks that an ONNX encoder has the input and output <see cref="ClipModelInfo"/> promises
/// (names, element types, shapes; the batch dimension may be symbolic) and says precisely what differs. Its four
/// tensor names are the encoder contract of a model folder, defined here once (the exporter writes these).
/// </summary>
internal static class EncoderSignature
{
    /// <summary>Image encoder input name.</summary>
    public const string PixelValues = "pixel_values";

    /// <summary>Image encoder output name.</summary>
    public const string ImageEmbeds = "image_embeds";

    /// <summary>Text encoder input name.</summary>
    public const string InputIds = "input_ids";

    /// <summary>Text encoder output name.</summary>
    public const string TextEmbeds = "text_embeds";

    /// <summary>Throws <see cref="InvalidDataException"/> naming <paramref name="path"/> when the session does not match.</summary>
    public static void Check(InferenceSession session, string path, string role,
        string inputName, TensorElementType inputType, long[] inputDims,
        string outputName, long[] outputDims)
    {
        Expect(session.InputMetadata, path, role, "input", inputName, inputType, inputDims);
        Expect(session.OutputMetadata, path, role, "output", outputName, TensorElementType.Float, outputDims);
    }

    private static void Expect(IReadOnlyDictionary<string, NodeMetadata> nodes, string path, string role, string kind,
        string name, TensorElementType type, long[] dims)
    {
        var expected = $"{kind} '{name}' {Describe(type, dims)}";
        if (!nodes.TryGetValue(name, out var node))
            throw Mismatch(path, role, expected, $"{kind}s {string.Join(", ", nodes.Select(n => $"'{n.Key}' {Describe(n.Value)}"))}");
        var actualDims = node.Dimensions.Select(d => (long)d).ToArray();
        bool ok = node.IsTensor && node.ElementDataType == type && actualDims.Length == dims.Length;
        for (int i = 0; ok && i < dims.Length; i++)
            ok = dims[i] < 0 || actualDims[i] < 0 || actualDims[i] == dims[i];
        // The batch dimension must not be fixed to something other than 1 ... or symbolic.
        if (ok && actualDims.Length > 0 && actualDims[0] > 1)
            ok = false;
        if (!ok)
            throw Mismatch(path, role, expected, $"{kind} '{name}' {Describe(node)}");
    }

    private static InvalidDataException Mismatch(string path, string role, string expected, string found)
        => new($"'{path}' is not a CLIP {role} encoder as {ClipModelInfo.FileName} describes it: expected {expected}, found {found}.");

    private static string Describe(NodeMetadata node)
        => node.IsTensor ? Describe(node.ElementDataType, node.Dimensions.Select(d => (long)d).ToArray()) : node.OnnxValueType.ToString();

    private static string Describe(TensorElementType type, long[] dims)
        => $"{type.ToString().ToLowerInvariant()} [{string.Join(", ", dims.Select(d => d < 0 ? "batch" : d.ToString()))}]";
}
