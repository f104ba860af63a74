using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Converts CLIP checkpoints into the model folder the inference components load (<c>image.onnx</c>, <c>text.onnx</c>,
/// <c>clip_model.json</c>; see <see cref="ClipModel.Load(string, ClipModelOptions?)"/>) or into safetensors — what
/// <c>clip convert</c> does. Reads OpenAI's and open_clip's PyTorch <c>.pt</c> files (a restricted reader that never
/// runs code from the file), Hugging Face <c>CLIPModel</c> folders or <c>.safetensors</c> files, Hugging Face
/// <c>SiglipModel</c> folders (SigLIP and SigLIP 2 FixRes: <c>google/siglip-*</c>, <c>google/siglip2-*</c> without
/// <c>naflex</c>; sharded weights too), OpenAI-named safetensors with their <c>clip_config.json</c>, and the trainer's
/// <c>model.clipmodel</c> / <c>checkpoint.clipckpt</c>.
/// Everything runs on plain arrays: converting needs neither libtorch nor ONNX Runtime.
/// </summary>
/// <example>
/// <code>
/// ClipModelConverter.ConvertToOnnx("ViT-B-32.pt", "models/vit-b-32");
/// using var model = ClipModel.Load("models/vit-b-32");
/// </code>
/// </example>
public static class ClipModelConverter
{
    /// <summary>
    /// Writes <paramref name="checkpoint"/> as an ONNX model folder: <c>image.onnx</c> (<c>pixel_values</c> float32
    /// [batch, 3, R, R] → <c>image_embeds</c> [batch, D]), <c>text.onnx</c> (<c>input_ids</c> int64 [batch, L] →
    /// <c>text_embeds</c> [batch, D]) and <c>clip_model.json</c>. A locked-image model saved by the trainer keeps its
    /// frozen image encoder's graph, followed by the trained projection. A SigLIP's folder also holds its tokenizer file
    /// (<c>spiece.model</c> or <c>tokenizer.model</c>), and its <c>clip_model.json</c> records the sigmoid family with
    /// the learned bias, its tokenizer and its preprocessing.
    /// </summary>
    /// <param name="checkpoint">A <c>.pt</c> file, a <c>.safetensors</c> file (its config beside it), a Hugging Face or
    /// OpenAI-named safetensors folder, or a <c>model.clipmodel</c> / <c>checkpoint.clipckpt</c> written by the trainer.</param>
    /// <param name="outputFolder">The folder to write: created when missing, replaced whole when it holds a model (of any
    /// format). It is built beside it and swapped in complete, so a reader sees the old model or the new one, never a mix;
    /// <c>clip_model.json</c> records every file's SHA-256. A folder holding files that are no model's is refused.</param>
    /// <param name="options">Activation of <c>.pt</c> files, float16 weight storage, notes; null for the defaults.</param>
    /// <returns>The <c>clip_model.json</c> that was written.</returns>
    /// <exception cref="FileNotFoundException">The checkpoint, the config beside safetensors weights, or a calibration image is missing.</exception>
    /// <exception cref="ArgumentException"><see cref="ClipConversionOptions.Int8CalibrationImages"/> without
    /// <see cref="ClipConversionOptions.WeightsAsInt8"/>, or empty; an <see cref="ClipConversionOptions.Activation"/> or
    /// <see cref="ClipConversionOptions.SafetensorsLayout"/> that is no value of its enum. The options, the calibration images'
    /// existence and the checkpoint's are checked before <paramref name="outputFolder"/> is locked: a call refused for them
    /// creates nothing.</exception>
    /// <exception cref="InvalidDataException">The checkpoint is damaged or holds no CLIP weights, or a calibration image is not a
    /// readable image (the message names the file and what is wrong).</exception>
    /// <exception cref="UnsafePickleException">A <c>.pt</c> file asks for Python code; nothing was run.</exception>
    /// <exception cref="NotSupportedException">A legacy (pre-1.6) PyTorch file, an architecture openai/CLIP cannot express,
    /// or a graph over protobuf's 2 GB (the message says whether <see cref="ClipConversionOptions.WeightsAsFloat16"/> helps).</exception>
    /// <exception cref="IOException">Another process writes <paramref name="outputFolder"/>, or it holds files that are not a model's.</exception>
    public static ClipModelInfo ConvertToOnnx(string checkpoint, string outputFolder, ClipConversionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        options ??= new ClipConversionOptions();
        // Every option and the source are checked before the output folder is locked or anything is created.
        CheckOnnxOptions(options);
        CheckSource(checkpoint);
        using var folder = StagedModelFolder.Begin(outputFolder);
        WriteOnnx(checkpoint, folder.Path, options);
        folder.Commit();
        // As written, with the files' hashes (still locked: no other writer has replaced it).
        return ClipModelInfo.Load(Path.Combine(folder.Target, ClipModelInfo.FileName));
    }

    // ConvertToOnnx into a folder as it is (the staging folder).
    private static ClipModelInfo WriteOnnx(string checkpoint, string outputFolder, ClipConversionOptions options)
    {
        var (weights, encoder, textEncoder, source) = Read(checkpoint, options.Activation);
        var (info, rounded) = ClipOnnxExporter.Export(weights.Config, weights.StateDict, weights.LogitScale, outputFolder, source,
            new ClipOnnxExportOptions
            {
                WeightsAsFloat16 = options.WeightsAsFloat16, WeightsAsInt8 = options.WeightsAsInt8, Int8CalibrationImages = options.Int8CalibrationImages,
                ImageEncoder = encoder, TextEncoder = textEncoder,
                Tokenizer = weights.Tokenizer, Preprocess = weights.Preprocess,
            });
        if (rounded)
            options.Log?.Invoke("the checkpoint's weights are not all float16 values: storing them as float16 rounded them (embeddings move by about 1e-3 relative).");
        return info;
    }

    // Refused before any work (the output folder untouched): an activation or layout that is no value of its enum.
    private static void CheckCommonOptions(ClipConversionOptions options)
    {
        if (!Enum.IsDefined(options.Activation))
            throw new ArgumentException($"{nameof(ClipConversionOptions.Activation)} {(int)options.Activation} is not a {nameof(ClipActivation)} ({string.Join(", ", Enum.GetNames<ClipActivation>())}).", nameof(options));
        if (options.SafetensorsLayout is { } layout && !Enum.IsDefined(layout))
            throw new ArgumentException($"{nameof(ClipConversionOptions.SafetensorsLayout)} {(int)layout} is not a {nameof(ClipSafetensorsLayout)} ({string.Join(", ", Enum.GetNames<ClipSafetensorsLayout>())}).", nameof(options));
    }

    // Refused before the output folder is locked: a source that is neither a file nor a folder.
    private static void CheckSource(string checkpoint)
    {
        if (!File.Exists(checkpoint) && !Directory.Exists(checkpoint))
            throw new FileNotFoundException($"Checkpoint '{checkpoint}' does not exist.", checkpoint);
    }

    // Refused before any work: a bad common option, calibration images without int8, none at all, or a missing one (named).
    private static void CheckOnnxOptions(ClipConversionOptions options)
    {
        CheckCommonOptions(options);
        if (options.Int8CalibrationImages is not { } images)
            return;
        if (!options.WeightsAsInt8)
            throw new ArgumentException($"{nameof(ClipConversionOptions.Int8CalibrationImages)} applies with {nameof(ClipConversionOptions.WeightsAsInt8)} only.", nameof(options));
        if (images.Count == 0)
            throw new ArgumentException($"{nameof(ClipConversionOptions.Int8CalibrationImages)} is empty: calibration needs at least one image.", nameof(options));
        foreach (var image in images)
        {
            if (!File.Exists(image))
                throw new FileNotFoundException($"Calibration image '{image}' ({nameof(ClipConversionOptions.Int8CalibrationImages)}) was not found.", image);
        }
    }

    /// <summary>
    /// Writes <paramref name="checkpoint"/> as safetensors in float32: a Hugging Face <c>CLIPModel</c> folder for ViT
    /// models, OpenAI-named <c>model.safetensors</c> + <c>clip_config.json</c> for ModifiedResNet models (or the layout
    /// <see cref="ClipConversionOptions.SafetensorsLayout"/> asks for). Both read back through this class.
    /// </summary>
    /// <param name="checkpoint">As for <see cref="ConvertToOnnx"/>, except a locked-image model, whose image tower is an
    /// ONNX graph that safetensors cannot hold.</param>
    /// <param name="outputFolder">The folder to write: created when missing, replaced whole (built beside it, swapped in
    /// complete) when it holds a model of any format — an ONNX folder written over leaves no ONNX file behind.</param>
    /// <param name="options">Activation of <c>.pt</c> files, layout, notes; null for the defaults.</param>
    /// <returns>The layout written.</returns>
    /// <exception cref="ArgumentException"><see cref="ClipConversionOptions.WeightsAsFloat16"/> or <see cref="ClipConversionOptions.WeightsAsInt8"/>
    /// is set (they apply to ONNX only).</exception>
    /// <exception cref="NotSupportedException">A Hugging Face layout for a ModifiedResNet model, or a locked-image model.</exception>
    /// <inheritdoc cref="ConvertToOnnx" path="/exception"/>
    public static ClipSafetensorsLayout ConvertToSafetensors(string checkpoint, string outputFolder, ClipConversionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(checkpoint);
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        options ??= new ClipConversionOptions();
        // Every option and the source are checked before the output folder is locked or anything is created.
        CheckCommonOptions(options);
        if (options.WeightsAsFloat16 || options.WeightsAsInt8 || options.Int8CalibrationImages is not null)
            throw new ArgumentException(
                $"{(options.WeightsAsFloat16 ? nameof(ClipConversionOptions.WeightsAsFloat16) : options.WeightsAsInt8 ? nameof(ClipConversionOptions.WeightsAsInt8) : nameof(ClipConversionOptions.Int8CalibrationImages))} applies to ONNX conversion only.", nameof(options));
        CheckSource(checkpoint);
        return StagedModelFolder.Write(outputFolder, staging => WriteSafetensors(checkpoint, staging, options));
    }

    // ConvertToSafetensors into a folder as it is (the staging folder).
    private static ClipSafetensorsLayout WriteSafetensors(string checkpoint, string outputFolder, ClipConversionOptions options)
    {
        var (weights, _, _, _) = Read(checkpoint, options.Activation);
        if (weights.Config.IsImageFeatureProjection || weights.Config.IsTextFeatureProjection)
            throw new NotSupportedException(
                $"'{checkpoint}' is a locked-{(weights.Config.IsImageFeatureProjection ? "image" : "text")} model: a tower of it is a frozen ONNX encoder, which safetensors cannot hold. Convert it to ONNX instead.");
        if (weights.Config.IsSiglip)
        {
            if (options.SafetensorsLayout == ClipSafetensorsLayout.OpenAINames)
                throw new NotSupportedException($"'{checkpoint}' is a SigLIP: it is written with Hugging Face's names (its own), not OpenAI's.");
            HuggingFaceSiglip.Save(outputFolder, weights);
            return ClipSafetensorsLayout.HuggingFace;
        }
        weights = weights.WithFloat32();
        var layout = options.SafetensorsLayout ?? (weights.Config.IsVisionTransformer ? ClipSafetensorsLayout.HuggingFace : ClipSafetensorsLayout.OpenAINames);
        if (layout == ClipSafetensorsLayout.HuggingFace)
        {
            HuggingFaceClip.Save(outputFolder, weights.Config, weights.StateDict);
        }
        else
        {
            ClipSafetensors.Save(outputFolder, weights.Config, weights.StateDict);
            if (options.SafetensorsLayout is null)
                options.Log?.Invoke("Hugging Face has no ModifiedResNet CLIP; wrote safetensors with OpenAI key names and clip_config.json instead.");
        }
        return layout;
    }

    // Any checkpoint as plain weights, the frozen encoder of a locked-image model, and the source recorded in the export.
    // The weights are checked against their config here, so that a mismatch names the whole path of the checkpoint.
    private static (CheckpointWeights Weights, FrozenEncoderGraph? Encoder, FrozenTextEncoderGraph? TextEncoder, string Source) Read(string checkpoint, ClipActivation activation)
    {
        var (weights, encoder, textEncoder, source) = File.Exists(checkpoint) && ClipPackageFile.IsPackageFile(checkpoint)
            ? ReadPackage(checkpoint)
            : (CheckpointWeights.Load(checkpoint, activation), null, null, Path.GetFileName(Path.TrimEndingDirectorySeparator(checkpoint)));
        ClipStateDictLayout.Validate(weights.Config, weights.StateDict, $"'{checkpoint}'");
        return (weights, encoder, textEncoder, source);
    }

    private static (CheckpointWeights, FrozenEncoderGraph?, FrozenTextEncoderGraph?, string) ReadPackage(string path)
    {
        var (weights, encoder, textEncoder) = ClipPackageWeights.Read(path);
        return (weights, encoder, textEncoder, ClipPackageWeights.TrainedModelSource);
    }
}
