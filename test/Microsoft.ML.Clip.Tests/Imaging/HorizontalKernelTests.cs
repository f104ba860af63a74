using Microsoft.ML.Clip.Imaging;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// The vectorised horizontal passes (AVX2, portable 128-bit) against the scalar one, which reproduces Pillow: same bytes
/// for 4-byte pixels read as RGB (RGBX) and as RGBA, downscaling and upscaling, windows that start inside the row.
/// </summary>
public class HorizontalKernelTests
{
    [Theory]
    [InlineData(640, 298, 37, 224)]   // 640x480 to 224: about 9 taps, odd and even counts
    [InlineData(2162, 635, 206, 224)] // strong downscale: 30 taps
    [InlineData(100, 298, 0, 298)]    // upscale: 4-5 taps, clamped at the edges
    [InlineData(7, 3, 0, 3)]
    [InlineData(5, 1, 0, 1)]          // one output pixel reading the whole row
    public void VectorKernelsGiveTheScalarBytes(int inSize, int outSize, int start, int length)
    {
        var hc = ResampleCoefficients.Compute(inSize, outSize, start, length);
        var random = new Random(inSize * 31 + outSize);
        // The row held starts at column rowLeft (a cropped decode), with extreme values to exercise the clipping.
        int rowLeft = hc.First[0];
        int columns = hc.First[length - 1] + hc.Count[length - 1] - rowLeft;
        var row = new byte[columns * 4];
        for (int i = 0; i < row.Length; i++)
            row[i] = random.Next(4) == 0 ? (byte)(random.Next(2) * 255) : (byte)random.Next(256);

        foreach (int channels in new[] { 3, 4 })
        {
            var expected = new byte[length * channels + 1];
            PillowResize.HorizontalRow(row, rowLeft, 4, hc, channels, expected, PillowResize.HorizontalKernel.Scalar);
            foreach (var kernel in new[] { PillowResize.HorizontalKernel.Vector128, PillowResize.HorizontalKernel.Avx2 })
            {
                var actual = new byte[length * channels + 1];
                PillowResize.HorizontalRow(row, rowLeft, 4, hc, channels, actual, kernel);
                Assert.Equal(expected.AsSpan(0, length * channels).ToArray(), actual.AsSpan(0, length * channels).ToArray());
            }
        }
    }

    [Fact]
    public void TapsOutsideTheHeldRowAreRefused()
    {
        var hc = ResampleCoefficients.Compute(640, 298, 37, 224);
        var row = new byte[100 * 4];
        Assert.Throws<ArgumentException>(() => PillowResize.HorizontalRow(row, hc.First[0], 4, hc, 3, new byte[224 * 3 + 1]));
        Assert.Throws<ArgumentException>(() => PillowResize.HorizontalRow(new byte[640 * 4], hc.First[0] + 1, 4, hc, 3, new byte[224 * 3 + 1]));
    }
}
