using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>The squash preset against PIL's <c>resize((64, 64), BICUBIC).convert('RGB')</c>.</summary>
public class SquashPresetTests
{
    [Theory]
    [InlineData("hotdog_rgb_portrait")]
    [InlineData("clip_diagram_rgba")]
    public void MatchesPilAndNormalisesWithHalf(string name)
    {
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.Squash(64));
        var image = ClipImageDecoder.DecodeFile(Fixtures.Reference("preprocess", name + ".png"));
        var expected = Npy.ReadUInt8(Path.Combine(Fixtures.Root, "images", $"{name}.squash64.rgb_u8.npy")).Data;
        Assert.Equal(expected, preprocessor.ResizeAndCropRgb(image));

        var tensor = new float[preprocessor.OutputLength];
        preprocessor.Preprocess(image, tensor);
        // CHW, (u8 / 255 - 0.5) / 0.5: pixel (y=5, x=7), channel c sits at c*64*64 + 5*64 + 7.
        for (int c = 0; c < 3; c++)
            Assert.Equal((expected[(5 * 64 + 7) * 3 + c] / 255f - 0.5f) / 0.5f, tensor[c * 64 * 64 + 5 * 64 + 7]);
    }

    [Theory]
    [InlineData(2162, 762, 224, 635, 224, 206, 0)]
    [InlineData(287, 391, 224, 224, 305, 0, 40)]
    [InlineData(100, 75, 64, 85, 64, 10, 0)]   // 10.5 rounds to 10 (half to even)
    [InlineData(800, 288, 64, 177, 64, 56, 0)] // 56.5 rounds to 56
    [InlineData(224, 224, 224, 224, 224, 0, 0)]
    public void GeometryFollowsTorchvision(int w, int h, int n, int rw, int rh, int left, int top)
    {
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(n));
        Assert.Equal((rw, rh, left, top), preprocessor.Geometry(w, h));
    }
}
