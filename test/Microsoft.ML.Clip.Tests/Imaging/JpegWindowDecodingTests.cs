using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// JPEGs are decoded scanline by scanline over only the window of columns and rows the resize reads (libjpeg's cropped
/// decoding) and read in place as RGBX. These tests hold that to Pillow's bytes on photo-sized JPEGs, to a whole-image
/// decode on many generated JPEGs, and check that the window really is smaller than the image.
/// </summary>
public class JpegWindowDecodingTests(ITestOutputHelper output)
{
    private static string ImagePath(string file) => Path.Combine(Fixtures.Root, "images", file);

    [Theory]
    [InlineData("landscape_420.jpg", true, false)]              // 4:2:0: columns cropped
    [InlineData("wide_420.jpg", true, false)]                   // 700x230: most columns dropped
    [InlineData("landscape_422_progressive.jpg", true, false)]  // progressive, 4:2:2
    [InlineData("portrait_444.jpg", false, true)]               // 4:4:4: rows skipped at the top, not read at the bottom
    [InlineData("portrait_gray.jpg", false, true)]              // greyscale (PIL L)
    public void PhotoSizedJpegsMatchPilExactly(string file, bool columnsCropped, bool rowsCropped)
    {
        const int n = 64;
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(n));
        var bytes = File.ReadAllBytes(ImagePath(file));
        var rgb = new byte[n * n * 3];
        preprocessor.ResizeAndCropRgb(bytes, rgb, file);

        var expected = Npy.ReadUInt8(ImagePath($"{Path.GetFileNameWithoutExtension(file)}.{n}.rgb_u8.npy"));
        int max = 0, differing = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            int d = Math.Abs(rgb[i] - expected.Data[i]);
            max = Math.Max(max, d);
            differing += d != 0 ? 1 : 0;
        }

        // The decode really was a window: fewer columns, or the resize's rows starting below the top.
        using var rows = ClipImageDecoder.OpenRows(bytes, file, ClipImageDecodeOptions.Default, preprocessor.Plan, out var target);
        var window = PillowResize.SourceWindow(rows.Width, rows.Height, target, nearestNeighbor: false);
        output.WriteLine($"{file} {rows.Width}x{rows.Height}: decoded columns [{rows.Left}, {rows.Left + rows.Columns}), rows [{window.Top}, {window.Bottom}); max |diff| {max}, {differing} bytes differ");
        Assert.IsType<JpegRows>(rows);
        Assert.Equal(columnsCropped, rows.Columns < rows.Width);
        Assert.Equal(rowsCropped, window.Top > 0 && window.Bottom < rows.Height);
        Assert.Equal(0, max);
    }

    /// <summary>JPEGs of many sizes and all three chroma subsamplings, at several resolutions and both resize modes.</summary>
    public static TheoryData<int, int, int, int, bool> GeneratedCases()
    {
        var random = new Random(1402);
        var data = new TheoryData<int, int, int, int, bool>();
        for (int i = 0; i < 36; i++)
        {
            int width = random.Next(17, 900), height = random.Next(17, 900);
            data.Add(width, height, i % 3, new[] { 16, 64, 224 }[random.Next(3)], i % 5 == 4);
        }
        // Sizes whose crop window ends exactly at an iMCU boundary or leaves one pixel of margin.
        data.Add(640, 480, 0, 224, false);
        data.Add(480, 640, 1, 224, false);
        data.Add(4096, 96, 0, 64, false);
        data.Add(96, 4096, 2, 64, false);
        return data;
    }

    [Theory]
    [MemberData(nameof(GeneratedCases))]
    public void WindowedDecodeEqualsWholeDecode(int width, int height, int subsampling, int resolution, bool squash)
    {
        var jpeg = Jpeg(width, height, (SKJpegEncoderDownsample)subsampling, seed: width * 7919 + height);
        var settings = squash ? ClipPreprocessSettings.Squash(resolution) : ClipPreprocessSettings.OpenAI(resolution);
        var preprocessor = new ClipImagePreprocessor(settings);

        var windowed = preprocessor.Preprocess(jpeg, "generated.jpg");
        var whole = new float[preprocessor.OutputLength];
        preprocessor.Preprocess(ClipImageDecoder.Decode(jpeg), whole);
        Assert.Equal(whole, windowed);
    }

    [Theory]
    [InlineData("cmyk.jpg")]               // CMYK (Adobe): Skia converts to RGB in its swizzler, also for scanlines
    [InlineData("gray.jpg")]
    [InlineData("exif_orientation6.jpg")]
    [InlineData("landscape_422_progressive.jpg")]
    public void FixtureJpegsGiveTheWholeDecodesResult(string file)
    {
        var bytes = File.ReadAllBytes(ImagePath(file));
        foreach (int resolution in new[] { 16, 64 })
        {
            var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(resolution));
            var whole = new float[preprocessor.OutputLength];
            preprocessor.Preprocess(ClipImageDecoder.Decode(bytes), whole);
            Assert.Equal(whole, preprocessor.Preprocess(bytes, file));
        }
    }

    [Fact]
    public void TruncationPastTheWindowIsStillRefused()
    {
        // The resize to 64 reads rows ~40..360 of this 300x400 image; the file is cut near its end, below them.
        var bytes = File.ReadAllBytes(ImagePath("portrait_444.jpg"));
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(64));
        var e = Assert.Throws<InvalidDataException>(() => preprocessor.Preprocess(bytes.AsSpan(0, bytes.Length * 19 / 20), "cut.jpg"));
        Assert.Contains("'cut.jpg'", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void PreprocessingAJpegAllocatesNoImageSizedBuffers()
    {
        // Buffers come from ArrayPool: after a warm-up, an image costs only the decoder's small wrapper objects
        // (a whole-image RGBA decode plus an RGB copy used to allocate ~2 MB for this size).
        var jpeg = Jpeg(640, 480, SKJpegEncoderDownsample.Downsample420, seed: 5);
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224));
        var tensor = new float[preprocessor.OutputLength];
        for (int i = 0; i < 3; i++)
            preprocessor.Preprocess(jpeg, tensor);
        const int images = 20;
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < images; i++)
            preprocessor.Preprocess(jpeg, tensor);
        long perImage = (GC.GetAllocatedBytesForCurrentThread() - before) / images;
        output.WriteLine($"{perImage} bytes allocated per 640x480 JPEG");
        Assert.True(perImage < 16 * 1024, $"{perImage} bytes allocated per image");
    }

    /// <summary>A JPEG of smooth colour plus noise, encoded by Skia with the given chroma subsampling.</summary>
    internal static byte[] Jpeg(int width, int height, SKJpegEncoderDownsample subsampling, int seed, int quality = 90)
    {
        var random = new Random(seed);
        var pixels = new byte[width * height * 4];
        double fx = random.NextDouble() * 0.1, fy = random.NextDouble() * 0.1;
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                int p = (y * width + x) * 4;
                pixels[p] = (byte)Math.Clamp(128 + 100 * Math.Sin(x * fx) + random.Next(-10, 10), 0, 255);
                pixels[p + 1] = (byte)Math.Clamp(128 + 100 * Math.Cos(y * fy) + random.Next(-10, 10), 0, 255);
                pixels[p + 2] = (byte)Math.Clamp((x + y) * 255 / (width + height) + random.Next(-10, 10), 0, 255);
                pixels[p + 3] = 255;
            }
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            using var pixmap = new SKPixmap(info, handle.AddrOfPinnedObject());
            using var data = pixmap.Encode(new SKJpegEncoderOptions(quality, subsampling, SKJpegEncoderAlphaOption.Ignore));
            return data.ToArray();
        }
        finally
        {
            handle.Free();
        }
    }
}
