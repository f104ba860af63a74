using BenchmarkDotNet.Attributes;
using Microsoft.ML.Clip.Imaging;
using SkiaSharp;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// CLIP image preprocessing of a 640x480 photo-like image to 224 x 224, one thread:
/// decode + resize + crop + normalise (images/s = 1 / mean time).
/// Run: <c>dotnet run -c Release --project test/Microsoft.ML.Clip.Benchmarks -- --filter '*Preprocess*' --job short</c>.
/// </summary>
[MemoryDiagnoser, MinColumn]
public class PreprocessBenchmarks
{
    private byte[] _jpeg = [];
    private byte[] _png = [];
    private DecodedImage _decoded = null!;
    private readonly ClipImagePreprocessor _preprocessor = new(ClipPreprocessSettings.OpenAI(224));
    private readonly float[] _tensor = new float[3 * 224 * 224];

    /// <summary>Encodes a synthetic 640x480 image (smooth gradients plus noise, so JPEG and PNG work as on photos).</summary>
    [GlobalSetup]
    public void Setup()
    {
        const int width = 640, height = 480;
        var random = new Random(42);
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var pixels = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 4;
                pixels[p] = (byte)Math.Clamp(128 + 100 * Math.Sin(x * 0.02) + random.Next(-12, 12), 0, 255);
                pixels[p + 1] = (byte)Math.Clamp(128 + 100 * Math.Cos(y * 0.03) + random.Next(-12, 12), 0, 255);
                pixels[p + 2] = (byte)Math.Clamp((x + y) * 255 / (width + height) + random.Next(-12, 12), 0, 255);
                pixels[p + 3] = 255;
            }
        System.Runtime.InteropServices.Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var jpeg = bitmap.Encode(SKEncodedImageFormat.Jpeg, 90);
        using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        _jpeg = jpeg.ToArray();
        _png = png.ToArray();
        _decoded = ClipImageDecoder.Decode(_jpeg, "bench.jpg");
    }

    /// <summary>Decode a JPEG, resize, crop, normalise.</summary>
    [Benchmark(Baseline = true)]
    public float Jpeg()
    {
        _preprocessor.Preprocess(_jpeg, _tensor, "bench.jpg");
        return _tensor[0];
    }

    /// <summary>Decode a PNG, resize, crop, normalise.</summary>
    [Benchmark]
    public float Png()
    {
        _preprocessor.Preprocess(_png, _tensor, "bench.png");
        return _tensor[0];
    }

    /// <summary>Decode the JPEG only.</summary>
    [Benchmark]
    public int DecodeJpegOnly() => ClipImageDecoder.Decode(_jpeg, "bench.jpg").Width;

    /// <summary>Resize, crop and normalise an already decoded image.</summary>
    [Benchmark]
    public float ResizeAndNormaliseOnly()
    {
        _preprocessor.Preprocess(_decoded, _tensor);
        return _tensor[0];
    }
}
