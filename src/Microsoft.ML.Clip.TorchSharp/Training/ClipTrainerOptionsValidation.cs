namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The checks of <see cref="ClipTrainerOptions"/> that need no file or device: ranges of the numbers and the
/// combinations that contradict each other. Run first, so a bad option fails before anything is loaded.
/// </summary>
internal static class ClipTrainerOptionsValidation
{
    /// <exception cref="ArgumentOutOfRangeException">A number is out of its range (paramName: the option).</exception>
    /// <exception cref="ArgumentException">Two options contradict each other (paramName: one of them).</exception>
    public static void Validate(ClipTrainerOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        Check(o.Epochs > 0, nameof(o.Epochs), o.Epochs, "must be positive");
        Check(o.BatchSize >= 2, nameof(o.BatchSize), o.BatchSize, "must be at least 2 (contrastive pairs)");
        Check(o.ChunkSize >= 0, nameof(o.ChunkSize), o.ChunkSize, "must be 0 (no caching) or positive");
        Check(o.LearningRate > 0 && double.IsFinite(o.LearningRate), nameof(o.LearningRate), o.LearningRate, "must be positive");
        Check(o.WarmupSteps >= 0, nameof(o.WarmupSteps), o.WarmupSteps, "must not be negative");
        Check(o.WeightDecay >= 0, nameof(o.WeightDecay), o.WeightDecay, "must not be negative");
        Check(o.MaxGradientNorm >= 0, nameof(o.MaxGradientNorm), o.MaxGradientNorm, "must not be negative (0 disables clipping)");
        Check(o.RandomResizedCropMinScale is >= 0 and <= 1, nameof(o.RandomResizedCropMinScale), o.RandomResizedCropMinScale, "must be in [0, 1] (0 disables the crop)");
        Check(o.ImageVariantProbability is >= 0 and <= 1, nameof(o.ImageVariantProbability), o.ImageVariantProbability, "must be in [0, 1] (0 disables the variants)");
        Check(o.ShuffleBufferSize > 0, nameof(o.ShuffleBufferSize), o.ShuffleBufferSize, "must be positive");
        Check(o.CheckpointEverySteps >= 0, nameof(o.CheckpointEverySteps), o.CheckpointEverySteps, "must not be negative");
        if (o.LockImageTower && o.LockTextTower)
            throw new ArgumentException("LockImageTower and LockTextTower are both set: nothing but the temperature would train.", nameof(o.LockTextTower));
        if (o.ImageEncoderResolution is int side && (o.ImageEncoder is null || side < 32))
            throw new ArgumentOutOfRangeException(nameof(o.ImageEncoderResolution), side, "ClipTrainerOptions.ImageEncoderResolution needs an ImageEncoder and a side of at least 32.");
        if (o.ImageEncoder is not null && o.LockImageTower)
            throw new ArgumentException("ImageEncoder already freezes the image encoder; LockImageTower would also freeze the projection trained on top of it.", nameof(o.LockImageTower));
        if (o.TextEncoder is not null && o.LockTextTower)
            throw new ArgumentException("TextEncoder already freezes the text encoder; LockTextTower would also freeze the head trained on top of it.", nameof(o.LockTextTower));
        if (o.EmbeddingSize is int size && size <= 0)
            throw new ArgumentOutOfRangeException(nameof(o.EmbeddingSize), size, "ClipTrainerOptions.EmbeddingSize must be positive (or null for the architecture's).");
        if (o.OrthogonalFeatureProjections && o.ImageEncoder is null && o.TextEncoder is null)
            throw new ArgumentException("OrthogonalFeatureProjections initialises the projections on frozen features: it needs ImageEncoder or TextEncoder.", nameof(o.OrthogonalFeatureProjections));
        if (o.ImageEncoder is null && o.ImageVariantProbability > 0)
            throw new ArgumentException("ImageVariantProbability swaps the cached features of a frozen image encoder for its variants' features: it needs ImageEncoder.", nameof(o.ImageVariantProbability));
        if (o.ImageEncoder is not null && o.RandomResizedCropMinScale > 0)
            throw new ArgumentException("RandomResizedCropMinScale needs the image tower to see new pixels each epoch; with ImageEncoder each image's features are computed once and cached.", nameof(o.RandomResizedCropMinScale));
    }

    private static void Check(bool ok, string name, object value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, $"ClipTrainerOptions.{name} {rule}.");
    }
}
