using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Builds what a run trains, as open_clip's <c>create_model</c> does for its train loop: the architecture (preset,
/// explicit config, an initial checkpoint or the checkpoint being resumed), the weights of an initial checkpoint, the
/// locked-image rebuild on a frozen encoder, the sigmoid loss's bias, and the frozen towers. The only place training
/// reads a pretrained checkpoint (<see cref="ClipWeights.Load"/>, and header-only in
/// <see cref="ReadCheckpointConfig"/>).
/// </summary>
internal static partial class ClipModelFactory
{
    /// <summary>
    /// The architecture a run with <paramref name="options"/> starts from, read from headers and config files only,
    /// never from tensor data: the estimator's schema needs its embedding size and should not cost a checkpoint load.
    /// With <see cref="ClipTrainerOptions.ImageEncoder"/> the image side is then rebuilt on the encoder's features
    /// (<see cref="ClipConfig.WithImageFeatures"/>); the embedding size and the text side stay.
    /// </summary>
    public static ClipConfig ResolveConfig(ClipTrainerOptions options)
    {
        if (options.ResumeFrom is { } resume)
            return ClipPackageFile.ReadHeader(ClipTrainingCheckpoint.ResolvePath(resume)).Config;
        if (options.InitialCheckpoint is { } init)
            return ReadCheckpointConfig(init);
        return ScratchConfig(options);
    }

    // The architecture to train from scratch: the preset or config, at the asked embedding size.
    private static ClipConfig ScratchConfig(ClipTrainerOptions options)
    {
        var config = options.Config ?? ClipModelPresets.Get(options.Preset);
        return options.EmbeddingSize is int size ? config with { EmbedDim = size } : config;
    }

    /// <summary>The frozen text encoder of a locked-text run, running where the model trains; null for the model's own text tower.</summary>
    public static FrozenTextEncoder? CreateTextEncoder(ClipTrainerOptions options, Device device, Action<string>? log) =>
        options.TextEncoder is { } name ? FrozenTextEncoder.Create(name, TrainingDevice.OnnxGpuId(device), log) : null;

    /// <summary>The frozen image encoder of a locked-image run, running where the model trains; null for the model's own image tower.</summary>
    public static FrozenImageEncoder? CreateImageEncoder(ClipTrainerOptions options, Device device, Action<string>? log) =>
        options.ImageEncoder is { } name
            ? FrozenImageEncoder.Create(name, options.ImageEncoderDirectory, options.ImageEncoderResolution, TrainingDevice.OnnxGpuId(device), log)
            : null;

    /// <summary>
    /// The model (on the CPU, in train mode, towers locked as the options say) and, for the sigmoid loss, its bias on
    /// <paramref name="device"/>. When resuming (<paramref name="resumeHeader"/>) the model only has the checkpoint's
    /// architecture: <see cref="ClipTrainingCheckpoint.Restore"/> brings its weights.
    /// </summary>
    public static (ClipTorchModel Model, Parameter? Bias) Create(ClipTrainerOptions options, ClipPackageHeader? resumeHeader,
        FrozenImageEncoder? encoder, Device device, Action<string>? log, FrozenTextEncoder? textEncoder = null)
    {
        // A generator of its own, not the process-wide one: another thread drawing random numbers between a seed and
        // the model's construction (a second training, the application) would silently change the initial weights.
        using var generator = new Generator((ulong)options.Seed);
        var (model, initialBias) = Build(options, resumeHeader, encoder, textEncoder, generator, log);
        try
        {
            Parameter? bias = null;
            if (options.Loss == ClipLossKind.Sigmoid)
            {
                // Fine-tuning a sigmoid-loss model continues from its learned bias; otherwise SigLIP's initialisation.
                bias = new Parameter(tensor(initialBias ?? (float)ContrastiveLoss.SigmoidInitialBias, device: device));
                if (options.InitialCheckpoint is null)
                    using (no_grad()) model.LogitScale.FillInPlace(ContrastiveLoss.SigmoidInitialLogitScale);
            }
            Lock(model, options);
            model.train();
            return (model, bias);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private static (ClipTorchModel Model, float? Bias) Build(ClipTrainerOptions options, ClipPackageHeader? resumeHeader,
        FrozenImageEncoder? encoder, FrozenTextEncoder? textEncoder, Generator generator, Action<string>? log)
    {
        if (resumeHeader is not null)
        {
            CheckSameEncoder(resumeHeader, encoder, "resume it");
            CheckSameTextEncoder(resumeHeader, textEncoder, "resume it");
            if (options.EmbeddingSize is int size && size != resumeHeader.Config.EmbedDim)
                throw new InvalidOperationException($"{resumeHeader.Source} has embedding size {resumeHeader.Config.EmbedDim}; the options ask for {size}.");
            return (new ClipTorchModel(resumeHeader.Config), null);
        }
        if (options.InitialCheckpoint is { } init)
        {
            var (model, bias, header) = LoadInitialModel(init);
            try
            {
                if (header is not null) CheckSameEncoder(header, encoder, "start from it", allowNewEncoder: true);
                // A text head means nothing on another text encoder's features, and a CLIP text tower cannot become one.
                if (header is not null) CheckSameTextEncoder(header, textEncoder, "start from it");
                else if (textEncoder is not null)
                    throw new NotSupportedException($"Initial checkpoint '{init}' has a CLIP text tower; ClipTrainerOptions.TextEncoder can start only from a model trained on the same text encoder.");
                if (options.EmbeddingSize is int size && size != model.Config.EmbedDim)
                    throw new InvalidOperationException($"Initial checkpoint '{init}' has embedding size {model.Config.EmbedDim}; the options ask for {size}.");
            }
            catch { model.Dispose(); throw; }
            // A projection trained on another encoder's features means nothing here: then only the text side is kept.
            // Imported files record no encoder; their projection is kept when its sizes fit.
            if (encoder is not null)
            {
                var keepProjection = header?.OptionalString(ClipPackageHeader.ImageEncoderIdKey) is not { } savedId || savedId == encoder.Id;
                model = LockedImageModel(model, encoder, keepProjection, generator, log);
            }
            return (model, bias);
        }
        var config = ScratchConfig(options);
        if (textEncoder is not null)
        {
            config = config.WithTextFeatures(textEncoder.FeatureSize, textEncoder.MaxLength, textEncoder.VocabularySize);
            log?.Invoke($"Locked-text tuning: frozen text encoder '{textEncoder.Name}' ({textEncoder.FeatureSize} features, up to {textEncoder.MaxLength} tokens) + a trained head to {config.EmbedDim}.");
        }
        var scratch = new ClipTorchModel(config, generator);
        var built = encoder is null ? scratch : LockedImageModel(scratch, encoder, keepProjection: false, generator, log);
        if (options.OrthogonalFeatureProjections) built.InitializeFeatureProjectionsOrthogonally(generator);
        return (built, null);
    }

    /// <summary>
    /// The model to start from: a file of this package (trained model or checkpoint, with its sigmoid bias and header, so
    /// the caller can check its frozen image encoder) or any checkpoint the import code reads (no bias, no header).
    /// </summary>
    private static (ClipTorchModel Model, float? Bias, ClipPackageHeader? Header) LoadInitialModel(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"Initial checkpoint '{path}' does not exist.", path);
        if (File.Exists(path) && ClipPackageFile.IsPackageFile(path))
        {
            Dictionary<string, Tensor> tensors;
            ClipPackageHeader header;
            using (var stream = File.OpenRead(path)) (header, tensors) = ClipPackageTensors.Read(stream, path);
            try
            {
                // A trained model holds the state dict; a checkpoint prefixes it with "model." next to the optimiser state.
                var prefix = header.Kind == ClipTrainingCheckpoint.Kind ? ClipTrainingCheckpoint.ModelPrefix : "";
                var bias = prefix == "" ? header.OptionalSingle("logit_bias")
                    : tensors.TryGetValue(prefix + "logit_bias", out var stored) ? stored.item<float>() : null;
                var weights = tensors
                    .Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal) && t.Key != prefix + "logit_bias"
                        && !t.Key.StartsWith(ClipTrainingCheckpoint.OptimizerPrefix, StringComparison.Ordinal) && t.Key != ClipTrainerTransformer.ImageEncoderTensorName
                        && !ClipPackageTextEncoder.IsEncoderTensor(t.Key))
                    .ToDictionary(t => t.Key[prefix.Length..], t => t.Value);
                return (Loaded(header.Config, weights, path), bias, header);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        // OpenAI .pt, OpenCLIP/Hugging Face safetensors: whatever the import code reads.
        using var imported = ClipWeights.Load(path);
        return (Loaded(imported.Config, imported.StateDict, path), null, null);
    }

    private static ClipTorchModel Loaded(ClipConfig config, IReadOnlyDictionary<string, Tensor> weights, string source)
    {
        var model = new ClipTorchModel(config);
        try
        {
            model.LoadStateDict(weights, source);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    // A checkpoint or model of a locked-image run names its encoder: resuming needs the same one; starting from a saved
    // model may switch encoders (only its text side is kept) but cannot drop the encoder, since its image tower is a bare projection.
    private static void CheckSameEncoder(ClipPackageHeader header, FrozenImageEncoder? encoder, string purpose, bool allowNewEncoder = false)
    {
        var id = header.OptionalString(ClipPackageHeader.ImageEncoderIdKey);
        var name = header.OptionalString(ClipPackageHeader.ImageEncoderNameKey) ?? "?";
        if (id is null && encoder is not null && !allowNewEncoder)
            throw new InvalidOperationException($"{header.Source} was trained with the model's own image tower; ClipTrainerOptions.ImageEncoder must not be set to {purpose}.");
        if (id is not null && encoder is null)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen image encoder '{name}'; set ClipTrainerOptions.ImageEncoder to it to {purpose}.");
        if (id is not null && id != encoder!.Id && !allowNewEncoder)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen image encoder '{name}' (id {id[..12]}…); the options give '{encoder.Name}' (id {encoder.Id[..12]}…), a different encoder.");
    }

    // Like CheckSameEncoder for the text side, where the head is tied to the encoder's features: the same encoder only.
    private static void CheckSameTextEncoder(ClipPackageHeader header, FrozenTextEncoder? encoder, string purpose)
    {
        var id = header.OptionalString(ClipPackageHeader.TextEncoderIdKey);
        var name = header.OptionalString(ClipPackageHeader.TextEncoderNameKey) ?? "?";
        if (id is null && encoder is not null)
            throw new InvalidOperationException($"{header.Source} was trained with the model's own text tower; ClipTrainerOptions.TextEncoder must not be set to {purpose}.");
        if (id is not null && encoder is null)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen text encoder '{name}'; set ClipTrainerOptions.TextEncoder to it to {purpose}.");
        if (id is not null && id != encoder!.Id)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen text encoder '{name}' (id {id[..12]}…); the options give '{encoder.Name}' (id {encoder.Id[..12]}…), a different encoder.");
    }

    /// <summary>
    /// <paramref name="model"/>'s text side on top of a projection of <paramref name="encoder"/>'s features: a model that
    /// already projects those features (<paramref name="keepProjection"/>, sizes matching) is kept as it is; otherwise its text weights (and temperature) move to a new model
    /// whose projection starts from the reference-style initialisation, and its own image tower is dropped.
    /// </summary>
    private static ClipTorchModel LockedImageModel(ClipTorchModel model, FrozenImageEncoder encoder, bool keepProjection, Generator generator, Action<string>? log)
    {
        if (keepProjection && model.Config.ImageFeatureSize == encoder.FeatureSize && model.Config.ImageResolution == encoder.Preprocess.Resolution)
            return model;
        using (model)
        {
            var locked = new ClipTorchModel(model.Config.WithImageFeatures(encoder.FeatureSize, encoder.Preprocess.Resolution), generator);
            var text = model.state_dict().Where(kv => !kv.Key.StartsWith("visual.", StringComparison.Ordinal)).ToList();
            using (no_grad())
            {
                var target = locked.state_dict();
                foreach (var (name, value) in text) target[name].copy_(value);
            }
            log?.Invoke($"Locked-image tuning: frozen image encoder '{encoder.Name}' ({encoder.FeatureSize} features at {encoder.Preprocess.Resolution} px) + a trained projection to {locked.Config.EmbedDim}.");
            return locked;
        }
    }

    // Frozen parameters get no gradient, so the optimiser leaves them out.
    private static void Lock(ClipTorchModel model, ClipTrainerOptions options)
    {
        foreach (var (name, parameter) in model.named_parameters())
        {
            if (name == "logit_scale") continue;
            // Locked-image tuning with a frozen text tower still trains both projections into the joint space.
            if (options.ImageEncoder is not null && name == "text_projection") continue;
            var isImage = name.StartsWith("visual.", StringComparison.Ordinal);
            if ((isImage && options.LockImageTower) || (!isImage && options.LockTextTower))
                parameter.requires_grad = false;
        }
    }
}
