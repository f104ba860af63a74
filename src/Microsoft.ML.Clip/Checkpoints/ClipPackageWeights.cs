using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// The weights of a file the trainer wrote — a trained model (<c>model.clipmodel</c>) or a training checkpoint
/// (<c>checkpoint.clipckpt</c>) — read for conversion, with the frozen image encoder a locked-image model carries.
/// Plain arrays only: no libtorch, and no ONNX Runtime session for the encoder (its graph and id are checked as data).
/// </summary>
internal static class ClipPackageWeights
{
    /// <summary>What <c>clip_model.json</c> and the graphs record as the source of a trained model.</summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (ClipTrainerTransformer.ExportOnnx records the same source)
    public const string TrainedModelSource = "Microsoft.ML.Clip ClipTrainer";

    /// <summary>Reads the weights of <paramref name="path"/> (see <see cref="ClipPackageFile.IsPackageFile"/>).</summary>
    /// <returns>The weights (float32 as the trainer stores them) and, for a locked-image or locked-text model, its frozen encoders' graphs.</returns>
    /// <exception cref="InvalidDataException">The file is damaged, of another kind, or a locked-image checkpoint (which
    /// holds no encoder graph); the message names the file.</exception>
    public static (CheckpointWeights Weights, FrozenEncoderGraph? ImageEncoder, FrozenTextEncoderGraph? TextEncoder) Read(string path)
    {
        Dictionary<string, StateTensor> tensors;
        ClipPackageHeader header;
        using (var stream = File.OpenRead(path)) (header, tensors) = ClipPackageFile.Read(stream, path);
        var config = header.Config;
        // A trained model holds the state dict; a checkpoint prefixes it with "model." next to the optimiser state.
        var stateDict = header.Kind switch
        {
            ClipPackageFile.ModelKind => tensors.Where(t => ClipPackageFile.IsModelWeight(t.Key))
                .ToDictionary(t => t.Key, t => t.Value, StringComparer.Ordinal),
            // A CLIP's sigmoid-loss bias is stored beside its state dict; a SigLIP's belongs to it.
            ClipPackageFile.CheckpointKind => tensors.Where(t => t.Key.StartsWith(ClipPackageFile.CheckpointModelPrefix, StringComparison.Ordinal)
                    && (config.IsSiglip || t.Key != ClipPackageFile.CheckpointModelPrefix + "logit_bias"))
                .ToDictionary(t => t.Key[ClipPackageFile.CheckpointModelPrefix.Length..], t => t.Value, StringComparer.Ordinal),
            var kind => throw new InvalidDataException($"{path} is a {kind ?? "file of no kind"}, not a trained model or checkpoint."),
        };
        var encoder = ReadImageEncoder(header, tensors, path);
        if (config.IsImageFeatureProjection && encoder is null)
            throw new InvalidDataException(
                $"{path} is a locked-image model's {header.Kind} without its frozen image encoder ('{header.OptionalString(ClipPackageHeader.ImageEncoderNameKey)}'): convert the model.clipmodel saved with it, which carries the encoder.");
        var textEncoder = ClipPackageTextEncoder.Read(header, name => tensors.TryGetValue(name, out var t) ? t.Data.ToArray() : null, path);
        if (config.IsTextFeatureProjection && textEncoder is null)
            throw new InvalidDataException(
                $"{path} is a locked-text model's {header.Kind} without its frozen text encoder ('{header.OptionalString(ClipPackageHeader.TextEncoderNameKey)}'): convert the model.clipmodel saved with it, which carries the encoder.");
        if (!stateDict.TryGetValue("logit_scale", out var logitScale) || logitScale.ElementCount != 1)
            throw new InvalidDataException($"{path} has no single-value 'logit_scale' tensor; the file is corrupt.");
        var (tokenizer, preprocess) = ClipPackageInputs.Read(header,
            tensors.TryGetValue(ClipPackageInputs.TokenizerTensorName, out var file) ? file.Data.ToArray() : null);
        return (new CheckpointWeights(config, stateDict, logitScale.SingleValue()) { Tokenizer = tokenizer, Preprocess = preprocess }, encoder, textEncoder);
    }

    // The encoder graph and preprocessing a locked-image model carries; its bytes must hash to the recorded id.
    private static FrozenEncoderGraph? ReadImageEncoder(ClipPackageHeader header, Dictionary<string, StateTensor> tensors, string source)
    {
        if (!tensors.TryGetValue(ClipPackageFile.ImageEncoderTensorName, out var graph)) return null;
        var settings = header.OptionalObject("image_encoder_preprocess")
            ?? throw new InvalidDataException($"{source}: the frozen image encoder has no preprocessing in the header.");
        var preprocess = new ClipPreprocessSettings
        {
            Resolution = settings.Int32("resolution"),
            ResizeMode = settings.Enum<ClipResizeMode>("resize_mode"),
            Mean = settings.SingleArray("mean"),
            Std = settings.SingleArray("std"),
        };
        var name = header.OptionalString(ClipPackageHeader.ImageEncoderNameKey) ?? "image encoder";
        var bytes = graph.Data.ToArray();
        if (FrozenImageEncoder.ComputeId(bytes, preprocess) != header.OptionalString(ClipPackageHeader.ImageEncoderIdKey))
            throw new InvalidDataException($"{source}: the frozen image encoder's graph does not match its recorded id (corrupt file).");
        var (_, resolution, featureSize) = FrozenEncoderGraphs.Normalize(bytes, name);
        if (resolution is int r && r != preprocess.Resolution)
            throw new InvalidDataException($"Image encoder '{name}' takes {r}×{r} images; its saved preprocessing says {preprocess.Resolution}.");
        return new FrozenEncoderGraph(name, bytes, featureSize, preprocess);
    }
}
