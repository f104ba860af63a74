using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// Measures the range of a float graph's intermediate tensors over a calibration set: the graph is run by ONNX Runtime
/// with those tensors added as outputs. For a method other than min–max a second pass builds a histogram of each tensor
/// over its first-pass range and reads the range from it.
/// </summary>
internal static class ActivationRanges
{
    // Bins of the second pass: over a post-ReLU range of ~10 this resolves ~0.005, finer than the int8 step it sets.
    private const int Bins = 4096;

    /// <summary>The range [min, max] of each of <paramref name="tensors"/> (float tensors of <paramref name="model"/>).</summary>
    public static Dictionary<string, (float Min, float Max)> Measure(ModelProto model, IReadOnlyCollection<string> tensors, Int8Calibration calibration)
    {
        var probe = model.Clone();
        var outputs = probe.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in tensors.Where(t => !outputs.Contains(t)))
            probe.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } } });
        var inputs = probe.Graph.Input.Select(i => i.Name).Except(probe.Graph.Initializer.Select(t => t.Name)).ToList();
        if (inputs.Count != 1)
            throw new NotSupportedException($"Int8 calibration runs image graphs with one input; this graph has {inputs.Count} ({string.Join(", ", inputs)}).");
        var input = inputs[0];
        var names = tensors.ToArray();
        var r = calibration.Preprocess.Resolution;
        // Warnings only would repeat what the caller already knows (e.g. initializers the folding left unused).
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(probe.ToByteArray(), options);
        using var runOptions = new RunOptions();

        // Every batch's values of every tensor, handed to `visit` one tensor at a time with the batch's first image.
        void Pass(Action<int, ReadOnlySpan<float>, int, int> visit)
        {
            var start = 0;
            foreach (var (pixels, n) in calibration.Batches())
            {
                using var value = OrtValue.CreateTensorValueFromMemory(pixels, [n, 3, r, r]);
                using var results = session.Run(runOptions, [input], [value], names);
                for (int t = 0; t < names.Length; t++)
                    visit(t, results[t].GetTensorDataAsSpan<float>(), start, n);
                start += n;
            }
        }

        // Tensor t held a non-finite value on the batch of images [start, start + n): each is run alone to name the one(s)
        // that make it (a tensor's layout need not put the batch first, so its index does not tell).
        InvalidDataException NotFinite(int t, float batchValue, int start, int n)
        {
            var culprits = new List<(string Path, float Value)>();
            var pixels = new float[3 * r * r];
            for (int i = start; i < start + n; i++)
            {
                calibration.PreprocessImage(i, pixels);
                using var value = OrtValue.CreateTensorValueFromMemory(pixels, [1, 3, r, r]);
                using var results = session.Run(runOptions, [input], [value], [names[t]]);
                foreach (var v in results[0].GetTensorDataAsSpan<float>())
                {
                    if (float.IsFinite(v)) continue;
                    culprits.Add((calibration.ImagePaths[i], v));
                    break;
                }
            }
            if (culprits.Count == 0) // only in the batch: name the batch's images
                return new InvalidDataException($"Tensor '{names[t]}' holds {batchValue} on the calibration images {string.Join(", ", calibration.ImagePaths.Skip(start).Take(n).Select(p => $"'{p}'"))} (run together; each alone gives finite values): the float graph cannot be calibrated.");
            var (path, v0) = culprits[0];
            var others = culprits.Count > 1 ? $" ({culprits.Count - 1} more in its batch of {n}: {string.Join(", ", culprits.Skip(1).Select(c => $"'{c.Path}'"))})" : "";
            return new InvalidDataException($"Tensor '{names[t]}' holds {v0} on calibration image '{path}'{others}: the float graph cannot be calibrated on it.");
        }

        var min = Enumerable.Repeat(float.PositiveInfinity, names.Length).ToArray();
        var max = Enumerable.Repeat(float.NegativeInfinity, names.Length).ToArray();
        var counts = new long[names.Length];
        Pass((t, values, start, n) =>
        {
            foreach (var v in values)
            {
                if (!float.IsFinite(v))
                    throw NotFinite(t, v, start, n);
                min[t] = MathF.Min(min[t], v);
                max[t] = MathF.Max(max[t], v);
            }
            counts[t] += values.Length;
        });
        if (calibration.Method != Int8RangeMethod.MinMax)
        {
            var histograms = names.Select(_ => new long[Bins]).ToArray();
            Pass((t, values, _, _) =>
            {
                var width = (max[t] - min[t]) / Bins;
                if (width <= 0)
                    return;
                var histogram = histograms[t];
                foreach (var v in values)
                    histogram[Math.Min(Bins - 1, (int)((v - min[t]) / width))]++;
            });
            for (int t = 0; t < names.Length; t++)
            {
                var width = (max[t] - min[t]) / Bins;
                if (width <= 0)
                    continue;
                (min[t], max[t]) = calibration.Method == Int8RangeMethod.Percentile
                    ? PercentileRange(histograms[t], min[t], width, (long)Math.Floor((1 - calibration.Percentile) * counts[t]))
                    : LeastErrorRange(histograms[t], min[t], width);
            }
        }
        return Enumerable.Range(0, names.Length).ToDictionary(t => names[t], t => (min[t], max[t]), StringComparer.Ordinal);
    }

    private static (float Min, float Max) PercentileRange(long[] histogram, float min, float width, long tail)
    {
        var (low, high) = (Quantile(histogram, tail, fromTop: false), Quantile(histogram, tail, fromTop: true));
        return (min + low * width, min + (high + 1) * width);
    }

    // The min–max range (widened to hold 0) shrunk towards 0 by a factor f in (0, 1]: the f whose quantization — step
    // (hi − lo) / 255 inside, clipping outside — has the least expected squared error over the histogram.
    private static (float Min, float Max) LeastErrorRange(long[] histogram, float min, float width)
    {
        var (lo0, hi0) = (Math.Min(min, 0f), Math.Max(min + histogram.Length * width, 0f));
        double bestError = double.MaxValue, bestFactor = 1;
        for (int k = 0; k < 100; k++)
        {
            var f = 1 - k * 0.008;
            double lo = lo0 * f, hi = hi0 * f, step = (hi - lo) / 255, error = 0;
            for (int b = 0; b < histogram.Length; b++)
            {
                if (histogram[b] == 0)
                    continue;
                var v = min + (b + 0.5) * width;
                var clipped = Math.Clamp(v, lo, hi);
                error += histogram[b] * (v == clipped ? step * step / 12 : (v - clipped) * (v - clipped));
            }
            if (error < bestError)
                (bestError, bestFactor) = (error, f);
        }
        return ((float)(lo0 * bestFactor), (float)(hi0 * bestFactor));
    }

    // The bin where the values beyond the `tail` outermost ones (from below or from above) begin.
    private static int Quantile(long[] histogram, long tail, bool fromTop)
    {
        long seen = 0;
        for (int k = 0; k < histogram.Length; k++)
        {
            var bin = fromTop ? histogram.Length - 1 - k : k;
            seen += histogram[bin];
            if (seen > tail)
                return bin;
        }
        return fromTop ? histogram.Length - 1 : 0;
    }
}
