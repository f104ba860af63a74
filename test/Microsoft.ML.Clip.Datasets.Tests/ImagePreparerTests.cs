using Microsoft.ML.Clip.Datasets.OpenClipArt;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Tests;

public class ImagePreparerTests
{
    // 100×50 RGBA: left half opaque red, right half fully transparent (stored as transparent black).
    private static byte[] HalfTransparentPng()
    {
        using var bitmap = new SKBitmap(new SKImageInfo(100, 50, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (var y = 0; y < 50; y++)
            for (var x = 0; x < 100; x++)
                bitmap.SetPixel(x, y, x < 50 ? new SKColor(255, 0, 0, 255) : new SKColor(0, 0, 0, 0));
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    [Fact]
    public void PreparedImagesAreShrunkAndFlattenedOnceIntoTheCache()
    {
        using var data = new TempFolder();
        var original = data.Write("openclipart/png/food/half.png", HalfTransparentPng());
        var options = new DatasetOptions { PreparedImageSide = 32, Background = "white" };

        var row = Assert.Single(OpenClipArtDataset.Read(data.Path, options));

        Assert.Equal(Path.Combine(data.Path, "cache", "prepared-32-ffffffff", "openclipart", "food", "half.png"), row.ImagePath);
        using (var bitmap = SyntheticData.Decode(File.ReadAllBytes(row.ImagePath)))
        {
            Assert.Equal((32, 16), (bitmap.Width, bitmap.Height));
            var left = bitmap.GetPixel(4, 8);
            var right = bitmap.GetPixel(28, 8);
            Assert.Equal((255, 0, 0, 255), ((int)left.Red, (int)left.Green, (int)left.Blue, (int)left.Alpha));
            Assert.Equal((255, 255, 255, 255), ((int)right.Red, (int)right.Green, (int)right.Blue, (int)right.Alpha));
        }
        Assert.Equal(HalfTransparentPng(), File.ReadAllBytes(original));

        // Size only: small images keep their size and transparency.
        var keep = Assert.Single(OpenClipArtDataset.Read(data.Path, new DatasetOptions { PreparedImageSide = 400 }));
        using var kept = SyntheticData.Decode(File.ReadAllBytes(keep.ImagePath));
        Assert.Equal((100, 50, (byte)0), (kept.Width, kept.Height, kept.GetPixel(90, 10).Alpha));
    }

    [Fact]
    public void BadBackgroundAndUndecodableImageAreNamed()
    {
        using var data = new TempFolder();
        var e = Assert.Throws<ArgumentException>(() => new Images.ImagePreparer(data.Path, 32, "mauve-ish"));
        Assert.Contains("mauve-ish", e.Message);

        var broken = data.Write("broken.png", SyntheticData.PngHeaderOnly(10, 10));
        var preparer = new Images.ImagePreparer(data.Path, 32, "white");
        var decode = Assert.Throws<InvalidDataException>(() => preparer.GetOrPrepare(broken, "x"));
        Assert.Contains(broken, decode.Message);
    }
}
