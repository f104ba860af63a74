namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Where a training run stands, reported after every step.</summary>
/// <param name="Step">Steps done (1-based count).</param>
/// <param name="TotalSteps">Steps of the whole run.</param>
/// <param name="Epoch">The 0-based epoch of the step.</param>
/// <param name="Loss">The step's loss.</param>
/// <param name="Temperature">exp(logit scale) after the step (CLIP's inverse temperature, at most 100).</param>
/// <param name="LearningRate">The learning rate the step used.</param>
/// <param name="SamplesPerSecond">Pairs per second since this run (or resume) started.</param>
/// <param name="EstimatedRemaining">Time left at that speed.</param>
public sealed record ClipTrainingProgress(long Step, long TotalSteps, int Epoch, float Loss, float Temperature, double LearningRate,
    double SamplesPerSecond, TimeSpan EstimatedRemaining)
{
    /// <summary>One line: step, epoch, loss, temperature, learning rate, samples/s and ETA (invariant culture).</summary>
    public override string ToString() => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"step {Step}/{TotalSteps} epoch {Epoch + 1} loss {Loss:F4} temperature {Temperature:F2} lr {LearningRate:E2} {SamplesPerSecond:F1} samples/s ETA {EstimatedRemaining:hh\\:mm\\:ss}");
}
