namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Seams for tests (crash simulation, cache accounting, tokenization), kept off the public <see cref="ClipTrainerOptions"/>:
/// only the test assemblies (InternalsVisibleTo) can hand them to a <see cref="ClipTrainerEstimator"/> or a
/// <see cref="ClipTrainingSession"/>. Every member is optional; <see cref="None"/> has none set.
/// </summary>
internal sealed class ClipTrainerTestHooks
{
    /// <summary>No hooks: what every public entry point uses.</summary>
    public static ClipTrainerTestHooks None { get; } = new();

    /// <summary>Tokenizes a batch of texts to [N, contextLength] ids; null: <see cref="ClipTrainerTransformer.DefaultTokenize"/>.</summary>
    public Func<IReadOnlyList<string>, int, long[]>? Tokenize { get; init; }

    /// <summary>Called after each tensor written to a checkpoint with its index (tests throw from it to simulate a crash mid-save).</summary>
    public Action<int>? CheckpointTensorWritten { get; init; }

    /// <summary>
    /// Told after the encoding pass of a locked-image run (epoch −1: rows found in the cache, images encoded) and after
    /// each epoch (look-ups answered by the cache, look-ups that had to encode).
    /// </summary>
    public Action<int, long, long>? FeatureCacheObserver { get; init; }

    /// <summary>
    /// The same for the text features of a locked-text run: after the encoding pass (epoch −1: rows whose caption was in
    /// the cache or repeated, distinct captions encoded) and after each epoch (look-ups found, look-ups that encoded).
    /// </summary>
    public Action<int, long, long>? TextFeatureCacheObserver { get; init; }
}
