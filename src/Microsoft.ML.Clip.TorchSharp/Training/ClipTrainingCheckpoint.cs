using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Training checkpoints (<c>checkpoint.clipckpt</c>, a <see cref="ClipPackageFile"/> of kind "checkpoint"): the model's
/// state dict and the sigmoid bias under <c>model.</c>, the optimiser state under <c>optim.</c>, and a header with the
/// position (step, batch size, row count) and the run's identity (loss, encoder). Written atomically; restored bit for
/// bit, so a resumed run reaches the weights of an uninterrupted one.
/// </summary>
internal static class ClipTrainingCheckpoint
{
    /// <summary>File name of the checkpoint in <see cref="ClipTrainerOptions.CheckpointDirectory"/>.</summary>
    public const string FileName = "checkpoint.clipckpt";

    /// <summary>Header <c>kind</c> of a checkpoint (a trained model's is "model").</summary>
    public const string Kind = ClipPackageFile.CheckpointKind;

    /// <summary>Prefix of the model's tensors (and of the sigmoid loss's <c>logit_bias</c>).</summary>
    public const string ModelPrefix = ClipPackageFile.CheckpointModelPrefix;

    /// <summary>Prefix of the optimiser's tensors.</summary>
    public const string OptimizerPrefix = "optim.";

    /// <summary>The checkpoint in a folder, or the file itself.</summary>
    /// <exception cref="FileNotFoundException">Neither exists.</exception>
    public static string ResolvePath(string pathOrFolder) =>
        Directory.Exists(pathOrFolder) ? Path.Combine(pathOrFolder, FileName)
        : File.Exists(pathOrFolder) ? pathOrFolder
        : throw new FileNotFoundException($"No checkpoint at '{pathOrFolder}'.", pathOrFolder);

    /// <summary>Reads a checkpoint whole (tensors on the CPU, owned by the result).</summary>
    public static Loaded Read(string pathOrFolder)
    {
        var path = ResolvePath(pathOrFolder);
        using var stream = File.OpenRead(path);
        var (header, tensors) = ClipPackageTensors.Read(stream, path);
        return new Loaded(path, header, tensors);
    }

    /// <summary>
    /// Writes <paramref name="state"/> to <see cref="FileName"/> in <see cref="ClipTrainerOptions.CheckpointDirectory"/>
    /// atomically (a temporary file, flushed, then renamed over the old one) and records it as the last good state.
    /// </summary>
    /// <remarks><paramref name="tensorWritten"/> is a test hook, called after each tensor written.</remarks>
    public static string Save(ClipTrainingState state, ClipTrainerOptions options, ClipModelFactory.ModelInputs inputs, int batchSize, long rowCount,
        Action<int>? tensorWritten)
    {
        var directory = options.CheckpointDirectory ?? throw new InvalidOperationException("No CheckpointDirectory is set.");
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, FileName);
        var header = new JsonObject
        {
            ["kind"] = Kind,
            ["config"] = ClipConfigJson.Serialize(state.Model.Config, indented: false),
            ["loss"] = options.Loss.ToString(),
            ["step"] = state.Step,
            ["optimizer_step"] = state.Optimizer.StepCount,
            ["batch_size"] = batchSize,
            ["row_count"] = rowCount,
            [SeedKey] = options.Seed,
            [EpochsKey] = options.Epochs,
            [LockImageKey] = options.LockImageTower,
            [LockTextKey] = options.LockTextTower,
            // The schedule and the data: a resumed run must continue the same run (CheckResumeOptions, CheckResumePosition).
            [LearningRateKey] = options.LearningRate,
            [WarmupStepsKey] = options.WarmupSteps,
            [WeightDecayKey] = options.WeightDecay,
            [CropKey] = options.RandomResizedCropMinScale,
            [DataFingerprintKey] = state.DataFingerprint,
            [ClipPackageHeader.ImageEncoderNameKey] = state.ImageEncoder?.Name,
            [ClipPackageHeader.ImageEncoderIdKey] = state.ImageEncoder?.Id,
            [ClipPackageHeader.TextEncoderNameKey] = state.TextEncoder?.Name,
            [ClipPackageHeader.TextEncoderIdKey] = state.TextEncoder?.Id,
            [OneCaptionPerImageKey] = options.OneCaptionPerImage,
            [ImageVariantProbabilityKey] = options.ImageVariantProbability,
            // The data position is the step: each epoch's order derives from (seed, epoch), so no RNG state is kept.
            ["saved_utc"] = DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture),
        };
        var tokenizerFile = ClipPackageInputs.Write(header, inputs.Tokenizer, inputs.Preprocess);
        var tensors = ModelTensors(state).Select(t => (ModelPrefix + t.Name, t.Tensor))
            .Concat(state.Optimizer.State().Select(t => (OptimizerPrefix + t.Name, t.Tensor)));
        using var tokenizerTensor = tokenizerFile is null ? null : tensor(tokenizerFile, ScalarType.Byte);
        if (tokenizerTensor is not null)
            tensors = tensors.Append((ClipPackageInputs.TokenizerTensorName, tokenizerTensor));
        AtomicFile.Write(path, stream => ClipPackageTensors.Write(stream, header, tensors, tensorWritten));
        state.LastCheckpoint = path;
        return path;
    }

    /// <summary>
    /// Loads <paramref name="checkpoint"/> into <paramref name="state"/> (built with the checkpoint's architecture):
    /// weights, bias, optimiser moments and step count, and the position to continue from.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a checkpoint, or a tensor is missing.</exception>
    /// <exception cref="InvalidOperationException">It was trained with another loss than <paramref name="loss"/>.</exception>
    public static void Restore(ClipTrainingState state, Loaded checkpoint, ClipLossKind loss)
    {
        var (source, header, tensors) = (checkpoint.Path, checkpoint.Header, checkpoint.Tensors);
        if (header.Kind != Kind) throw new InvalidDataException($"{source} is not a training checkpoint.");
        var saved = header.Enum<ClipLossKind>("loss");
        if (saved != loss)
            throw new InvalidOperationException($"{source} was trained with the {saved} loss; the options ask for {loss}.");
        // A SigLIP's bias is in its state dict; a CLIP's sigmoid bias is stored beside it.
        var ownsBias = state.Model.LogitBias is not null;
        var modelState = tensors.Where(t => t.Key.StartsWith(ModelPrefix, StringComparison.Ordinal) && (ownsBias || t.Key != ModelPrefix + "logit_bias"))
            .ToDictionary(t => t.Key[ModelPrefix.Length..], t => t.Value);
        state.Model.LoadStateDict(modelState, source);
        if (state.Bias is not null && !ownsBias)
        {
            if (!tensors.TryGetValue(ModelPrefix + "logit_bias", out var bias)) throw new InvalidDataException($"{source} has no logit_bias.");
            using (no_grad()) state.Bias.copy_(bias);
        }
        var optimizerState = tensors.Where(t => t.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(t => t.Key[OptimizerPrefix.Length..], t => t.Value);
        state.Optimizer.Load(optimizerState, header.Int64("optimizer_step"), source);
        state.Step = header.Int64("step");
        state.ResumedFrom = (header.Int32("batch_size"), header.Int64("row_count"));
        state.ResumedDataFingerprint = header.OptionalString(DataFingerprintKey);
        state.LastCheckpoint = source;
    }

    /// <summary>A resumed run must see the same batches in the same order: same batch size over the same rows.</summary>
    /// <exception cref="InvalidOperationException">The run differs from the one the checkpoint came from.</exception>
    public static void CheckResumePosition(ClipTrainingState state, int batchSize, long rowCount)
    {
        if (state.ResumedFrom is not { } saved) return;
        if (saved.BatchSize != batchSize || saved.RowCount != rowCount)
            throw new InvalidOperationException(
                $"The checkpoint was written with batch size {saved.BatchSize} over {saved.RowCount} rows; this run has batch size {batchSize} over {rowCount} rows. Resume with the same data and batch size.");
        if (state.ResumedDataFingerprint is { } recorded && state.DataFingerprint is { } current && recorded != current)
            throw new InvalidOperationException(
                $"The data differ from the run the checkpoint came from: the same {rowCount} rows in number, but other texts or images (data fingerprint {current[..12]}…, checkpoint {recorded[..Math.Min(12, recorded.Length)]}…). Resume with the same data.");
    }

    // Header keys of the options a resume checks: written by Save and read by the checks below, so a typo cannot silently
    // turn a check off (a missing key reads as "not recorded").
    private const string SeedKey = "seed";
    private const string EpochsKey = "epochs";
    private const string LockImageKey = "lock_image";
    private const string LockTextKey = "lock_text";
    private const string LearningRateKey = "learning_rate";
    private const string WarmupStepsKey = "warmup_steps";
    private const string WeightDecayKey = "weight_decay";
    private const string CropKey = "random_resized_crop_min_scale";
    private const string DataFingerprintKey = "data_fingerprint";
    private const string OneCaptionPerImageKey = "one_caption_per_image";
    private const string ImageVariantProbabilityKey = "image_variant_probability";

    /// <summary>
    /// A resumed run continues the run its checkpoint came from, so the options that shape it must be that run's: the
    /// architecture (when <see cref="ClipTrainerOptions.Config"/> is given), the learning-rate schedule (peak rate, warm-up,
    /// epochs), the seed (the data order), the weight decay, the frozen towers and the crop. Checked before anything is built.
    /// </summary>
    /// <exception cref="ClipResumeOptionsException">An option differs (each one is named with both values).</exception>
    public static void CheckResumeOptions(Loaded checkpoint, ClipTrainerOptions options)
    {
        var header = checkpoint.Header;
        var differences = new List<ClipResumeOptionsException.Difference>();
        void Compare<T>(string option, T? recorded, T current) where T : struct
        {
            if (recorded is { } r && !EqualityComparer<T>.Default.Equals(r, current))
                differences.Add(new(option, Format(current), Format(r)));
        }
        static string Format(object value) => Convert.ToString(value, CultureInfo.InvariantCulture)!;
        Compare(nameof(options.LearningRate), header.OptionalDouble(LearningRateKey), options.LearningRate);
        Compare(nameof(options.WarmupSteps), header.OptionalDouble(WarmupStepsKey) is { } w ? (int)w : (int?)null, options.WarmupSteps);
        Compare(nameof(options.Epochs), header.OptionalDouble(EpochsKey) is { } e ? (int)e : (int?)null, options.Epochs);
        Compare(nameof(options.Seed), header.OptionalDouble(SeedKey) is { } s ? (int)s : (int?)null, options.Seed);
        Compare(nameof(options.WeightDecay), header.OptionalDouble(WeightDecayKey), options.WeightDecay);
        Compare(nameof(options.RandomResizedCropMinScale), header.OptionalDouble(CropKey), options.RandomResizedCropMinScale);
        Compare(nameof(options.LockImageTower), header.OptionalBoolean(LockImageKey), options.LockImageTower);
        Compare(nameof(options.LockTextTower), header.OptionalBoolean(LockTextKey), options.LockTextTower);
        Compare(nameof(options.OneCaptionPerImage), header.OptionalBoolean(OneCaptionPerImageKey), options.OneCaptionPerImage);
        Compare(nameof(options.ImageVariantProbability),
            // Checkpoints from before image variants had none.
            header.OptionalDouble(ImageVariantProbabilityKey) ?? 0, options.ImageVariantProbability);
        if (options.Config is { } config)
        {
            var recorded = header.Config;
            // The architecture as ClipModelFactory builds it from the config, then rebuilt on the frozen encoders' features
            // (a locked run records those).
            var expected = ClipModelFactory.ScratchConfig(options);
            if (recorded.TextFeatureSize is int textFeatures)
                expected = expected.WithTextFeatures(textFeatures, recorded.ContextLength, recorded.VocabSize);
            if (recorded.ImageFeatureSize is int features)
                expected = expected.WithImageFeatures(features, recorded.ImageResolution);
            if (ClipConfigJson.Serialize(expected, indented: false) != ClipConfigJson.Serialize(recorded, indented: false))
                differences.Add(new(nameof(options.Config), ClipConfigJson.Serialize(config, indented: false), ClipConfigJson.Serialize(recorded, indented: false)));
        }
        if (differences.Count > 0)
            throw new ClipResumeOptionsException(checkpoint.Path, differences);
    }

    // The model's state dict plus a CLIP's sigmoid bias (named logit_bias; a SigLIP's is in its state dict already).
    private static IEnumerable<(string Name, Tensor Tensor)> ModelTensors(ClipTrainingState state)
    {
        foreach (var (name, value) in state.Model.state_dict()) yield return (name, value);
        if (state.Bias is not null && state.Model.LogitBias is null) yield return ("logit_bias", state.Bias);
    }

    /// <summary>A checkpoint read whole: its header and tensors (disposed with it).</summary>
    internal sealed record Loaded(string Path, ClipPackageHeader Header, Dictionary<string, Tensor> Tensors) : IDisposable
    {
        public void Dispose()
        {
            foreach (var t in Tensors.Values) t.Dispose();
        }
    }
}
