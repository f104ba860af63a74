using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Onnx;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The graph of a frozen image feature extractor that a locked-image (LiT) model's image tower starts with: what the
/// exporter needs of a <see cref="FrozenImageEncoder"/>, which a converter reading a saved model gets without starting
/// an ONNX Runtime session.
/// </summary>
/// <param name="Name">The encoder's name (recorded in the graph's metadata).</param>
/// <param name="GraphBytes">Its normalised graph (<c>pixel_values</c> → <c>image_features</c>), serialised.</param>
/// <param name="FeatureSize">Size F of its features.</param>
/// <param name="Preprocess">The preprocessing it expects (goes into <c>clip_model.json</c>).</param>
// friend: used by Microsoft.ML.Clip.TorchSharp (Export/TorchOnnxExport hands a trained locked-image model's encoder over)
internal sealed record FrozenEncoderGraph(string Name, byte[] GraphBytes, int FeatureSize, ClipPreprocessSettings Preprocess)
{
    /// <summary>The graph of a running encoder.</summary>
    public static FrozenEncoderGraph Of(FrozenImageEncoder encoder) => new(encoder.Name, encoder.GraphBytes, encoder.FeatureSize, encoder.Preprocess);
}

/// <summary>
/// The graph of a frozen text encoder that a locked-text model's text tower starts with (normal form: <c>input_ids</c> →
/// <c>text_features</c>), with what its tokenizer needs: what the exporter needs of a <see cref="FrozenTextEncoder"/>,
/// which a converter reading a saved model gets without starting an ONNX Runtime session.
/// </summary>
/// <param name="Name">The encoder's name (recorded in the graph's metadata).</param>
/// <param name="GraphBytes">Its normal-form graph, serialised.</param>
/// <param name="VocabularyBytes">Its <c>vocab.txt</c> (copied into the model folder).</param>
/// <param name="FeatureSize">Size F of its features.</param>
/// <param name="Settings">Its tokenizer settings, pooling and normalisation.</param>
// friend: used by Microsoft.ML.Clip.TorchSharp (Export/TorchOnnxExport hands a trained locked-text model's encoder over)
internal sealed record FrozenTextEncoderGraph(string Name, byte[] GraphBytes, byte[] VocabularyBytes, int FeatureSize, FrozenTextEncoderSettings Settings)
{
    /// <summary>The graph of a running encoder.</summary>
    public static FrozenTextEncoderGraph Of(FrozenTextEncoder encoder) =>
        new(encoder.Name, encoder.GraphBytes, encoder.VocabularyBytes, encoder.FeatureSize, encoder.Settings);

    /// <summary>The <c>clip_model.json</c> description of its tokenizer (WordPiece over <c>vocab.txt</c> in the folder).</summary>
    public ClipTokenizerInfo TokenizerInfo() => Settings.ToTokenizerInfo(VocabularyBytes, Name);
}

/// <summary>Options of <see cref="ClipOnnxExporter.Export"/>.</summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Export/TorchOnnxExport)
internal sealed class ClipOnnxExportOptions
{
    /// <summary>
    /// Store every weight tensor of rank ≥ 2 (matrices, convolution kernels, embedding tables) of both graphs as
    /// float16, each cast back to float32 inside the graph: the files shrink to about half and inference still runs in
    /// float32 (ONNX Runtime folds the casts at load). Exact when the weights are float16-representable — OpenAI's
    /// released checkpoints are float16 — and a rounding otherwise (embeddings move by about 1e-3 relative). Also the
    /// way to export an image tower whose float32 graph would exceed protobuf's 2 GB (e.g. ViT-H/14). Default: false.
    /// </summary>
    public bool WeightsAsFloat16 { get; init; }

    /// <summary>
    /// Quantize the weights of both graphs' linear layers (MatMul, Gemm) to int8 per output channel, activations quantized
    /// per call (<see cref="DynamicInt8Quantization"/>): ONNX Runtime runs them with its int8 GEMM kernels. Applied before
    /// <see cref="WeightsAsFloat16"/>, which then stores only the remaining float weights. Default: false.
    /// </summary>
    public bool WeightsAsInt8 { get; init; }

    /// <summary>
    /// With <see cref="WeightsAsInt8"/>: images that stand for what the model will see. The image graph's convolutions are
    /// then quantized statically (<see cref="StaticInt8Quantization"/>: activation ranges measured on these images,
    /// preprocessed as the model's <c>clip_model.json</c> says), which ONNX Runtime runs with its int8 convolution
    /// kernels; without them convolutions stay float. Default: null.
    /// </summary>
    public IReadOnlyList<string>? Int8CalibrationImages { get; init; }

    /// <summary>
    /// The frozen image encoder of a locked-image model (<see cref="ClipConfig.IsImageFeatureProjection"/>): the image
    /// graph becomes this encoder followed by the trained projection, and its preprocessing goes into
    /// <c>clip_model.json</c>. Required for such models, ignored otherwise.
    /// </summary>
    public FrozenEncoderGraph? ImageEncoder { get; init; }

    /// <summary>
    /// The frozen text encoder of a locked-text model (<see cref="ClipConfig.IsTextFeatureProjection"/>): the text graph
    /// becomes this encoder followed by the trained head, its <c>vocab.txt</c> is copied into the folder and
    /// <c>clip_model.json</c> records its WordPiece tokenizer and a dynamic sequence length. Required for such models,
    /// ignored otherwise.
    /// </summary>
    public FrozenTextEncoderGraph? TextEncoder { get; init; }

    /// <summary>
    /// A SigLIP's tokenizer (its checkpoint folder's file, copied into the exported folder and named in
    /// <c>clip_model.json</c>; or <see cref="CheckpointTokenizer.ClipBpe"/> for one trained on CLIP's tokens). Required for a
    /// SigLIP; ignored for a CLIP, which always uses CLIP's BPE.
    /// </summary>
    public CheckpointTokenizer? Tokenizer { get; init; }

    /// <summary>The image preprocessing to record (a SigLIP's <c>preprocessor_config.json</c>); null for the family's default.
    /// Ignored for a locked-image model, whose encoder brings its own.</summary>
    public ClipPreprocessSettings? Preprocess { get; init; }
}

/// <summary>What <see cref="ClipOnnxExporter.Export"/> wrote.</summary>
/// <param name="Info">The <c>clip_model.json</c> contents.</param>
/// <param name="WeightsRoundedToFloat16">True when <see cref="ClipOnnxExportOptions.WeightsAsFloat16"/> changed some value
/// (a weight that is not float16-representable); false without that option.</param>
// friend: used by Microsoft.ML.Clip.TorchSharp (Export/TorchOnnxExport)
internal sealed record ClipOnnxExportResult(ClipModelInfo Info, bool WeightsRoundedToFloat16);

/// <summary>
/// Writes a CLIP model as the inference currency of this library: <c>image.onnx</c> (<c>pixel_values</c>
/// float32 [batch, 3, R, R] → <c>image_embeds</c> [batch, D]), <c>text.onnx</c> (<c>input_ids</c> int64
/// [batch, L] → <c>text_embeds</c> [batch, D]) and <c>clip_model.json</c>. The graphs are built node by node
/// from the config and the state dict (no tracing), opset 17, with a symbolic <c>batch</c> dimension;
/// features are raw (not normalised), as openai/CLIP's <c>encode_image</c> / <c>encode_text</c>. The input and
/// output names are <see cref="EncoderSignature"/>'s, the ones the inference side checks.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Export/TorchOnnxExport: the export of trained models)
internal static class ClipOnnxExporter
{
    /// <summary>Exports <paramref name="stateDict"/> to <paramref name="outDir"/>.</summary>
    /// <param name="config">The architecture (ViT, ModifiedResNet or a frozen-encoder projection).</param>
    /// <param name="stateDict">OpenAI-named tensors of any floating dtype (written as float32).</param>
    /// <param name="logitScale">The stored temperature (natural log), written to <c>clip_model.json</c>.</param>
    /// <param name="outDir">The folder to write (created when missing; files are overwritten one by one, so a kill can leave a mix:
    /// callers write into a <see cref="IO.StagedModelFolder"/> and swap it in whole, as <see cref="ClipModelConverter"/> does).</param>
    /// <param name="source">Where the weights came from, recorded in <c>clip_model.json</c>.</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <returns>The <c>clip_model.json</c> contents that were written, and whether float16 storage rounded anything.</returns>
    /// <exception cref="InvalidDataException">The state dict does not match the config (every problem listed).</exception>
    /// <exception cref="NotSupportedException">A graph would exceed protobuf's 2 GB limit.</exception>
    public static ClipOnnxExportResult Export(ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, float logitScale, string outDir, string? source,
        ClipOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        ArgumentException.ThrowIfNullOrEmpty(outDir);
        options ??= new ClipOnnxExportOptions();
        ClipStateDictLayout.Validate(config, stateDict, source ?? "state dict to export");

        var metadata = new Dictionary<string, string>
        {
            ["clip_config"] = ClipConfigJson.Serialize(config, indented: false),
            ["logit_scale"] = logitScale.ToString("R", CultureInfo.InvariantCulture),
        };
        if (source != null) metadata["source"] = source;

        var encoder = config.IsImageFeatureProjection ? CheckEncoder(config, options.ImageEncoder) : null;
        var textEncoder = config.IsTextFeatureProjection ? CheckTextEncoder(config, options.TextEncoder) : null;
        var info = new ClipModelInfo
        {
            EmbedDim = config.EmbedDim,
            ImageResolution = config.ImageResolution,
            LogitScale = logitScale,
            VisionKind = encoder is not null ? "onnx-features" : config.IsVisionTransformer ? "vit" : "resnet",
            Preprocess = encoder is not null ? ClipPreprocessInfo.From(encoder.Preprocess)
                : options.Preprocess is { } preprocess ? ClipPreprocessInfo.From(preprocess) : new ClipPreprocessInfo(),
            Tokenizer = textEncoder?.TokenizerInfo() ?? new ClipTokenizerInfo { ContextLength = config.ContextLength, VocabSize = config.VocabSize },
            // The text graph slices its position embedding and mask to the rows' length (ClipOnnxTextGraph); a frozen
            // BERT-family encoder masks its padding itself. Either way a batch may be cut after its longest text.
            TextSequence = ClipModelInfo.DynamicSequence,
            Source = source,
        };
        if (config.IsSiglip)
            info = SiglipInfo(info, config, stateDict, options);
        if (info.LogitBias is float bias)
            metadata["logit_bias"] = bias.ToString("R", CultureInfo.InvariantCulture);

        Directory.CreateDirectory(outDir);
        if (config.IsSiglip && options.Tokenizer is { FileName: { } tokenizerFile, FileBytes: { } tokenizerBytes })
            AtomicFile.Write(Path.Combine(outDir, tokenizerFile), stream => stream.Write(tokenizerBytes));
        if (encoder is not null) metadata["image_encoder"] = encoder.Name;
        if (textEncoder is not null) metadata["text_encoder"] = textEncoder.Name;
        // One graph at a time: the image graph is written and released before the text graph is built.
        var calibration = options.WeightsAsInt8 && options.Int8CalibrationImages is { } images ? new Int8Calibration(images, info.ToPreprocessSettings()) : null;
        var (rounded, imageBytes) = Write(ImageGraph(config, stateDict, encoder, metadata), Path.Combine(outDir, info.ImageModelFile), options, calibration);
        // A large tower's graph is garbage now; collect it before the text graph is built so that the checkpoint and
        // the two graphs are never in memory together (ViT-L/14: peak 3.1 GB without, 2.7 GB with).
        if (imageBytes > LargeGraphBytes) GC.Collect();
        var textGraph = textEncoder is not null ? LockedTextGraph(config, stateDict, textEncoder, metadata)
            : config.IsSiglip ? SiglipOnnxGraphs.Text(config, stateDict, metadata)
            : ClipOnnxTextGraph.Build(config, stateDict, metadata);
        rounded |= Write(textGraph, Path.Combine(outDir, info.TextModelFile), options).Rounded;
        if (textEncoder is not null)
            AtomicFile.Write(Path.Combine(outDir, info.Tokenizer.File!), stream => stream.Write(textEncoder.VocabularyBytes));
        info.Save(Path.Combine(outDir, ClipModelInfo.FileName));
        return new ClipOnnxExportResult(info, rounded);
    }

    private static ModelProto ImageGraph(ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, FrozenEncoderGraph? encoder,
        IReadOnlyDictionary<string, string> metadata) =>
        encoder is not null ? LockedImageGraph(config, stateDict, encoder, metadata)
        : config.IsSiglip ? SiglipOnnxGraphs.Image(config, stateDict, metadata)
        : config.IsVisionTransformer ? ClipOnnxVisionTransformerGraph.Build(config, stateDict, metadata)
        : ClipOnnxResNetGraph.Build(config, stateDict, metadata);

    // A SigLIP's clip_model.json: sigmoid family with its learned bias, rows always of the full context (the text tower reads
    // the last position), its own tokenizer file, and SigLIP's preprocessing unless the checkpoint records another.
    private static ClipModelInfo SiglipInfo(ClipModelInfo info, ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, ClipOnnxExportOptions options)
    {
        var tokenizer = options.Tokenizer ?? throw new FileNotFoundException(
            $"A SigLIP's ONNX folder needs its tokenizer, and the checkpoint brought none: put the model's {HuggingFaceSiglip.SiglipTokenizerFile} (SigLIP) or " +
            $"{HuggingFaceSiglip.GemmaTokenizerFile} (SigLIP 2) beside its config.json.");
        if (tokenizer.FileName is { } file && (!ClipModelInfo.IsPlainFileName(file) || file is ClipModelInfo.FileName or "image.onnx" or "text.onnx"))
            throw new ArgumentException($"The tokenizer file name '{file}' cannot be used in a model folder.", nameof(options));
        return info with
        {
            Family = ClipModelInfo.SiglipFamily,
            LogitBias = stateDict["logit_bias"].SingleValue(),
            TextSequence = ClipModelInfo.FixedSequence,
            Preprocess = ClipPreprocessInfo.From(options.Preprocess ?? HuggingFaceSiglip.DefaultPreprocess(config)),
            Tokenizer = ClipTokenizerSpec.Describe(tokenizer.Kind, tokenizer.FileBytes, tokenizer.FileName, config.ContextLength, config.VocabSize),
        };
    }

    private static FrozenEncoderGraph CheckEncoder(ClipConfig config, FrozenEncoderGraph? encoder)
    {
        if (encoder is null)
            throw new InvalidOperationException(
                $"The model projects the features of a frozen image encoder ({config.ImageFeatureSize} features): pass that encoder as ClipOnnxExportOptions.ImageEncoder to export it.");
        if (encoder.FeatureSize != config.ImageFeatureSize || encoder.Preprocess.Resolution != config.ImageResolution)
            throw new ArgumentException(
                $"Image encoder '{encoder.Name}' gives {encoder.FeatureSize} features at {encoder.Preprocess.Resolution} px; the model projects {config.ImageFeatureSize} features at {config.ImageResolution} px.",
                nameof(ClipOnnxExportOptions.ImageEncoder));
        return encoder;
    }

    // The frozen encoder graph, unchanged, followed by the trained head (LayerNorm, projection).
    private static ModelProto LockedImageGraph(ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, FrozenEncoderGraph encoder,
        IReadOnlyDictionary<string, string> metadata)
    {
        float[] Values(string name) => stateDict[name].ToSingles();
        return FrozenEncoderGraphs.WithProjection(ModelProto.Parser.ParseFrom(encoder.GraphBytes), Values("visual.ln_post.weight"), Values("visual.ln_post.bias"),
            config.LayerNormEps, Values("visual.proj"), config.ImageFeatureSize!.Value, config.EmbedDim, metadata);
    }

    private static FrozenTextEncoderGraph CheckTextEncoder(ClipConfig config, FrozenTextEncoderGraph? encoder)
    {
        if (encoder is null)
            throw new InvalidOperationException(
                $"The model's text tower is a head on the features of a frozen text encoder ({config.TextFeatureSize} features): pass that encoder as ClipOnnxExportOptions.TextEncoder to export it.");
        if (encoder.FeatureSize != config.TextFeatureSize || encoder.Settings.MaxLength != config.ContextLength)
            throw new ArgumentException(
                $"Text encoder '{encoder.Name}' gives {encoder.FeatureSize} features of up to {encoder.Settings.MaxLength} tokens; the model's head takes {config.TextFeatureSize} features of up to {config.ContextLength}.",
                nameof(ClipOnnxExportOptions.TextEncoder));
        return encoder;
    }

    // The frozen text encoder graph, unchanged, followed by the trained head (ln_final, text_projection).
    private static ModelProto LockedTextGraph(ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict, FrozenTextEncoderGraph encoder,
        IReadOnlyDictionary<string, string> metadata)
    {
        float[] Values(string name) => stateDict[name].ToSingles();
        return FrozenTextEncoderGraphs.WithProjection(ModelProto.Parser.ParseFrom(encoder.GraphBytes), Values(FrozenTextEncoderGraphs.NormWeightName),
            Values(FrozenTextEncoderGraphs.NormBiasName), config.LayerNormEps, Values(FrozenTextEncoderGraphs.ProjectionName), config.TextFeatureSize!.Value,
            config.EmbedDim, metadata);
    }

    // A graph this large is collected as soon as it is written (see Export).
    private const long LargeGraphBytes = 256L << 20;

    // Writes the model; whether storing its weights as float16 rounded some value, and its size.
    private static (bool Rounded, long Bytes) Write(ModelProto model, string path, ClipOnnxExportOptions options, Int8Calibration? calibration = null)
    {
        var weightsAsFloat16 = options.WeightsAsFloat16;
        // Convolutions first, calibrated on the float graph; the linear layers after them are quantized dynamically.
        if (calibration is not null && StaticInt8Quantization.Apply(model, calibration) > 0)
            model.MetadataProps.Add(new StringStringEntryProto { Key = "activations", Value = StaticInt8Quantization.MetadataValue });
        if (options.WeightsAsInt8 && DynamicInt8Quantization.Apply(model) > 0)
            model.MetadataProps.Add(new StringStringEntryProto { Key = "weights", Value = DynamicInt8Quantization.MetadataValue });
        var rounded = weightsAsFloat16 && Float16WeightStorage.Apply(model);
        // Protobuf messages are limited to 2 GB; larger models need ONNX external data, not written here.
        var size = ProtobufSize.Of(model);
        if (ProtobufSize.OverLimit(size))
        {
            var hint = weightsAsFloat16 ? "" : " Storing the weights as float16 (ClipConversionOptions.WeightsAsFloat16, `clip convert --fp16`) halves it.";
            throw new NotSupportedException($"'{path}' would be about {size} bytes, over protobuf's 2 GB limit; ONNX external data is not supported by this exporter.{hint}");
        }
        AtomicFile.Write(path, model.WriteTo);
        return (rounded, size);
    }
}
