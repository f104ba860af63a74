using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Times full ClipTrainer steps (forward, InfoNCE, backward, clipping, AdamW, clamp) of the tiny preset at a given
/// batch on the CPU — the TorchSharp side of <c>build/bench-train.sh</c>, which runs the same step in PyTorch.
/// Usage: <c>train-step [batch=256] [steps=3] [threads=2]</c>; prints <c>torchsharp_step_seconds=…</c>.
/// </summary>
internal static class TrainingStepTiming
{
    public static void Run(string[] args)
    {
        var batch = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 256;
        var steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3;
        var threads = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 2;
        set_num_threads(threads);
        var options = new ClipTrainerOptions { Preset = "tiny", BatchSize = batch, Device = "cpu", WarmupSteps = 0 };
        using var session = ClipTrainingSession.Create(options, null);
        var config = session.Model.Config;
        var generator = new Generator(0);
        using var images = randn([batch, 3, config.ImageResolution, config.ImageResolution], generator: generator);
        // Ids below the end token, an end token (the row's largest id) at a random position, zeros after it.
        using var ids = randint(1, 49406, [batch, config.ContextLength], generator: generator, dtype: ScalarType.Int64);
        var ends = randint(5, config.ContextLength, [batch], generator: generator).data<long>().ToArray();
        for (var r = 0; r < batch; r++)
        {
            ids[r, ends[r]] = 49407L;
            if (ends[r] + 1 < config.ContextLength) ids[r, TensorIndex.Slice(ends[r] + 1)] = 0L;
        }
        using var data = new ClipTrainingBatch(images.alias(), ids.alias());
        session.TrainStep(data, 1e-4); // warm-up (allocations, kernels)
        var times = new List<double>();
        for (var s = 0; s < steps; s++)
        {
            var clock = Stopwatch.StartNew();
            session.TrainStep(data, 1e-4);
            times.Add(clock.Elapsed.TotalSeconds);
        }
        var median = times.Order().ElementAt(times.Count / 2);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"torchsharp_step_seconds={median:F3} samples_per_second={batch / median:F1} threads={threads} batch={batch} steps=[{string.Join(", ", times.Select(t => t.ToString("F3", CultureInfo.InvariantCulture)))}]"));
    }
}
