using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The step loop of a run: epochs of batches from an <see cref="IClipBatchSource"/>, each a gradient step (with
/// gradient caching), clipping, AdamW, the temperature clamp, the NaN guard and a progress report; checkpoints at the
/// configured cadence, at the end and on cancellation (through <see cref="SaveCheckpoint"/>, so the loop knows no file format).
/// </summary>
internal sealed class ClipTrainingLoop(ClipTrainerOptions options, ClipTrainingState state, Device device, Action<string>? log)
{
    /// <summary>Writes a checkpoint of the run with (batch size, row count); null when no checkpoint folder is set.</summary>
    public Action<int, long>? SaveCheckpoint { get; init; }

    /// <summary>Called after each completed epoch with its 0-based number.</summary>
    public Action<int>? EpochCompleted { get; set; }

    /// <summary>Trains from <see cref="ClipTrainingState.Step"/> to the end of the configured epochs.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (a checkpoint is written first when a folder is set).</exception>
    /// <exception cref="ClipTrainingDivergedException">The loss became NaN or infinite.</exception>
    public void Run(IClipBatchSource source)
    {
        var batchSize = options.BatchSize;
        if (source.RowCount < 2)
            throw new ArgumentException($"Contrastive training needs at least 2 pairs; the data has {source.RowCount}.", "input");
        if (source.RowCount < batchSize)
        {
            log?.Invoke($"The data has {source.RowCount} pairs, fewer than the batch size {batchSize}; using batches of {source.RowCount}.");
            batchSize = (int)source.RowCount;
        }
        var stepsPerEpoch = source.RowCount / batchSize;
        var totalSteps = stepsPerEpoch * options.Epochs;
        // One more pass over the data (every text, and the bytes of a byte column): only a checkpoint records it and only
        // a resume compares it.
        if (options.CheckpointDirectory is not null || state.ResumedFrom is not null)
            state.DataFingerprint = source.DataFingerprint;
        ClipTrainingCheckpoint.CheckResumePosition(state, batchSize, source.RowCount);
        var ct = options.CancellationToken;
        var clock = Stopwatch.StartNew();
        var firstStep = state.Step;
        log?.Invoke($"Training {totalSteps} steps ({options.Epochs} epochs × {stepsPerEpoch}) of batch {batchSize} on {device.type}" +
            (state.Step > 0 ? $", resuming after step {state.Step}." : "."));

        try
        {
            for (var epoch = (int)(state.Step / stepsPerEpoch); epoch < options.Epochs; epoch++)
            {
                var skip = state.Step - epoch * stepsPerEpoch;
                foreach (var batch in BackgroundPrefetch.Enumerate(source.ReadEpoch(epoch, batchSize, skip, ct)))
                {
                    using (batch)
                    {
                        ct.ThrowIfCancellationRequested();
                        var learningRate = CosineWarmupSchedule.LearningRate(options.LearningRate, state.Step, options.WarmupSteps, totalSteps);
                        var loss = TrainStep(batch, learningRate);
                        state.Step++;
                        Report(epoch, loss, learningRate, totalSteps, batchSize, clock, firstStep);
                        if (options.CheckpointEverySteps > 0 && state.Step % options.CheckpointEverySteps == 0)
                            SaveCheckpoint?.Invoke(batchSize, source.RowCount);
                    }
                }
                EpochCompleted?.Invoke(epoch);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && SaveCheckpoint is not null)
        {
            // Cancellation surfaces either here between steps or from the prefetch thread's reader; either way
            // the last step is complete, so the checkpoint holds a consistent position to resume from.
            SaveCheckpoint(batchSize, source.RowCount);
            throw;
        }
        SaveCheckpoint?.Invoke(batchSize, source.RowCount);
    }

    /// <summary>One optimiser step on <paramref name="batch"/>; returns the loss. A non-finite loss is not applied.</summary>
    /// <exception cref="ClipTrainingDivergedException">The loss is NaN or infinite.</exception>
    public float TrainStep(ClipTrainingBatch batch, double learningRate)
    {
        using var scope = NewDisposeScope();
        var optimizer = state.Optimizer;
        optimizer.ZeroGrad();
        var images = batch.Images.to(device);
        var tokens = batch.Tokens.to(device);
        var loss = GradientCache.Backward(state.Model, images, tokens, options.Loss, state.Bias, options.ChunkSize,
            trainImage: !options.LockImageTower, trainText: !options.LockTextTower);
        if (!float.IsFinite(loss))
            throw new ClipTrainingDivergedException(state.Step, loss, state.LastCheckpoint);
        if (options.MaxGradientNorm > 0)
            nn.utils.clip_grad_norm_(optimizer.Parameters, options.MaxGradientNorm);
        optimizer.Step(learningRate);
        ContrastiveLoss.ClampLogitScale(state.Model.LogitScale);
        return loss;
    }

    private void Report(int epoch, float loss, double learningRate, long totalSteps, int batchSize, Stopwatch clock, long firstStep)
    {
        var step = state.Step;
        var seconds = clock.Elapsed.TotalSeconds;
        var done = step - firstStep;
        var samplesPerSecond = seconds > 0 ? done * batchSize / seconds : 0;
        var eta = done > 0 ? TimeSpan.FromSeconds(seconds / done * (totalSteps - step)) : TimeSpan.Zero;
        var temperature = (float)Math.Exp(state.Model.LogitScale.item<float>());
        var progress = new ClipTrainingProgress(step, totalSteps, epoch, loss, temperature, learningRate, samplesPerSecond, eta);
        options.Progress?.Report(progress);
        if (log is not null && (step % Math.Max(1, options.LogEverySteps) == 0 || step == totalSteps))
            log(progress.ToString());
    }
}
