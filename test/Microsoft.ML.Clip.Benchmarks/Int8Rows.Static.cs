using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Onnx;
using static Microsoft.ML.Clip.Benchmarks.GraphBench;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Static (calibrated) int8 rows: convolutions as <c>QLinearConv</c> through <see cref="StaticInt8Quantization"/> — what
/// <c>clip convert --int8 --int8-calibration</c> does. Calibration: the first <see cref="CalibrationPerSet"/> train images
/// of each evaluation set; every quality figure is on the sets' test images (held out).
/// </summary>
internal static partial class Int8Rows
{
    private const int CalibrationPerSet = 16;

    /// <summary>The NuGet ResNet-18: speed at batch 8 and 32, feature cosine per set, Fashion-MNIST linear probe, fp32 vs int8.</summary>
    internal static IEnumerable<Line> StaticResNet18(Context c)
    {
        var calibration = CalibrationImages(c);
        if (calibration.Count == 0)
            return [new Line("ResNet-18 static int8", "n/a", "", "", $"no train.tsv under {c.EvalFolder} (the main job's data: build/run.sh prepares it)")];
        using var encoder = ResNet18Fp32(c, out var fp32Path);
        var int8Path = Path.Combine(Path.GetDirectoryName(fp32Path)!, "int8-static.onnx");
        var model = ModelProto.Parser.ParseFrom(encoder.GraphBytes);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var convolutions = StaticInt8Quantization.Apply(model, new Int8Calibration(calibration, encoder.Preprocess));
        c.Log($"  quantized {convolutions} convolutions in {clock.Elapsed.TotalSeconds:F1} s ({calibration.Count} calibration images)");
        CacheFiles.Write(int8Path, model.ToByteArray());
        var ops = GraphLab.OptimizedOps(int8Path, 2);
        var fused = $"ORT's optimised graph: {ops.GetValueOrDefault("com.microsoft.QLinearConv")} QLinearConv, {ops.GetValueOrDefault("com.microsoft.QLinearAdd")} QLinearAdd";

        var test = TestSets(c);
        var timingImages = test.SelectMany(s => s.Paths.Take(8)).Take(32).ToArray();
        var pixels = Preprocess(timingImages, encoder.Preprocess);
        var name = $"ResNet-18 (NuGet), {convolutions} convolutions static int8 ({fused})";
        var lines = new List<Line>();
        foreach (var batch in new[] { 8, 32 }.Where(b => b <= timingImages.Length)) // the quick data has fewer sets
            lines.AddRange(ImageTowers(c, name, fp32Path, int8Path, pixels.AsSpan(0, batch * 3 * 224 * 224).ToArray(), batch, 224, "test images"));

        using var int8Encoder = FrozenImageEncoder.FromOnnx(int8Path, encoder.Preprocess);
        var all = new List<double>();
        foreach (var (set, paths) in test)
        {
            var cosines = Cosines(encoder.FeaturizeFiles(paths), int8Encoder.FeaturizeFiles(paths));
            all.AddRange(cosines);
            lines.Add(new Line($"ResNet-18 static int8: feature cosine to fp32 on {set} test images", Describe(cosines), "", "", $"{paths.Count} images"));
        }
        lines.Add(new Line("ResNet-18 static int8: feature cosine to fp32, all test images", Describe([.. all]), "", "",
            $"{all.Count} images; calibrated on {calibration.Count} train images ({CalibrationPerSet} per set)"));

        var fashion = Path.Combine(c.EvalFolder, "fashion-mnist");
        if (File.Exists(Path.Combine(fashion, "test.tsv")))
        {
            var train = LabeledTsv.Read(Path.Combine(fashion, "train.tsv"));
            var probeTest = LabeledTsv.Read(Path.Combine(fashion, "test.tsv"));
            var fp32Accuracy = Probe(train, probeTest, encoder.FeaturizeFiles(train.Paths), encoder.FeaturizeFiles(probeTest.Paths));
            var int8Accuracy = Probe(train, probeTest, int8Encoder.FeaturizeFiles(train.Paths), int8Encoder.FeaturizeFiles(probeTest.Paths));
            lines.Add(new Line("ResNet-18 (NuGet) linear probe on Fashion-MNIST, test top-1", Percent(int8Accuracy) + " (static int8)", Percent(fp32Accuracy) + " (fp32)",
                Invariant($"{100 * (int8Accuracy - fp32Accuracy):+0.0;-0.0} points"), $"{train.Paths.Count} train / {probeTest.Paths.Count} test images; probe trained on each side's own features"));
        }
        return lines;
    }

    /// <summary>
    /// A trained model whose image tower is convolutional (<c>--trained</c>: the main job's default model, ResNet-18 + head):
    /// its <c>model.clipmodel</c> converted with <c>--int8 --int8-calibration</c>, speed at batch 32 and zero-shot top-1 per set.
    /// </summary>
    internal static IEnumerable<Line> StaticTrained(Context c)
    {
        if (c.TrainedFolder is not { } folder)
            return [new Line("trained model static int8", "n/a", "", "", "no --trained MODEL_DIR given (the main job's model/)")];
        var checkpoint = Path.Combine(folder, "model.clipmodel");
        var calibration = CalibrationImages(c);
        if (!File.Exists(checkpoint) || calibration.Count == 0)
            return [new Line("trained model static int8", "n/a", "", "", $"needs {checkpoint} and train.tsv files under {c.EvalFolder}")];
        var int8 = Path.Combine(c.CacheFolder, Path.GetFileName(folder.TrimEnd('/')) + "-int8-static");
        c.Log($"  converting {checkpoint} into {int8} (--int8, {calibration.Count} calibration images)");
        ClipModelConverter.ConvertToOnnx(checkpoint, int8, new ClipConversionOptions { WeightsAsInt8 = true, Int8CalibrationImages = calibration });
        var info = ClipModelInfo.Load(Path.Combine(folder, ClipModelInfo.FileName));
        var name = $"trained {info.VisionKind} ({Path.GetFileName(folder.TrimEnd('/'))}, {info.ImageResolution} px), static int8";
        var lines = ImageTowers(c, name, Path.Combine(folder, "image.onnx"), Path.Combine(int8, "image.onnx"),
            RandomPixels(32, info.ImageResolution, 9).Select(v => (v + 2) * 63.75f).ToArray(), 32, info.ImageResolution, "random pixels").ToList();
        lines.AddRange(ZeroShot(c, name, folder, int8, "static int8"));
        return lines;
    }

    // The first CalibrationPerSet train images of every evaluation set.
    private static List<string> CalibrationImages(Context c)
        => Directory.Exists(c.EvalFolder)
            ? [.. Directory.GetDirectories(c.EvalFolder).Order(StringComparer.Ordinal).Select(s => Path.Combine(s, "train.tsv")).Where(File.Exists)
                .SelectMany(t => LabeledTsv.Read(t).Paths.Take(CalibrationPerSet))]
            : [];

    private static List<(string Set, IReadOnlyList<string> Paths)> TestSets(Context c)
        => [.. Directory.GetDirectories(c.EvalFolder).Order(StringComparer.Ordinal).Where(s => File.Exists(Path.Combine(s, "test.tsv")))
            .Select(s => (Path.GetFileName(s), LabeledTsv.Read(Path.Combine(s, "test.tsv")).Paths))];

    private static float[] Preprocess(IReadOnlyList<string> paths, ClipPreprocessSettings settings)
    {
        var preprocessor = new ClipImagePreprocessor(settings);
        var size = 3 * settings.Resolution * settings.Resolution;
        var pixels = new float[paths.Count * size];
        for (int i = 0; i < paths.Count; i++)
            preprocessor.PreprocessFile(paths[i], pixels.AsSpan(i * size, size));
        return pixels;
    }
}
