using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>ML.NET's <see cref="MLImage"/> (premultiplied BGRA from Skia) into the preprocessor.</summary>
public class MLImageAdapterTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("hotdog_rgb_portrait", 64)]
    [InlineData("banana_gray", 64)]
    [InlineData("fruit_rgba_small", 64)]
    [InlineData("clip_diagram_rgba", 64)]
    public void MLImageGivesTheReferenceBytes(string name, int resolution)
    {
        DecodedImage image;
        using (var mlImage = MLImage.CreateFromFile(Fixtures.Reference("preprocess", name + ".png")))
            image = DecodedImage.FromMLImage(mlImage);
        // The copy outlives the MLImage (ML.NET's getters dispose the previous image).
        var rgb = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(resolution)).ResizeAndCropRgb(image);
        var expected = Npy.ReadUInt8(Fixtures.Reference("preprocess", $"{name}.{resolution}.rgb_u8.npy")).Data;
        int max = 0, differing = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            int d = Math.Abs(rgb[i] - expected[i]);
            max = Math.Max(max, d);
            differing += d != 0 ? 1 : 0;
        }
        output.WriteLine($"{name} via MLImage @ {resolution}: format {image.Format}, premultiplied {image.AlphaPremultiplied}, max |diff| {max}, {differing} bytes differ");
        // Skia premultiplies with the same rounding as PIL, so even RGBA images come out exact.
        Assert.Equal(0, max);
    }

    [Fact]
    public void PartlyTransparentMLImageMatchesPil()
    {
        // Grey + alpha with many partial alphas; MLImage turns it into premultiplied BGRA.
        DecodedImage image;
        using (var mlImage = MLImage.CreateFromFile(Path.Combine(Fixtures.Root, "images", "gray_alpha.png")))
            image = DecodedImage.FromMLImage(mlImage);
        Assert.True(image.AlphaPremultiplied);
        var rgb = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(16)).ResizeAndCropRgb(image);
        Assert.Equal(Npy.ReadUInt8(Path.Combine(Fixtures.Root, "images", "gray_alpha.16.rgb_u8.npy")).Data, rgb);
    }

    [Fact]
    public void SkiaPremultipliesWithPilsRounding()
    {
        // Every (colour, alpha) pair: MLImage decodes through Skia, which premultiplies; the adapter
        // relies on that matching PIL's RGBA -> RGBa conversion exactly.
        var straight = new byte[256 * 256 * 4];
        for (int a = 0; a < 256; a++)
            for (int c = 0; c < 256; c++)
            {
                int p = (a * 256 + c) * 4;
                straight[p] = straight[p + 1] = straight[p + 2] = (byte)c;
                straight[p + 3] = (byte)a;
            }
        byte[] png;
        using (var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(256, 256, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul)))
        {
            System.Runtime.InteropServices.Marshal.Copy(straight, 0, bitmap.GetPixels(), straight.Length);
            using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            png = data.ToArray();
        }
        Assert.Equal(straight, ClipImageDecoder.Decode(png).Pixels); // lossless round trip, unpremultiplied

        using var mlImage = MLImage.CreateFromStream(new MemoryStream(png));
        var image = DecodedImage.FromMLImage(mlImage);
        var expected = new byte[straight.Length];
        PillowResize.Premultiply(straight, 4, expected);
        Assert.Equal(expected, image.Pixels);
    }

    [Fact]
    public void RgbaPixelFormatAndTransparencyAreKept()
    {
        // One opaque red pixel and one half-transparent premultiplied green one, RGBA order.
        byte[] pixels = [255, 0, 0, 255, 0, 64, 0, 128];
        using var mlImage = MLImage.CreateFromPixels(2, 1, MLPixelFormat.Rgba32, pixels);
        var image = DecodedImage.FromMLImage(mlImage);
        Assert.Equal(DecodedPixelFormat.Rgba, image.Format);
        Assert.True(image.AlphaPremultiplied);
        Assert.Equal(pixels, image.Pixels);

        using var bgra = MLImage.CreateFromPixels(1, 1, MLPixelFormat.Bgra32, [10, 20, 30, 255]);
        var opaque = DecodedImage.FromMLImage(bgra);
        Assert.Equal(DecodedPixelFormat.Rgb, opaque.Format);
        Assert.Equal(new byte[] { 30, 20, 10 }, opaque.Pixels);
    }

    [Fact]
    public void LoadImagesPipelineRowsCanBePreprocessed()
    {
        var ml = new MLContext(seed: 1);
        var folder = Path.Combine(Fixtures.ClipReference, "preprocess");
        var rows = new[] { new ImageRow { Path = "hotdog_rgb_portrait.png" }, new ImageRow { Path = "banana_gray.png" } };
        var data = ml.Transforms.LoadImages("Image", folder, nameof(ImageRow.Path)).Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(64));
        var tensors = new List<float[]>();
        using (var cursor = data.GetRowCursor(data.Schema))
        {
            var getter = cursor.GetGetter<MLImage>(data.Schema["Image"]);
            MLImage mlImage = null!;
            while (cursor.MoveNext())
            {
                getter(ref mlImage);
                var tensor = new float[preprocessor.OutputLength];
                preprocessor.Preprocess(DecodedImage.FromMLImage(mlImage), tensor);
                tensors.Add(tensor);
            }
        }
        Assert.Equal(2, tensors.Count);
        var expected = Npy.ReadFloat32(Fixtures.Reference("preprocess", "banana_gray.64.npy")).Data;
        Assert.Equal(expected, tensors[1]);
    }

    private sealed class ImageRow
    {
        public string Path { get; set; } = "";
    }
}
