using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Onnx;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Export;

/// <summary>Options of <see cref="ClipOnnxExporter.Export"/>.</summary>
public sealed class ClipOnnxExportOptions
{
    /// <summary>
    /// Store the token-embedding table as float16 followed by a Cast to float32, halving the text model.
    /// Exact only when the weights are float16-representable (e.g. OpenAI's released float16 checkpoints);
    /// otherwise it rounds them. Default: false (float32).
    /// </summary>
    public bool TokenEmbeddingAsFloat16 { get; init; }

    /// <summary>
    /// Store every weight tensor of rank ≥ 2 (matrices, convolution kernels, embedding tables) of both graphs as
    /// float16, each cast back to float32 inside the graph: the files shrink to about half and inference still runs in
    /// float32 (ONNX Runtime folds the casts at load). Exact when the weights are float16-representable — OpenAI's
    /// released checkpoints are float16 — and a rounding otherwise (embeddings move by about 1e-3 relative). Also the
    /// way to export an image tower whose float32 graph would exceed protobuf's 2 GB (e.g. ViT-H/14). Default: false.
    /// </summary>
    public bool WeightsAsFloat16 { get; init; }

    /// <summary>
    /// The frozen image encoder of a locked-image model (<see cref="ClipConfig.IsImageFeatureProjection"/>): the image
    /// graph becomes this encoder followed by the trained projection, and its preprocessing goes into
    /// <c>clip_model.json</c>. Required for such models, ignored otherwise.
    /// </summary>
    public FrozenImageEncoder? ImageEncoder { get; init; }
}

/// <summary>
/// Writes a CLIP model as the inference currency of this library: <c>image.onnx</c> (<c>pixel_values</c>
/// float32 [batch, 3, R, R] → <c>image_embeds</c> [batch, D]), <c>text.onnx</c> (<c>input_ids</c> int64
/// [batch, L] → <c>text_embeds</c> [batch, D]) and <c>clip_model.json</c>. The graphs are built node by node
/// from the config and the state dict (no tracing), opset 17, with a symbolic <c>batch</c> dimension;
/// features are raw (not normalised), as openai/CLIP's <c>encode_image</c> / <c>encode_text</c>.
/// </summary>
public static class ClipOnnxExporter
{
    /// <summary>Input of the image graph.</summary>
    public const string ImageInputName = "pixel_values";

    /// <summary>Output of the image graph.</summary>
    public const string ImageOutputName = "image_embeds";

    /// <summary>Input of the text graph.</summary>
    public const string TextInputName = "input_ids";

    /// <summary>Output of the text graph.</summary>
    public const string TextOutputName = "text_embeds";

    /// <summary>Exports <paramref name="stateDict"/> to <paramref name="outDir"/>.</summary>
    /// <param name="config">The architecture (ViT or ModifiedResNet).</param>
    /// <param name="stateDict">OpenAI-named tensors, float16 or float32 (written as float32).</param>
    /// <param name="logitScale">The stored temperature (natural log), written to <c>clip_model.json</c>.</param>
    /// <param name="outDir">The folder to write (created when missing; files are overwritten).</param>
    /// <param name="source">Where the weights came from, recorded in <c>clip_model.json</c>.</param>
    /// <param name="options">Export options; null for the defaults.</param>
    /// <returns>The <c>clip_model.json</c> contents that were written.</returns>
    /// <exception cref="InvalidDataException">The state dict does not match the config (every problem listed).</exception>
    /// <exception cref="NotSupportedException">A graph would exceed protobuf's 2 GB limit.</exception>
    public static ClipModelInfo Export(ClipConfig config, IReadOnlyDictionary<string, Tensor> stateDict, float logitScale, string outDir, string? source,
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
        var info = new ClipModelInfo
        {
            EmbedDim = config.EmbedDim,
            ImageResolution = config.ImageResolution,
            LogitScale = logitScale,
            VisionKind = encoder is not null ? "onnx-features" : config.IsVisionTransformer ? "vit" : "resnet",
            Preprocess = encoder is null ? new ClipPreprocessInfo() : ClipPreprocessInfo.From(encoder.Preprocess),
            Tokenizer = new ClipTokenizerInfo { ContextLength = config.ContextLength, VocabSize = config.VocabSize },
            Source = source,
        };

        Directory.CreateDirectory(outDir);
        if (encoder is not null) metadata["image_encoder"] = encoder.Name;
        var image = encoder is not null ? LockedImageGraph(config, stateDict, encoder, metadata)
            : config.IsVisionTransformer ? ClipOnnxVisionTransformerGraph.Build(config, stateDict, metadata)
            : ClipOnnxResNetGraph.Build(config, stateDict, metadata);
        Write(image, Path.Combine(outDir, info.ImageModelFile), options.WeightsAsFloat16);
        var text = ClipOnnxTextGraph.Build(config, stateDict, options.TokenEmbeddingAsFloat16, metadata);
        Write(text, Path.Combine(outDir, info.TextModelFile), options.WeightsAsFloat16);
        info.Save(Path.Combine(outDir, ClipModelInfo.FileName));
        return info;
    }

    private static FrozenImageEncoder CheckEncoder(ClipConfig config, FrozenImageEncoder? encoder)
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
    private static ModelProto LockedImageGraph(ClipConfig config, IReadOnlyDictionary<string, Tensor> stateDict, FrozenImageEncoder encoder,
        IReadOnlyDictionary<string, string> metadata)
    {
        float[] Values(string name)
        {
            using var t = stateDict[name].detach().cpu().to(ScalarType.Float32).contiguous();
            return t.data<float>().ToArray();
        }
        return Microsoft.ML.Clip.Graphs.FrozenEncoderGraphs.WithProjection(encoder.ParseGraph(), Values("visual.ln_post.weight"), Values("visual.ln_post.bias"),
            config.LayerNormEps, Values("visual.proj"), config.ImageFeatureSize!.Value, config.EmbedDim, metadata);
    }

    private static void Write(ModelProto model, string path, bool weightsAsFloat16)
    {
        if (weightsAsFloat16) Float16WeightStorage.Apply(model);
        // Protobuf messages are limited to 2 GB; larger models need ONNX external data, not written here.
        var size = ProtobufSize.Of(model);
        if (ProtobufSize.OverLimit(size))
        {
            var hint = weightsAsFloat16 ? "" : " Storing the weights as float16 (ClipOnnxExportOptions.WeightsAsFloat16, `clip convert --fp16`) halves it.";
            throw new NotSupportedException($"'{path}' would be about {size} bytes, over protobuf's 2 GB limit; ONNX external data is not supported by this exporter.{hint}");
        }
        AtomicFile.Write(path, model.WriteTo);
    }
}
