using System.Text.Json;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// SigLIP's preprocessing (Hugging Face's <c>SiglipImageProcessor</c>: <c>convert("RGB")</c> first, both sides to R with
/// PIL's bicubic filter, mean = std = 0.5) against test/fixtures/siglip-reference/preprocess.
/// </summary>
public class SiglipPreprocessTests(ITestOutputHelper output)
{
    private static readonly ClipPreprocessSettings Siglip64 = ClipPreprocessSettings.Squash(64) with { ConvertRgbFirst = true };

    private static string[] Images()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Siglip("cases.json")));
        return [.. doc.RootElement.GetProperty("images").EnumerateArray().Select(e => e.GetProperty("file").GetString()!)];
    }

    [Fact]
    public void ResizedBytesAndPixelValuesMatchTheReferenceForEveryImage()
    {
        var images = Images();
        Assert.Equal(["images/rgb_200x150.png", "images/rgba_97x143.png", "images/grey_131x77.png", "images/rgb_tiny_9x7.png"], images);
        var resized = Npy.ReadUInt8(Fixtures.Siglip("preprocess", "resized_u8.npy"));
        var pixels = Npy.ReadFloat32(Fixtures.Siglip("preprocess", "pixel_values.npy"));
        Assert.Equal([4, 64, 64, 3], resized.Shape);
        Assert.Equal([4, 3, 64, 64], pixels.Shape);
        var preprocessor = new ClipImagePreprocessor(Siglip64);
        const int size = 64 * 64 * 3;
        for (int i = 0; i < images.Length; i++)
        {
            var path = Fixtures.Siglip(images[i].Split('/'));
            var rgb = preprocessor.ResizeAndCropRgb(ClipImageDecoder.DecodeFile(path));
            Assert.True(resized.Data.AsSpan(i * size, size).SequenceEqual(rgb), $"{images[i]}: resized bytes differ from PIL's");

            var tensor = new float[size];
            preprocessor.PreprocessFile(path, tensor);
            var max = 0f;
            for (int k = 0; k < size; k++)
                max = Math.Max(max, Math.Abs(tensor[k] - pixels.Data[i * size + k]));
            output.WriteLine($"{images[i]}: resized_u8 exact, pixel_values max |diff| {max:G3}");
            Assert.True(max == 0f, $"{images[i]}: pixel_values differ by {max}"); // (u8 / 255f - 0.5f) / 0.5f gives the reference bits
        }
    }

    [Fact]
    public void ConvertingFirstIsWhatMakesTheAlphaImageExact()
    {
        // openai/CLIP's order (resize premultiplied, then drop alpha) gives other bytes for the RGBA image only.
        var resized = Npy.ReadUInt8(Fixtures.Siglip("preprocess", "resized_u8.npy"));
        const int size = 64 * 64 * 3;
        var clipOrder = new ClipImagePreprocessor(ClipPreprocessSettings.Squash(64));
        var images = Images();
        for (int i = 0; i < images.Length; i++)
        {
            var rgb = clipOrder.ResizeAndCropRgb(ClipImageDecoder.DecodeFile(Fixtures.Siglip(images[i].Split('/'))));
            Assert.Equal(images[i].Contains("rgba"), !resized.Data.AsSpan(i * size, size).SequenceEqual(rgb));
        }
    }

    [Fact]
    public void PremultipliedAndPaletteImagesConvertAsPilDoes()
    {
        // RGBA 2x1: opaque red and a half-transparent pixel stored premultiplied (128 · 200 / 255 = 100).
        var straight = new DecodedImage(2, 1, DecodedPixelFormat.Rgba, [255, 0, 0, 255, 200, 100, 50, 128]);
        Assert.Equal(new byte[] { 255, 0, 0, 200, 100, 50 }, straight.ConvertedToRgb().Pixels);
        var premultiplied = new DecodedImage(2, 1, DecodedPixelFormat.Rgba, [255, 0, 0, 255, 100, 50, 25, 128], alphaPremultiplied: true);
        var unpremultiplied = premultiplied.ConvertedToRgb();
        Assert.Equal(DecodedPixelFormat.Rgb, unpremultiplied.Format);
        Assert.False(unpremultiplied.AlphaPremultiplied);
        Assert.Equal(new byte[] { 255, 0, 0, 199, 99, 49 }, unpremultiplied.Pixels); // 255 · c / 128, truncated
        var greyAlpha = new DecodedImage(1, 1, DecodedPixelFormat.GrayAlpha, [77, 0]);
        Assert.Equal(DecodedPixelFormat.Gray, greyAlpha.ConvertedToRgb().Format);
        Assert.Equal(new byte[] { 77 }, greyAlpha.ConvertedToRgb().Pixels);
        // A palette image is RGB after convert("RGB"), so it is resized with the bicubic filter, not nearest neighbour.
        var palette = new DecodedImage(1, 1, DecodedPixelFormat.Rgb, [1, 2, 3], nearestNeighbor: true);
        Assert.False(palette.ConvertedToRgb().NearestNeighbor);
        var plain = new DecodedImage(1, 1, DecodedPixelFormat.Rgb, [1, 2, 3]);
        Assert.Same(plain, plain.ConvertedToRgb());
    }
}
