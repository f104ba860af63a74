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

    // The architecture to train from scratch: the preset or config, at the asked embedding size (also what a resume with
    // Config given is compared with, ClipTrainingCheckpoint).
    internal static ClipConfig ScratchConfig(ClipTrainerOptions options)
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
    /// The model (on the CPU, in train mode, towers locked as the options say), for the sigmoid loss of a CLIP its bias on
    /// <paramref name="device"/> (a SigLIP holds its own, <see cref="ClipTorchModel.LogitBias"/>), and the inputs the model
    /// takes: its tokenizer (null: CLIP's BPE) and image preprocessing (null: openai/CLIP's). When resuming
    /// (<paramref name="resume"/>) the model only has the checkpoint's architecture: <see cref="ClipTrainingCheckpoint.Restore"/>
    /// brings its weights.
    /// </summary>
    public static (ClipTorchModel Model, Parameter? Bias, ModelInputs Inputs) Create(ClipTrainerOptions options, ClipTrainingCheckpoint.Loaded? resume,
        FrozenImageEncoder? encoder, Device device, Action<string>? log, FrozenTextEncoder? textEncoder = null)
    {
        // A generator of its own, not the process-wide one: another thread drawing random numbers between a seed and
        // the model's construction (a second training, the application) would silently change the initial weights.
        using var generator = new Generator((ulong)options.Seed);
        var (model, initialBias, inputs) = Build(options, resume, encoder, textEncoder, generator, log);
        try
        {
            Parameter? bias = null;
            if (model.Config.IsSiglip)
            {
                // SigLIP was trained with the sigmoid loss and its bias is a parameter of the model itself.
                if (options.Loss != ClipLossKind.Sigmoid)
                    throw new InvalidOperationException($"A SigLIP model trains with the sigmoid loss and its learned bias: set ClipTrainerOptions.Loss to {nameof(ClipLossKind.Sigmoid)} (clip train --loss siglip).");
                if (encoder is not null)
                    throw new InvalidOperationException("Locked-image tuning on a frozen encoder is for CLIP models; a SigLIP keeps its own image tower (set LockImageTower to freeze it; clip train --lock-image-tower).");
            }
            else if (options.Loss == ClipLossKind.Sigmoid)
            {
                // Fine-tuning a sigmoid-loss model continues from its learned bias; otherwise SigLIP's initialisation.
                bias = new Parameter(tensor(initialBias ?? (float)ContrastiveLoss.SigmoidInitialBias, device: device));
            }
            if (options.Loss == ClipLossKind.Sigmoid && options.InitialCheckpoint is null && resume is null)
                using (no_grad()) model.LogitScale.FillInPlace(ContrastiveLoss.SigmoidInitialLogitScale);
            Lock(model, options);
            model.train();
            return (model, bias, inputs);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The inputs a model takes besides its weights: its tokenizer (null: CLIP's BPE) and its image preprocessing
    /// (null: openai/CLIP's at the model's resolution). A SigLIP brings them from its checkpoint folder, and the trainer's
    /// files carry them on (<see cref="ClipPackageInputs"/>).
    /// </summary>
    internal sealed record ModelInputs(CheckpointTokenizer? Tokenizer, Imaging.ClipPreprocessSettings? Preprocess)
    {
        /// <summary>CLIP's: its BPE and openai/CLIP's preprocessing.</summary>
        public static ModelInputs Clip { get; } = new(null, null);

        /// <summary>The inputs of a model of <paramref name="config"/> that no checkpoint describes (trained from scratch).</summary>
        /// <exception cref="InvalidOperationException">A SigLIP whose vocabulary cannot hold CLIP's BPE, the only tokenizer at hand.</exception>
        public static ModelInputs Default(ClipConfig config)
        {
            if (!config.IsSiglip) return Clip;
            if (config.VocabSize < Tokenization.ClipTokenizer.EndOfTextId + 1)
                throw new InvalidOperationException(
                    $"A SigLIP trained from scratch tokenizes with CLIP's BPE (no SentencePiece file comes with a config), whose ids need VocabSize ≥ {Tokenization.ClipTokenizer.EndOfTextId + 1}; got {config.VocabSize}. Start from a SigLIP checkpoint folder to use its tokenizer.");
            return new ModelInputs(CheckpointTokenizer.ClipBpe, HuggingFaceSiglip.DefaultPreprocess(config));
        }

        /// <summary>The inputs a trainer's file records (see <see cref="ClipPackageInputs"/>; a SigLIP without a tokenizer there was trained on CLIP's BPE).</summary>
        public static ModelInputs Read(ClipPackageHeader header, IReadOnlyDictionary<string, Tensor> tensors)
        {
            var (tokenizer, preprocess) = ClipPackageInputs.Read(header,
                tensors.TryGetValue(ClipPackageInputs.TokenizerTensorName, out var file) ? file.data<byte>().ToArray() : null);
            var config = header.Config;
            return config.IsSiglip
                ? new ModelInputs(tokenizer ?? CheckpointTokenizer.ClipBpe, preprocess ?? HuggingFaceSiglip.DefaultPreprocess(config))
                : new ModelInputs(tokenizer, preprocess);
        }
    }

    private static (ClipTorchModel Model, float? Bias, ModelInputs Inputs) Build(ClipTrainerOptions options, ClipTrainingCheckpoint.Loaded? resume,
        FrozenImageEncoder? encoder, FrozenTextEncoder? textEncoder, Generator generator, Action<string>? log)
    {
        if (resume is not null)
        {
            CheckSameEncoder(resume.Header, encoder, "resume it");
            CheckSameTextEncoder(resume.Header, textEncoder, "resume it");
            if (options.EmbeddingSize is int size && size != resume.Header.Config.EmbedDim)
                throw new InvalidOperationException($"{resume.Header.Source} has embedding size {resume.Header.Config.EmbedDim}; the options ask for {size}.");
            return (new ClipTorchModel(resume.Header.Config), null, ModelInputs.Read(resume.Header, resume.Tensors));
        }
        if (options.InitialCheckpoint is { } init)
        {
            var (model, bias, header, inputs) = LoadInitialModel(init);
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
                if (!model.Config.IsSiglip)
                    model = LockedImageModel(model, encoder, keepProjection, generator, log);
            }
            return (model, bias, inputs);
        }
        var config = ScratchConfig(options);
        if (textEncoder is not null)
        {
            config = config.WithTextFeatures(textEncoder.FeatureSize, textEncoder.MaxLength, textEncoder.VocabularySize);
            log?.Invoke($"Locked-text tuning: frozen text encoder '{textEncoder.Name}' ({textEncoder.FeatureSize} features, up to {textEncoder.MaxLength} tokens) + a trained head to {config.EmbedDim}.");
        }
        var scratch = new ClipTorchModel(config, generator);
        var built = encoder is null || config.IsSiglip ? scratch : LockedImageModel(scratch, encoder, keepProjection: false, generator, log);
        if (options.OrthogonalFeatureProjections) built.InitializeFeatureProjectionsOrthogonally(generator);
        return (built, null, ModelInputs.Default(config));
    }

    /// <summary>
    /// The model to start from: a file of this package (trained model or checkpoint, with its sigmoid bias, its inputs and
    /// header, so the caller can check its frozen image encoder) or any checkpoint the import code reads (no bias, no
    /// header; a SigLIP folder's tokenizer and preprocessing).
    /// </summary>
    private static (ClipTorchModel Model, float? Bias, ClipPackageHeader? Header, ModelInputs Inputs) LoadInitialModel(string path)
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
                var config = header.Config;
                // A CLIP's sigmoid bias lives beside its state dict; a SigLIP's is part of it.
                var bias = config.IsSiglip ? null : prefix == "" ? header.OptionalSingle("logit_bias")
                    : tensors.TryGetValue(prefix + "logit_bias", out var stored) ? stored.item<float>() : null;
                var weights = tensors
                    .Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal) && (config.IsSiglip || t.Key != prefix + "logit_bias")
                        && !t.Key.StartsWith(ClipTrainingCheckpoint.OptimizerPrefix, StringComparison.Ordinal)
                        && ClipPackageFile.IsModelWeight(t.Key))
                    .ToDictionary(t => t.Key[prefix.Length..], t => t.Value);
                return (Loaded(config, weights, path), bias, header, ModelInputs.Read(header, tensors));
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        // OpenAI .pt, OpenCLIP/Hugging Face safetensors, Hugging Face SigLIP folders: whatever the import code reads.
        var plain = CheckpointWeights.Load(path);
        using var imported = ClipWeights.FromPlain(plain, floatingAsFloat32: true);
        var inputs = new ModelInputs(plain.Tokenizer, plain.Preprocess);
        if (plain.Config.IsSiglip)
            inputs = new ModelInputs(plain.Tokenizer ?? throw new FileNotFoundException(
                    $"The SigLIP checkpoint '{path}' brings no tokenizer file ({HuggingFaceSiglip.SiglipTokenizerFile} or {HuggingFaceSiglip.GemmaTokenizerFile}): fine-tuning needs the tokenizer it was trained with."),
                plain.Preprocess ?? HuggingFaceSiglip.DefaultPreprocess(plain.Config));
        return (Loaded(imported.Config, imported.StateDict, path), null, null, inputs);
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
            if (name is "logit_scale" or "logit_bias") continue;
            // Locked-image tuning with a frozen text tower still trains both projections into the joint space.
            if (options.ImageEncoder is not null && name == "text_projection") continue;
            var isImage = name.StartsWith("visual.", StringComparison.Ordinal) || name.StartsWith("vision_model.", StringComparison.Ordinal);
            if ((isImage && options.LockImageTower) || (!isImage && options.LockTextTower))
                parameter.requires_grad = false;
        }
    }
}
