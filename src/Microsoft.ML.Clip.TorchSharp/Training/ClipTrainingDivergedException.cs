namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>The loss became NaN or infinite: training stopped before applying that step.</summary>
public sealed class ClipTrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ClipTrainingDivergedException(long step, float loss, string? lastCheckpoint)
        : base($"The training loss is {loss} at step {step + 1}; training stopped without applying that step. " +
               (lastCheckpoint is null
                   ? "No checkpoint was written (set CheckpointDirectory to keep one)."
                   : $"The last good checkpoint is '{lastCheckpoint}'.") +
               " Lower the learning rate, enable gradient clipping or check the data for broken images.")
    {
        Step = step;
        Loss = loss;
        LastCheckpoint = lastCheckpoint;
    }

    /// <summary>Steps completed before the bad one.</summary>
    public long Step { get; }

    /// <summary>The non-finite loss.</summary>
    public float Loss { get; }

    /// <summary>The last checkpoint written, still intact; null if none.</summary>
    public string? LastCheckpoint { get; }
}
