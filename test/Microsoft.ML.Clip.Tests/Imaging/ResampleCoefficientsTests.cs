using Microsoft.ML.Clip.Imaging;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Imaging;

public class ResampleCoefficientsTests
{
    [Theory]
    [InlineData(2162, 635)] // downscale: support widened by the scale (antialiasing)
    [InlineData(100, 298)]  // upscale: support 2
    [InlineData(7, 3)]
    public void WindowsAreSlicesOfTheFullTableAndWeightsSumToOne(int inSize, int outSize)
    {
        var full = ResampleCoefficients.Compute(inSize, outSize, 0, outSize);
        double scale = Math.Max(1.0, (double)inSize / outSize);
        Assert.Equal((int)Math.Ceiling(2 * scale) * 2 + 1, full.KernelSize);
        for (int o = 0; o < outSize; o++)
        {
            Assert.InRange(full.First[o], 0, inSize - 1);
            Assert.InRange(full.First[o] + full.Count[o], 1, inSize);
            long sum = 0;
            for (int i = 0; i < full.Count[o]; i++)
                sum += full.Weights[o * full.KernelSize + i];
            // Rounded to 22 fractional bits: within one unit per tap of 1.0.
            Assert.InRange(sum, (1L << 22) - full.Count[o], (1L << 22) + full.Count[o]);
        }

        int start = outSize / 3, length = outSize - 2 * start;
        var window = ResampleCoefficients.Compute(inSize, outSize, start, length);
        Assert.Equal(full.KernelSize, window.KernelSize);
        for (int i = 0; i < length; i++)
        {
            Assert.Equal(full.First[start + i], window.First[i]);
            Assert.Equal(full.Count[start + i], window.Count[i]);
            Assert.Equal(
                full.Weights.AsSpan((start + i) * full.KernelSize, full.KernelSize).ToArray(),
                window.Weights.AsSpan(i * window.KernelSize, window.KernelSize).ToArray());
        }
    }

    [Fact]
    public void KernelIsKeysCubicWithAMinusHalf()
    {
        Assert.Equal(1.0, ResampleCoefficients.Bicubic(0));
        Assert.Equal(0.0, ResampleCoefficients.Bicubic(1));
        Assert.Equal(0.0, ResampleCoefficients.Bicubic(2));
        Assert.Equal(0.5625, ResampleCoefficients.Bicubic(0.5));
        Assert.Equal(-0.0625, ResampleCoefficients.Bicubic(-1.5));
    }

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, 0)]
    [InlineData(255 << 22, 255)]
    [InlineData(300 << 22, 255)]
    [InlineData((100 << 22) + (1 << 21), 100)]
    public void Clip8ShiftsAndClamps(int accumulator, int expected) => Assert.Equal(expected, ResampleCoefficients.Clip8(accumulator));
}
