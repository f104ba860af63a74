using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tests.Inference;
using SkiaSharp;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// <see cref="ClipImageDecodeOptions.JpegDctScaling"/>: off by default (exact), and when on, a large JPEG is decoded at
/// M/8 scale (the smallest M keeping both sides at least twice the resize target) and comes out close to, not equal to,
/// the exact result; JPEGs too small to halve are unchanged.
/// </summary>
public class JpegDctScalingTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(640, 480, 8)]    // 298x224 target: 7/8 would give 420 rows < 448
    [InlineData(1024, 768, 5)]   // 5/8: 640x480 >= 596x448
    [InlineData(1600, 1200, 3)]  // 3/8: 600x450
    [InlineData(5640, 3172, 2)]  // 2/8: 1410x793 >= 796x448
    [InlineData(4000, 3000, 2)]  // 2/8: 1000x750
    public void ScaleIsTheSmallestThatKeepsTwiceTheTarget(int width, int height, int expected)
    {
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224));
        var target = preprocessor.Plan(width, height);
        Assert.Equal(expected, JpegRows.ChooseScale(width, height, target));
        var (w, h) = JpegRows.ScaledSize(width, height, expected);
        Assert.True(w >= 2 * target.Width && h >= 2 * target.Height);
    }

    [Fact]
    public void OffByDefault()
    {
        Assert.False(ClipImageDecodeOptions.Default.JpegDctScaling);
        Assert.False(new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224)).DecodeOptions.JpegDctScaling);
    }

    [Fact]
    public void LargeJpegIsCloseButNotExact()
    {
        var jpeg = JpegWindowDecodingTests.Jpeg(1600, 1200, SKJpegEncoderDownsample.Downsample420, seed: 11);
        var exact = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224));
        var fast = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224), new ClipImageDecodeOptions { JpegDctScaling = true });
        var a = new byte[224 * 224 * 3];
        var b = new byte[224 * 224 * 3];
        exact.ResizeAndCropRgb(jpeg, a);
        fast.ResizeAndCropRgb(jpeg, b);
        double mean = a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        output.WriteLine($"1600x1200 at 3/8: mean |diff| {mean:F3} levels, {a.Zip(b).Count(p => p.First != p.Second)} of {a.Length} bytes differ");
        Assert.NotEqual(a, b);
        Assert.True(mean < 2, $"mean |diff| {mean}");

        // The rows really are the scaled decode: 600x450, not 1600x1200.
        using var rows = ClipImageDecoder.OpenRows(jpeg, null, fast.DecodeOptions, fast.Plan, out _);
        Assert.Equal((600, 450), (rows.Width, rows.Height));
    }

    [Fact]
    public void SmallJpegIsUnchanged()
    {
        var jpeg = JpegWindowDecodingTests.Jpeg(640, 480, SKJpegEncoderDownsample.Downsample420, seed: 12);
        var exact = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224)).Preprocess(jpeg);
        var fast = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(224), new ClipImageDecodeOptions { JpegDctScaling = true }).Preprocess(jpeg);
        Assert.Equal(exact, fast);
    }

    [Fact]
    public void ClipModelOptionsReachThePreprocessor()
    {
        using var model = ClipModel.Load(ModelFolders.For("vit"), new ClipModelOptions { ImageDecodeOptions = new ClipImageDecodeOptions { JpegDctScaling = true } });
        Assert.True(model.Preprocessor.DecodeOptions.JpegDctScaling);
        using var plain = ClipModel.Load(ModelFolders.For("vit"));
        Assert.False(plain.Preprocessor.DecodeOptions.JpegDctScaling);
    }
}
