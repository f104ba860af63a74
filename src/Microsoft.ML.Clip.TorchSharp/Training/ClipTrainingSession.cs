using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// One training run: the model, the optimiser, the schedule position and the loop (gradient step, clipping, AdamW,
/// temperature clamp, progress, NaN guard, atomic checkpoints, resume).
/// </summary>
internal sealed class ClipTrainingSession : IDisposable
{
    public const string CheckpointFileName = "checkpoint.clipckpt";

    private readonly ClipTrainerOptions _options;
    private readonly Action<string>? _log;
    private readonly ClipAdamW _optimizer;
    private readonly Device _device;
    private string? _lastCheckpoint;

    private ClipTrainingSession(ClipTrainerOptions options, ClipTorchModel model, Parameter? bias, FrozenImageEncoder? imageEncoder, Device device, Action<string>? log)
    {
        _options = options;
        ImageEncoder = imageEncoder;
        _log = log;
        Model = model;
        Bias = bias;
        _device = device;
        Model.to(_device);
        var named = Model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        if (Bias is not null) named.Add(("logit_bias", Bias));
        _optimizer = new ClipAdamW(named, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
    }

    public ClipTorchModel Model { get; }

    /// <summary>The sigmoid loss's learnable bias; null for InfoNCE.</summary>
    public Parameter? Bias { get; }

    /// <summary>The frozen image encoder of a locked-image run (<see cref="ClipTrainerOptions.ImageEncoder"/>), else null.</summary>
    public FrozenImageEncoder? ImageEncoder { get; }

    /// <summary>Called after each completed epoch with its 0-based number.</summary>
    public Action<int>? EpochCompleted { get; set; }

    /// <summary>Steps completed.</summary>
    public long Step { get; private set; }

    public bool TrainsImageTower => !_options.LockImageTower;

    public bool TrainsTextTower => !_options.LockTextTower;

    internal ClipAdamW Optimizer => _optimizer;

    /// <summary>The architecture a run with <paramref name="options"/> trains, read without loading weights where possible.</summary>
    public static ClipConfig ResolveConfig(ClipTrainerOptions options)
    {
        if (options.ResumeFrom is { } resume)
        {
            var path = ResolveCheckpointPath(resume);
            return ClipPackageFile.ReadHeader(path).Config;
        }
        if (options.InitialCheckpoint is { } init)
        {
            if (!File.Exists(init) && !Directory.Exists(init)) throw new FileNotFoundException($"Initial checkpoint '{init}' does not exist.", init);
            if (File.Exists(init) && ClipPackageFile.IsPackageFile(init)) return ClipPackageFile.ReadHeader(init).Config;
            using var weights = ClipWeights.Load(init);
            return weights.Config;
        }
        return options.Config ?? ClipModelPresets.Get(options.Preset);
    }

    /// <summary>Header key of the frozen image encoder's identity in checkpoints and saved models.</summary>
    internal const string ImageEncoderIdKey = ClipPackageFile.ImageEncoderIdKey;

    /// <summary>Builds the model (preset, config or pretrained checkpoint), locks towers, and restores a checkpoint when resuming.</summary>
    public static ClipTrainingSession Create(ClipTrainerOptions options, Action<string>? log)
    {
        Validate(options);
        string? resumePath = options.ResumeFrom is null ? null : ResolveCheckpointPath(options.ResumeFrom);
        ClipPackageHeader? resumeHeader = null;
        Dictionary<string, Tensor>? resumeTensors = null;
        if (resumePath is not null)
        {
            using var stream = File.OpenRead(resumePath);
            (resumeHeader, resumeTensors) = ClipPackageTensors.Read(stream, resumePath);
        }
        FrozenImageEncoder? encoder = null;
        try
        {
            var device = ResolveDevice(options.Device);
            // The frozen encoder runs where the model trains: CUDA (ONNX Runtime's, with a logged CPU fallback when the
            // application references the CPU build) or the CPU.
            int? encoderGpu = device.type == DeviceType.CUDA ? Math.Max(0, device.index) : null;
            encoder = options.ImageEncoder is { } encoderName
                ? FrozenImageEncoder.Create(encoderName, options.ImageEncoderDirectory, options.ImageEncoderResolution, encoderGpu, log)
                : null;
            // A generator of its own, not the process-wide one: another thread drawing random numbers between a seed and
            // the model's construction (a second training, the application) would silently change the initial weights.
            using var generator = new Generator((ulong)options.Seed);
            ClipTorchModel model;
            float? initialBias = null;
            if (resumeHeader is not null)
            {
                CheckSameEncoder(resumeHeader, encoder, "resume it");
                model = new ClipTorchModel(resumeHeader.Config);
            }
            else if (options.InitialCheckpoint is { } init)
            {
                (model, initialBias, var initialHeader) = LoadInitialModel(init);
                if (initialHeader is not null)
                {
                    try { CheckSameEncoder(initialHeader, encoder, "start from it", allowNewEncoder: true); }
                    catch { model.Dispose(); throw; }
                }
                // A projection trained on another encoder's features means nothing here: then only the text side is kept.
                // Imported files record no encoder; their projection is kept when its sizes fit.
                if (encoder is not null)
                    model = LockedImageModel(model, encoder, keepProjection: initialHeader?.OptionalString(ImageEncoderIdKey) is not { } savedId || savedId == encoder.Id, generator, log);
            }
            else
            {
                model = new ClipTorchModel(options.Config ?? ClipModelPresets.Get(options.Preset), generator);
                if (encoder is not null) model = LockedImageModel(model, encoder, keepProjection: false, generator, log);
            }

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
            var session = new ClipTrainingSession(options, model, bias, encoder, device, log);
            if (resumeHeader is not null) session.Restore(resumeHeader, resumeTensors!, resumePath!);
            return session;
        }
        catch
        {
            encoder?.Dispose();
            throw;
        }
        finally
        {
            if (resumeTensors is not null) foreach (var t in resumeTensors.Values) t.Dispose();
        }
    }

    /// <summary>Trains to the end of the configured epochs.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (a checkpoint is written first when a folder is set).</exception>
    /// <exception cref="ClipTrainingDivergedException">The loss became NaN or infinite.</exception>
    public void Run(IClipBatchSource source)
    {
        var batchSize = _options.BatchSize;
        if (source.RowCount < 2)
            throw new ArgumentException($"Contrastive training needs at least 2 pairs; the data has {source.RowCount}.", "input");
        if (source.RowCount < batchSize)
        {
            _log?.Invoke($"The data has {source.RowCount} pairs, fewer than the batch size {batchSize}; using batches of {source.RowCount}.");
            batchSize = (int)source.RowCount;
        }
        var stepsPerEpoch = source.RowCount / batchSize;
        var totalSteps = stepsPerEpoch * _options.Epochs;
        CheckResumePosition(batchSize, source.RowCount);
        var ct = _options.CancellationToken;
        var clock = Stopwatch.StartNew();
        var firstStep = Step;
        _log?.Invoke($"Training {totalSteps} steps ({_options.Epochs} epochs × {stepsPerEpoch}) of batch {batchSize} on {_device.type}" +
            (Step > 0 ? $", resuming after step {Step}." : "."));

        try
        {
            for (var epoch = (int)(Step / stepsPerEpoch); epoch < _options.Epochs; epoch++)
            {
                var skip = Step - epoch * stepsPerEpoch;
                foreach (var batch in BackgroundPrefetch.Enumerate(source.ReadEpoch(epoch, batchSize, skip, ct)))
                {
                    using (batch)
                    {
                        ct.ThrowIfCancellationRequested();
                        var learningRate = CosineWarmupSchedule.LearningRate(_options.LearningRate, Step, _options.WarmupSteps, totalSteps);
                        var loss = TrainStep(batch, learningRate);
                        Step++;
                        Report(epoch, loss, learningRate, totalSteps, batchSize, clock, firstStep);
                        if (_options.CheckpointDirectory is not null && _options.CheckpointEverySteps > 0 && Step % _options.CheckpointEverySteps == 0)
                            SaveCheckpoint(batchSize, source.RowCount);
                    }
                }
                EpochCompleted?.Invoke(epoch);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && _options.CheckpointDirectory is not null)
        {
            // Cancellation surfaces either here between steps or from the prefetch thread's reader; either way
            // the last step is complete, so the checkpoint holds a consistent position to resume from.
            SaveCheckpoint(batchSize, source.RowCount);
            throw;
        }
        if (_options.CheckpointDirectory is not null) SaveCheckpoint(batchSize, source.RowCount);
    }

    /// <summary>One optimiser step on <paramref name="batch"/>; returns the loss.</summary>
    internal float TrainStep(ClipTrainingBatch batch, double learningRate)
    {
        using var scope = NewDisposeScope();
        _optimizer.ZeroGrad();
        var images = batch.Images.to(_device);
        var tokens = batch.Tokens.to(_device);
        var loss = GradientCache.Backward(Model, images, tokens, _options.Loss, Bias, _options.ChunkSize, TrainsImageTower, TrainsTextTower);
        if (!float.IsFinite(loss))
            throw new ClipTrainingDivergedException(Step, loss, _lastCheckpoint);
        if (_options.MaxGradientNorm > 0)
            nn.utils.clip_grad_norm_(_optimizer.Parameters, _options.MaxGradientNorm);
        _optimizer.Step(learningRate);
        ContrastiveLoss.ClampLogitScale(Model.LogitScale);
        return loss;
    }

    /// <summary>Writes the checkpoint atomically: a temporary file, flushed, then renamed over the old one.</summary>
    internal string SaveCheckpoint(int batchSize, long rowCount)
    {
        var directory = _options.CheckpointDirectory ?? throw new InvalidOperationException("No CheckpointDirectory is set.");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, CheckpointFileName);
        var header = new JsonObject
        {
            ["kind"] = "checkpoint",
            ["config"] = ClipConfigJson.Serialize(Model.Config, indented: false),
            ["loss"] = _options.Loss.ToString(),
            ["step"] = Step,
            ["optimizer_step"] = _optimizer.StepCount,
            ["batch_size"] = batchSize,
            ["row_count"] = rowCount,
            ["seed"] = _options.Seed,
            ["epochs"] = _options.Epochs,
            ["lock_image"] = _options.LockImageTower,
            ["lock_text"] = _options.LockTextTower,
            ["image_encoder"] = ImageEncoder?.Name,
            [ImageEncoderIdKey] = ImageEncoder?.Id,
            // The data position is the step: each epoch's order derives from (seed, epoch), so no RNG state is kept.
            ["saved_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        var tensors = ModelTensors(Model, Bias).Select(t => ("model." + t.Name, t.Tensor))
            .Concat(_optimizer.State().Select(t => ("optim." + t.Name, t.Tensor)));
        AtomicFile.Write(path, stream => ClipPackageTensors.Write(stream, header, tensors, _options.CheckpointWriteHook));
        _lastCheckpoint = path;
        _log?.Invoke($"Checkpoint at step {Step}: {path}");
        return path;
    }

    /// <summary>The model's state dict plus the sigmoid bias (named <c>logit_bias</c>).</summary>
    internal static IEnumerable<(string Name, Tensor Tensor)> ModelTensors(ClipTorchModel model, Tensor? bias)
    {
        foreach (var (name, value) in model.state_dict()) yield return (name, value);
        if (bias is not null) yield return ("logit_bias", bias);
    }

    /// <summary>Hands the trained model to a transformer (this session must not be disposed with it: the model moves).</summary>
    internal ClipTrainerTransformer ToTransformer(string imageColumn, string textColumn)
    {
        var transformer = new ClipTrainerTransformer(Model, Bias?.item<float>(), _options.Loss, imageColumn, textColumn,
            _options.ImageEmbeddingColumnName, _options.TextEmbeddingColumnName, _options.Tokenize, ImageEncoder);
        _modelHandedOver = true;
        return transformer;
    }

    private bool _modelHandedOver;

    public static string ResolveCheckpointPath(string pathOrFolder) =>
        Directory.Exists(pathOrFolder) ? Path.Combine(pathOrFolder, CheckpointFileName)
        : File.Exists(pathOrFolder) ? pathOrFolder
        : throw new FileNotFoundException($"No checkpoint at '{pathOrFolder}'.", pathOrFolder);

    public void Dispose()
    {
        _optimizer.Dispose();
        Bias?.Dispose();
        if (!_modelHandedOver)
        {
            Model.Dispose();
            ImageEncoder?.Dispose();
        }
    }

    // A checkpoint or model of a locked-image run names its encoder: resuming needs the same one; starting from a saved
    // model may switch encoders (only its text side is kept) but cannot drop the encoder, since its image tower is a bare projection.
    private static void CheckSameEncoder(ClipPackageHeader header, FrozenImageEncoder? encoder, string purpose, bool allowNewEncoder = false)
    {
        var id = header.OptionalString(ImageEncoderIdKey);
        var name = header.OptionalString("image_encoder") ?? "?";
        if (id is null && encoder is not null && !allowNewEncoder)
            throw new InvalidOperationException($"{header.Source} was trained with the model's own image tower; ClipTrainerOptions.ImageEncoder must not be set to {purpose}.");
        if (id is not null && encoder is null)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen image encoder '{name}'; set ClipTrainerOptions.ImageEncoder to it to {purpose}.");
        if (id is not null && id != encoder!.Id && !allowNewEncoder)
            throw new InvalidOperationException($"{header.Source} was trained on the frozen image encoder '{name}' (id {id[..12]}…); the options give '{encoder.Name}' (id {encoder.Id[..12]}…), a different encoder.");
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

    private void Restore(ClipPackageHeader header, Dictionary<string, Tensor> tensors, string source)
    {
        if (header.Kind != "checkpoint") throw new InvalidDataException($"{source} is not a training checkpoint.");
        var loss = header.Enum<ClipLossKind>("loss");
        if (loss != _options.Loss)
            throw new InvalidOperationException($"{source} was trained with the {loss} loss; the options ask for {_options.Loss}.");
        var modelState = tensors.Where(t => t.Key.StartsWith("model.", StringComparison.Ordinal) && t.Key != "model.logit_bias")
            .ToDictionary(t => t.Key["model.".Length..], t => t.Value);
        Model.LoadStateDict(modelState, source);
        if (Bias is not null)
        {
            if (!tensors.TryGetValue("model.logit_bias", out var bias)) throw new InvalidDataException($"{source} has no logit_bias.");
            using (no_grad()) Bias.copy_(bias);
        }
        var optimizerState = tensors.Where(t => t.Key.StartsWith("optim.", StringComparison.Ordinal))
            .ToDictionary(t => t.Key["optim.".Length..], t => t.Value);
        _optimizer.Load(optimizerState, header.Int64("optimizer_step"), source);
        Step = header.Int64("step");
        _resumeBatchSize = header.Int32("batch_size");
        _resumeRowCount = header.Int64("row_count");
        _lastCheckpoint = source;
    }

    private int? _resumeBatchSize;
    private long? _resumeRowCount;

    private void CheckResumePosition(int batchSize, long rowCount)
    {
        if (_resumeBatchSize is null) return;
        if (_resumeBatchSize != batchSize || _resumeRowCount != rowCount)
            throw new InvalidOperationException(
                $"The checkpoint was written with batch size {_resumeBatchSize} over {_resumeRowCount} rows; this run has batch size {batchSize} over {rowCount} rows. Resume with the same data and batch size.");
    }

    private void Report(int epoch, float loss, double learningRate, long totalSteps, int batchSize, Stopwatch clock, long firstStep)
    {
        var seconds = clock.Elapsed.TotalSeconds;
        var done = Step - firstStep;
        var samplesPerSecond = seconds > 0 ? done * batchSize / seconds : 0;
        var eta = done > 0 ? TimeSpan.FromSeconds(seconds / done * (totalSteps - Step)) : TimeSpan.Zero;
        var temperature = (float)Math.Exp(Model.LogitScale.item<float>());
        var progress = new ClipTrainingProgress(Step, totalSteps, epoch, loss, temperature, learningRate, samplesPerSecond, eta);
        _options.Progress?.Report(progress);
        if (_log is not null && (Step % Math.Max(1, _options.LogEverySteps) == 0 || Step == totalSteps))
            _log(progress.ToString());
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
                var model = new ClipTorchModel(header.Config);
                // A trained model holds the state dict; a checkpoint prefixes it with "model." next to the optimiser state.
                var prefix = header.Kind == "checkpoint" ? "model." : "";
                var bias = prefix == "" ? header.OptionalSingle("logit_bias")
                    : tensors.TryGetValue("model.logit_bias", out var stored) ? stored.item<float>() : null;
                try
                {
                    model.LoadStateDict(tensors
                        .Where(t => t.Key.StartsWith(prefix, StringComparison.Ordinal) && t.Key != prefix + "logit_bias" && !t.Key.StartsWith("optim.", StringComparison.Ordinal)
                            && t.Key != ClipTrainerTransformer.ImageEncoderTensorName)
                        .ToDictionary(t => t.Key[prefix.Length..], t => t.Value), path);
                }
                catch
                {
                    model.Dispose();
                    throw;
                }
                return (model, bias, header);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        // OpenAI .pt, OpenCLIP/Hugging Face safetensors: whatever the import code reads.
        using var imported = ClipWeights.Load(path);
        var pretrained = new ClipTorchModel(imported.Config);
        try
        {
            pretrained.LoadStateDict(imported.StateDict, path);
            return (pretrained, null, null);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

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

    private static Device ResolveDevice(string? device) => device?.ToLowerInvariant() switch
    {
        null => cuda.is_available() ? CUDA : CPU,
        "cpu" => CPU,
        "cuda" => cuda.is_available() ? CUDA : throw new InvalidOperationException("Device 'cuda' was asked for, but torch.cuda.is_available() is false."),
        _ => throw new ArgumentException($"Unknown device '{device}'; expected 'cpu' or 'cuda'.", nameof(ClipTrainerOptions.Device)),
    };

    private static void Validate(ClipTrainerOptions o)
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"ClipTrainerOptions.{name} {rule}.");
        }
        Check(o.Epochs > 0, nameof(o.Epochs), o.Epochs, "must be positive");
        Check(o.BatchSize >= 2, nameof(o.BatchSize), o.BatchSize, "must be at least 2 (contrastive pairs)");
        Check(o.ChunkSize >= 0, nameof(o.ChunkSize), o.ChunkSize, "must be 0 (no caching) or positive");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "must be positive");
        Check(o.WarmupSteps >= 0, nameof(o.WarmupSteps), o.WarmupSteps, "must not be negative");
        Check(o.WeightDecay >= 0, nameof(o.WeightDecay), o.WeightDecay, "must not be negative");
        Check(o.MaxGradientNorm >= 0, nameof(o.MaxGradientNorm), o.MaxGradientNorm, "must not be negative (0 disables clipping)");
        Check(o.RandomResizedCropMinScale is >= 0 and <= 1, nameof(o.RandomResizedCropMinScale), o.RandomResizedCropMinScale, "must be in [0, 1] (0 disables the crop)");
        Check(o.ShuffleBufferSize > 0, nameof(o.ShuffleBufferSize), o.ShuffleBufferSize, "must be positive");
        Check(o.CheckpointEverySteps >= 0, nameof(o.CheckpointEverySteps), o.CheckpointEverySteps, "must not be negative");
        if (o.LockImageTower && o.LockTextTower)
            throw new ArgumentException("LockImageTower and LockTextTower are both set: nothing but the temperature would train.", nameof(o.LockTextTower));
        if (o.ImageEncoderResolution is int side && (o.ImageEncoder is null || side < 32))
            throw new ArgumentOutOfRangeException(nameof(o.ImageEncoderResolution), side, "ClipTrainerOptions.ImageEncoderResolution needs an ImageEncoder and a side of at least 32.");
        if (o.ImageEncoder is not null && o.LockImageTower)
            throw new ArgumentException("ImageEncoder already freezes the image encoder; LockImageTower would also freeze the projection trained on top of it.", nameof(o.LockImageTower));
        if (o.ImageEncoder is not null && o.RandomResizedCropMinScale > 0)
            throw new ArgumentException("RandomResizedCropMinScale needs the image tower to see new pixels each epoch; with ImageEncoder each image's features are computed once and cached.", nameof(o.RandomResizedCropMinScale));
    }

    /// <summary>The default tokenization: CLIP's tokenizer with truncation to the context.</summary>
    public static Func<IReadOnlyList<string>, int, long[]> DefaultTokenize { get; } =
        (texts, contextLength) => ClipTokenizer.Default.EncodeBatch(texts, contextLength, ClipTruncation.Truncate);
}
