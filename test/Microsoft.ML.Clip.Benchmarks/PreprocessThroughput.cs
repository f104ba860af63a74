using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Imaging;
using SkiaSharp;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// CLIP preprocessing throughput from JPEG bytes in memory (decode, resize, centre crop, normalise to the float tensor):
/// ours (<see cref="ClipImagePreprocessor"/>) against Pillow + torchvision running OpenAI's <c>_transform</c>
/// (build/bench/anchors.py), per thread and on all cores, in alternating rounds. Same files on both sides.
/// </summary>
internal static class PreprocessThroughput
{
    /// <summary>Writes <paramref name="count"/> photo-like 640x480 JPEGs (q90, 4:2:0, smooth colour plus noise) into a
    /// new folder and returns it. Deterministic, so runs on different machines time the same bytes.</summary>
    public static string WriteJpegs(int count, int width = 640, int height = 480)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"clip-bench-jpegs-{width}x{height}-{count}");
        if (Directory.Exists(folder) && Directory.GetFiles(folder, "*.jpg").Length == count)
            return folder;
        Directory.CreateDirectory(folder);
        for (int i = 0; i < count; i++)
            CacheFiles.Write(Path.Combine(folder, $"{i:D3}.jpg"), Jpeg(new Random(i), width, height));
        return folder;
    }

    /// <summary>Smooth gradients plus noise, so JPEG works as hard as on a photo (a flat image decodes much faster).</summary>
    public static byte[] Jpeg(Random random, int width, int height, int quality = 90)
    {
        var pixels = new byte[width * height * 4];
        double fx = 0.01 + random.NextDouble() * 0.03, fy = 0.01 + random.NextDouble() * 0.03;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 4;
                pixels[p] = (byte)Math.Clamp(128 + 100 * Math.Sin(x * fx) + random.Next(-12, 12), 0, 255);
                pixels[p + 1] = (byte)Math.Clamp(128 + 100 * Math.Cos(y * fy) + random.Next(-12, 12), 0, 255);
                pixels[p + 2] = (byte)Math.Clamp((x + y) * 255 / (width + height) + random.Next(-12, 12), 0, 255);
                pixels[p + 3] = 255;
            }
        var handle = GCHandle.Alloc(pixels, GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque), handle.AddrOfPinnedObject());
            using var data = pixmap.Encode(new SKJpegEncoderOptions(quality, SKJpegEncoderDownsample.Downsample420, SKJpegEncoderAlphaOption.Ignore));
            return data.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>One pass of ours over <paramref name="files"/> on <paramref name="threads"/> threads; returns the images done.</summary>
    public static Func<double> Ours(byte[][] files, ClipImagePreprocessor preprocessor, int threads)
    {
        var tensors = new ThreadLocal<float[]>(() => new float[preprocessor.OutputLength]);
        var options = new ParallelOptions { MaxDegreeOfParallelism = threads };
        return () =>
        {
            if (threads == 1)
            {
                var tensor = tensors.Value!;
                foreach (var file in files)
                    preprocessor.Preprocess(file, tensor);
            }
            else
            {
                Parallel.For(0, files.Length, options, i => preprocessor.Preprocess(files[i], tensors.Value!));
            }
            return files.Length;
        };
    }

    /// <summary>Ours vs Pillow + torchvision on <paramref name="threads"/> threads (Python: as many one-thread worker processes).</summary>
    public static AbResult Compare(string folder, int resolution, int threads, int rounds, double seconds, ClipImageDecodeOptions? options = null,
        Action<string>? log = null)
    {
        var files = Directory.GetFiles(folder, "*.jpg").Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(resolution), options);
        var ours = Ours(files, preprocessor, threads);
        ours(); // warm-up: JIT, pools, coefficient tables
        using var pillow = PythonAnchor.Start("preprocess", 1, folder, resolution.ToString(CultureInfo.InvariantCulture), threads.ToString(CultureInfo.InvariantCulture));
        pillow.Run(0); // warm-up
        return AbResult.Run(rounds, "Pillow+torchvision", () => pillow.Run(seconds), "ours", () => Pass.Time(seconds, ours), log);
    }

    /// <summary><c>preprocess-vs-pillow [threads=1] [rounds=7] [seconds=3] [images=DIR|count=32] [resolution=224]</c>.</summary>
    public static void Run(string[] args)
    {
        int threads = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1;
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 7;
        double seconds = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 3;
        string folder = args.Length > 3 && Directory.Exists(args[3]) ? args[3] : WriteJpegs(args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 32);
        int resolution = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 224;
        if (PythonAnchor.Unavailable("PIL", "torch", "torchvision") is { } why)
        {
            Console.WriteLine($"Pillow + torchvision anchor unavailable: {why}");
            return;
        }
        Console.WriteLine($"preprocessing {folder} to {resolution} on {threads} thread(s), {rounds} alternating rounds of >= {seconds} s, {Environment.ProcessorCount} cores, load {LoadAverage()}");
        var result = Compare(folder, resolution, threads, rounds, seconds, log: Console.WriteLine);
        Console.WriteLine(result);
        Console.WriteLine($"load average after: {LoadAverage()}");
    }

    /// <summary>The 1-minute load average (Linux), to say how busy the machine was.</summary>
    public static string LoadAverage()
        => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";
}
