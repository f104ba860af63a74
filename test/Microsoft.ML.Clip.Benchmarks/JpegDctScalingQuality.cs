using System.Globalization;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// What <see cref="ClipImageDecodeOptions.JpegDctScaling"/> costs in quality and gains in speed: per JPEG, the scale
/// chosen, the pixel difference from the exact (Pillow-identical) preprocessing and the cosine similarity of the two
/// embeddings under a model; then exact vs DCT-scaled preprocessing throughput in alternating rounds.
/// Usage (<c>build/bench-jpeg-dct.sh</c>): <c>jpeg-dct-scaling [MODEL_FOLDER|preset=base] [JPEG_FOLDER|synthetic] [rounds=5]</c>.
/// A preset name means that preset with random weights (exported once into data/bench, as bench-table does).
/// </summary>
internal static class JpegDctScalingQuality
{
    public static void Run(string[] args)
    {
        var modelArg = args.Length > 0 ? args[0] : "base";
        var imagesArg = args.Length > 1 ? args[1] : "synthetic";
        int rounds = Math.Max(AbResult.MinRounds, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : AbResult.MinRounds);

        string modelFolder = Directory.Exists(modelArg) ? modelArg : BenchModel(modelArg);
        var files = Directory.Exists(imagesArg)
            ? Directory.GetFiles(imagesArg).Where(f => f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase)).Order(StringComparer.Ordinal).ToArray()
            : SyntheticLargeJpegs();
        if (files.Length == 0)
            throw new InvalidOperationException($"No .jpg files in '{imagesArg}'.");
        using var model = ClipModel.Load(modelFolder);
        var exact = model.Preprocessor;
        var scaled = new ClipImagePreprocessor(exact.Settings, exact.DecodeOptions with { JpegDctScaling = true });
        // Real pretrained weights too: the NuGet ImageNet ResNet-18 (its 512 pooled features), same geometry at 224.
        using var resnet = FrozenImageEncoder.ResNet18(Path.Combine(AppContext.BaseDirectory, "DnnImageModels"));
        var resnetExact = new ClipImagePreprocessor(resnet.Preprocess);
        var resnetScaled = new ClipImagePreprocessor(resnet.Preprocess, new ClipImageDecodeOptions { JpegDctScaling = true });
        Console.WriteLine($"model {modelFolder} ({exact.Resolution} px) and ResNet-18 (NuGet, ImageNet weights), {files.Length} JPEGs, load average {PreprocessThroughput.LoadAverage()}");
        Console.WriteLine("| image | size | scale | mean abs diff (0-255) | max abs diff | cosine (CLIP model) | cosine (ResNet-18) |");
        Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
        var cosines = new List<double>();
        var resnetCosines = new List<double>();
        var engaged = new List<bool>();
        var bytes = files.Select(File.ReadAllBytes).ToArray();
        for (int i = 0; i < files.Length; i++)
        {
            int n = exact.Resolution;
            var rgbExact = new byte[n * n * 3];
            var rgbScaled = new byte[n * n * 3];
            exact.ResizeAndCropRgb(bytes[i], rgbExact);
            scaled.ResizeAndCropRgb(bytes[i], rgbScaled);
            double sum = 0;
            int max = 0;
            for (int j = 0; j < rgbExact.Length; j++)
            {
                int d = Math.Abs(rgbExact[j] - rgbScaled[j]);
                sum += d;
                max = Math.Max(max, d);
            }
            var embeddings = model.EmbedImages([.. exact.Preprocess(bytes[i]), .. scaled.Preprocess(bytes[i])], 2);
            double cosine = Cosine(embeddings[0], embeddings[1]);
            cosines.Add(cosine);
            var features = resnet.Featurize([.. resnetExact.Preprocess(bytes[i]), .. resnetScaled.Preprocess(bytes[i])], 2);
            double resnetCosine = Cosine(features.AsSpan(0, resnet.FeatureSize), features.AsSpan(resnet.FeatureSize));
            resnetCosines.Add(resnetCosine);
            var image = ClipImageDecoder.Decode(bytes[i]);
            int scale = JpegRows.ChooseScale(image.Width, image.Height, exact.Plan(image.Width, image.Height));
            engaged.Add(scale < 8);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {Path.GetFileName(files[i])} | {image.Width}x{image.Height} | {scale}/8 | {sum / rgbExact.Length:F2} | {max} | {cosine:F5} | {resnetCosine:F5} |"));
        }
        var used = Enumerable.Range(0, files.Length).Where(i => engaged[i]).ToArray();
        if (used.Length > 0)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"over the {used.Length} JPEGs the fast path decoded at a reduced scale: cosine (CLIP model) mean {used.Average(i => cosines[i]):F5}, min {used.Min(i => cosines[i]):F5}; cosine (ResNet-18) mean {used.Average(i => resnetCosines[i]):F5}, min {used.Min(i => resnetCosines[i]):F5}"));

        var ab = AbResult.Run(rounds, "exact", () => Pass.Time(2, () => { foreach (var b in bytes) exact.Preprocess(b); return bytes.Length; }),
            "JpegDctScaling", () => Pass.Time(2, () => { foreach (var b in bytes) scaled.Preprocess(b); return bytes.Length; }), Console.WriteLine);
        Console.WriteLine(ab);
    }

    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }
        return dot / Math.Sqrt(na * nb);
    }

    /// <summary>Photo-like JPEGs at camera and web sizes (the fast path engages from about 512 px on the short side at 224).</summary>
    private static string[] SyntheticLargeJpegs()
    {
        var folder = Path.Combine(Path.GetTempPath(), "clip-bench-large-jpegs");
        Directory.CreateDirectory(folder);
        var sizes = new[] { (1024, 768), (1280, 960), (1920, 1080), (2048, 1536), (3000, 2000), (4032, 3024) };
        return sizes.Select((s, i) =>
        {
            var path = Path.Combine(folder, $"synthetic_{s.Item1}x{s.Item2}.jpg");
            if (!File.Exists(path))
                CacheFiles.Write(path, PreprocessThroughput.Jpeg(new Random(100 + i), s.Item1, s.Item2));
            return path;
        }).ToArray();
    }

    private static string BenchModel(string preset)
    {
        // Reuses bench-table's export (and its cache folder).
        var context = new BenchTable.Context
        {
            Preset = preset,
            CacheFolder = Environment.GetEnvironmentVariable("CLIP_BENCH_CACHE") is { Length: > 0 } env ? env : Path.Combine(PythonAnchor.RepositoryRoot(), "data", "bench"),
        };
        Directory.CreateDirectory(context.CacheFolder);
        return context.ModelFolder;
    }
}
