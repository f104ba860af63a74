using System.Globalization;
using Google.Protobuf;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Models;
using Onnx;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Scratch tool for the static int8 pass: <c>graph-lab qdq FP32.onnx OUT.onnx P CALIB.txt HELDOUT.txt</c> (lists of
/// image paths; P: 1 min–max, 0 least squared error, else that percentile) quantizes with the ResNet-18's
/// preprocessing, prints the optimised graph's ops and the output cosine to fp32 on the held-out images.
/// </summary>
internal static class Int8ConvLab
{
    public static void Run(string[] args)
    {
        var (fp32Path, outPath) = (args[0], args[1]);
        var percentile = double.Parse(args[2], CultureInfo.InvariantCulture);
        var calibrationPaths = File.ReadAllLines(args[3]).Where(l => l.Length > 0).ToArray();
        var heldOut = File.ReadAllLines(args[4]).Where(l => l.Length > 0).ToArray();
        using var encoder = FrozenImageEncoder.ResNet18();
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(fp32Path));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var n = StaticInt8Quantization.Apply(model, new Int8Calibration(calibrationPaths, encoder.Preprocess)
        {
            Method = percentile >= 1 ? Int8RangeMethod.MinMax : percentile <= 0 ? Int8RangeMethod.MeanSquaredError : Int8RangeMethod.Percentile,
            Percentile = percentile,
        });
        Console.WriteLine($"quantized {n} convolutions in {clock.Elapsed.TotalSeconds:F1} s on {calibrationPaths.Length} images (percentile {percentile})");
        CacheFiles.Write(outPath, model.ToByteArray());
        Console.WriteLine(GraphLab.Format(GraphLab.OptimizedOps(outPath, 2)));
        using var fp32 = FrozenImageEncoder.FromOnnx(fp32Path, encoder.Preprocess);
        using var int8 = FrozenImageEncoder.FromOnnx(outPath, encoder.Preprocess);
        var cos = Int8Rows.Cosines(fp32.FeaturizeFiles(heldOut), int8.FeaturizeFiles(heldOut));
        Console.WriteLine($"held-out cosine over {heldOut.Length} images: min {cos.Min():F4} mean {cos.Average():F4} p05 {cos.Order().ElementAt(cos.Length / 20):F4}");
        Console.WriteLine($"  below 0.99: {cos.Count(v => v < 0.99)} of {cos.Length}");
        foreach (var group in Enumerable.Range(0, heldOut.Length).GroupBy(i => heldOut[i].Contains("/mnist/", StringComparison.Ordinal) ? "mnist" : heldOut[i].Contains("fashion", StringComparison.Ordinal) ? "fashion" : "openmoji"))
            Console.WriteLine($"  {group.Key}: min {group.Min(i => cos[i]):F4} mean {group.Average(i => cos[i]):F4}");
    }
}
