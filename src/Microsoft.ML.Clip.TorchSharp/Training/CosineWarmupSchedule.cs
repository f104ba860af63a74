namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Learning rate with a linear warm-up then a cosine decay to zero, as open_clip's <c>cosine_lr</c>.</summary>
internal static class CosineWarmupSchedule
{
    /// <summary>The learning rate of the 0-based <paramref name="step"/>.</summary>
    /// <param name="baseLearningRate">The peak rate, reached at the end of the warm-up.</param>
    /// <param name="step">The step about to be taken (0-based).</param>
    /// <param name="warmupSteps">Warm-up length: step s &lt; warm-up uses base · (s + 1) / warm-up.</param>
    /// <param name="totalSteps">Steps of the whole run; the cosine reaches zero there.</param>
    public static double LearningRate(double baseLearningRate, long step, long warmupSteps, long totalSteps)
    {
        if (step < warmupSteps) return baseLearningRate * (step + 1) / warmupSteps;
        var decaySteps = totalSteps - warmupSteps;
        if (decaySteps <= 0) return baseLearningRate;
        var progress = Math.Min(1.0, (double)(step - warmupSteps) / decaySteps);
        return 0.5 * (1 + Math.Cos(Math.PI * progress)) * baseLearningRate;
    }
}
