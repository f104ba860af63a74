using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// How a saved model (<c>model.clipmodel</c>) carries the frozen text encoder of a locked-text model, so that it loads
/// and converts on its own: the normal-form graph and the vocabulary as uint8 tensors, the name, id and settings in the
/// header. Defined once for the trainer (writes, reloads) and the converter (reads without libtorch or a session).
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer saves and loads the text encoder)
internal static class ClipPackageTextEncoder
{
    /// <summary>Tensor holding the encoder's normal-form ONNX graph (uint8).</summary>
    public const string GraphTensorName = "text_encoder.onnx";

    /// <summary>Tensor holding its <c>vocab.txt</c> (uint8).</summary>
    public const string VocabularyTensorName = "text_encoder.vocab.txt";

    /// <summary>Header field of its settings (tokenizer, pooling, normalisation).</summary>
    public const string SettingsKey = "text_encoder_settings";

    /// <summary>Whether <paramref name="name"/> is one of the encoder's tensors (not a model weight).</summary>
    public static bool IsEncoderTensor(string name) => name is GraphTensorName or VocabularyTensorName;

    /// <summary>Adds the encoder's name, id and settings to <paramref name="header"/>.</summary>
    public static void WriteHeader(JsonObject header, string name, string id, FrozenTextEncoderSettings settings)
    {
        header[ClipPackageHeader.TextEncoderNameKey] = name;
        header[ClipPackageHeader.TextEncoderIdKey] = id;
        header[SettingsKey] = settings.ToJson(withModelFile: false);
    }

    /// <summary>
    /// The encoder a saved model carries (null when it carries none): its tensors' bytes from <paramref name="tensorBytes"/>,
    /// checked against the recorded id.
    /// </summary>
    /// <exception cref="InvalidDataException">A part is missing or does not match its id, or a setting is unknown or out of
    /// range (the message names <paramref name="source"/> and the field).</exception>
    public static FrozenTextEncoderGraph? Read(ClipPackageHeader header, Func<string, byte[]?> tensorBytes, string source)
    {
        var graph = tensorBytes(GraphTensorName);
        if (graph is null) return null;
        var vocabulary = tensorBytes(VocabularyTensorName)
            ?? throw new InvalidDataException($"{source}: the frozen text encoder has no vocabulary ('{VocabularyTensorName}').");
        // Read and validated as text_encoder.json is: the id below only says the bytes are as written, not that they are usable.
        var stored = header.OptionalJsonObject(SettingsKey)
            ?? throw new InvalidDataException($"{source}: the frozen text encoder has no settings in the header.");
        var settings = FrozenTextEncoderSettings.FromJson(stored, source, SettingsKey + ".");
        var name = header.OptionalString(ClipPackageHeader.TextEncoderNameKey) ?? "text encoder";
        if (FrozenTextEncoder.ComputeId(graph, vocabulary, settings) != header.OptionalString(ClipPackageHeader.TextEncoderIdKey))
            throw new InvalidDataException($"{source}: the frozen text encoder's graph does not match its recorded id (corrupt file).");
        // The graph may leave its hidden size symbolic (PyTorch's BERT exports do); the model's head records it.
        var featureSize = FrozenTextEncoderGraphs.CheckNormalized(Onnx.ModelProto.Parser.ParseFrom(graph), name) ?? header.Config.TextFeatureSize
            ?? throw new InvalidDataException($"{source}: the frozen text encoder's feature size is neither in its graph nor in the model's config.");
        return new FrozenTextEncoderGraph(name, graph, vocabulary, featureSize, settings);
    }
}
