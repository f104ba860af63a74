using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// Decoding of the image kinds PIL treats specially, against PIL 9.4's outputs stored next to the
/// images in <c>test/fixtures/images</c> (see its README for how they were made).
/// </summary>
public class ImageDecodingTests(ITestOutputHelper output)
{
    private const int N = 16;

    private static string ImagePath(string file) => Path.Combine(Fixtures.Root, "images", file);

    private static byte[] Transform(string file, out DecodedImage image)
    {
        image = ClipImageDecoder.DecodeFile(ImagePath(file));
        return new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(N)).ResizeAndCropRgb(image);
    }

    private static (int Max, double Mean) Compare(byte[] actual, string name)
    {
        var expected = Npy.ReadUInt8(ImagePath($"{name}.{N}.rgb_u8.npy"));
        Assert.Equal(new[] { N, N, 3 }, expected.Shape);
        int max = 0;
        double sum = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            int d = Math.Abs(actual[i] - expected.Data[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        return (max, sum / actual.Length);
    }

    [Theory]
    [InlineData("gray_alpha.png", DecodedPixelFormat.GrayAlpha, false)] // PIL LA: resized premultiplied
    [InlineData("rgb16.png", DecodedPixelFormat.Rgb, false)]            // PIL RGB from the high bytes
    [InlineData("palette.png", DecodedPixelFormat.Rgb, true)]           // PIL P: nearest neighbour
    [InlineData("palette_trns.png", DecodedPixelFormat.Rgb, true)]      // transparency ignored by convert('RGB')
    [InlineData("bilevel.png", DecodedPixelFormat.Gray, true)]          // PIL 1: nearest neighbour
    [InlineData("rgb_trns.png", DecodedPixelFormat.Rgb, false)]         // tRNS colour key: stays RGB
    [InlineData("gray.jpg", DecodedPixelFormat.Gray, false)]            // PIL L
    [InlineData("thin.png", DecodedPixelFormat.Rgb, false)]             // 3x2000: extreme aspect ratio
    [InlineData("palette_gif.gif", DecodedPixelFormat.Rgb, true)]       // GIF: PIL mode P
    public void MatchesPilExactly(string file, DecodedPixelFormat format, bool nearest)
    {
        var rgb = Transform(file, out var image);
        Assert.Equal(format, image.Format);
        Assert.Equal(nearest, image.NearestNeighbor);
        var (max, mean) = Compare(rgb, Path.GetFileNameWithoutExtension(file));
        output.WriteLine($"{file}: max {max}, mean {mean:G3}");
        Assert.Equal(0, max);
    }

    [Fact]
    public void CmykJpegGivesRgbCloseToPil()
    {
        // Skia converts CMYK to RGB while decoding; PIL resizes in CMYK and converts afterwards.
        var rgb = Transform("cmyk.jpg", out var image);
        Assert.Equal(DecodedPixelFormat.Rgb, image.Format);
        Assert.Equal((40, 28), (image.Width, image.Height));
        var (max, mean) = Compare(rgb, "cmyk");
        output.WriteLine($"cmyk.jpg: max {max}, mean {mean:G3}");
        Assert.True(mean < 2 && max <= 32, $"CMYK JPEG differs from PIL: max {max}, mean {mean}");
    }

    [Fact]
    public void ExifOrientationIsNotApplied()
    {
        // PIL's Image.open ignores the EXIF orientation tag: the 48x24 image stays landscape.
        var rgb = Transform("exif_orientation6.jpg", out var image);
        Assert.Equal((48, 24), (image.Width, image.Height));
        var (max, mean) = Compare(rgb, "exif_orientation6");
        output.WriteLine($"exif_orientation6.jpg: max {max}, mean {mean:G3}");
        Assert.True(max <= 2, $"JPEG differs from PIL: max {max}, mean {mean}");
    }

    [Fact]
    public void SixteenBitGrayKeepsTheHighByte()
    {
        // Stored values are x * 1500 + y * 600 (see make_images.py). PIL would open this as mode I and
        // clip everything above 255 to white; we keep the high byte, as PIL does for 16-bit RGB.
        var image = ClipImageDecoder.DecodeFile(ImagePath("gray16.png"));
        Assert.Equal(DecodedPixelFormat.Gray, image.Format);
        Assert.Equal((32, 30), (image.Width, image.Height));
        int max = 0;
        for (int y = 0; y < 30; y++)
            for (int x = 0; x < 32; x++)
                max = Math.Max(max, Math.Abs(image.Pixels[y * 32 + x] - ((x * 1500 + y * 600) >> 8)));
        Assert.True(max <= 1, $"16-bit grey decoded off by {max}");
    }
}
