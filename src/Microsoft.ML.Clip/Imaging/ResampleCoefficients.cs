using System.Collections.Concurrent;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// Fixed-point filter taps for output pixels <c>[Start, Start + Length)</c> of one axis resized from
/// <c>InSize</c> to <c>OutSize</c> pixels with
/// Pillow's antialiased bicubic filter (Keys' cubic, a = -0.5). The numbers follow Pillow 9.4's
/// <c>Resample.c</c> exactly — double-precision weights normalised to sum 1, then rounded half away
/// from zero to <see cref="PrecisionBits"/> fractional bits — because the reference preprocessing is
/// Pillow's and its 8-bit outputs are only reproduced bit for bit with the same integers.
/// Each output pixel's taps depend only on the sizes and its own index, so a window (the part a
/// centre crop keeps) can be computed alone; that keeps tables small for extreme aspect ratios.
/// </summary>
internal sealed class ResampleCoefficients
{
    /// <summary>Fractional bits of the weights: 32 - 8 (pixel) - 2 (headroom for negative lobes/overshoot).</summary>
    public const int PrecisionBits = 32 - 8 - 2;

    /// <summary>The accumulator's starting value: one half, so that the final shift rounds.</summary>
    public const int Half = 1 << (PrecisionBits - 1);

    /// <summary>Support of the bicubic kernel at scale 1 (it is zero beyond |x| = 2).</summary>
    private const double BicubicSupport = 2.0;

    // Tables are reused across images of the same size; a bounded cache, as image sizes in a data
    // set are usually few but not necessarily.
    private const int MaxCached = 512;
    private static readonly ConcurrentDictionary<(int In, int Out, int Start, int Length), ResampleCoefficients> Cache = new();

    private ResampleCoefficients(int inSize, int outSize, int start, int kernelSize, int[] first, int[] count, int[] weights)
    {
        InSize = inSize;
        OutSize = outSize;
        Start = start;
        KernelSize = kernelSize;
        First = first;
        Count = count;
        Weights = weights;
    }

    /// <summary>Input length along the axis.</summary>
    public int InSize { get; }

    /// <summary>Output length along the axis.</summary>
    public int OutSize { get; }

    /// <summary>First output pixel of the window; entry <c>i</c> of the tables is output pixel <c>Start + i</c>.</summary>
    public int Start { get; }

    /// <summary>Number of output pixels in the window.</summary>
    public int Length => First.Length;

    /// <summary>Row length of <see cref="Weights"/>: the most taps any output pixel can have.</summary>
    public int KernelSize { get; }

    /// <summary>Per window pixel, the first input pixel it reads.</summary>
    public int[] First { get; }

    /// <summary>Per window pixel, how many input pixels it reads (starting at <see cref="First"/>).</summary>
    public int[] Count { get; }

    /// <summary>Per window pixel <c>i</c>, its weights at <c>[i * KernelSize, i * KernelSize + Count[i])</c>.</summary>
    public int[] Weights { get; }

    /// <summary>The (cached) coefficients of output pixels [<paramref name="start"/>, <paramref name="start"/> + <paramref name="length"/>)
    /// when resizing <paramref name="inSize"/> to <paramref name="outSize"/>.</summary>
    public static ResampleCoefficients Get(int inSize, int outSize, int start, int length)
    {
        var key = (inSize, outSize, start, length);
        if (Cache.TryGetValue(key, out var cached))
            return cached;
        var computed = Compute(inSize, outSize, start, length);
        if (Cache.Count >= MaxCached)
            Cache.Clear();
        Cache.TryAdd(key, computed);
        return computed;
    }

    /// <summary>Pillow's bicubic kernel with a = -0.5, written in the same operation order.</summary>
    internal static double Bicubic(double x)
    {
        const double a = -0.5;
        if (x < 0.0)
            x = -x;
        if (x < 1.0)
            return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
        if (x < 2.0)
            return (((x - 5) * x + 8) * x - 4) * a;
        return 0.0;
    }

    /// <summary>Computes a window of the table (no cache). The whole input is the source box, as in <c>Image.resize</c> without <c>box</c>.</summary>
    internal static ResampleCoefficients Compute(int inSize, int outSize, int start, int length)
    {
        if (inSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(inSize), inSize, "Input size must be positive.");
        if (outSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(outSize), outSize, "Output size must be positive.");
        if (start < 0 || length <= 0 || start + length > outSize)
            throw new ArgumentOutOfRangeException(nameof(start), $"Window [{start}, {start + length}) is not inside [0, {outSize}).");

        // Pillow passes the box as C floats; (float)inSize is exact for any size we accept.
        double scale = (double)(float)inSize / outSize;
        // When shrinking, the kernel is stretched by the scale factor: this is the antialiasing.
        double filterScale = Math.Max(scale, 1.0);
        double support = BicubicSupport * filterScale;
        int kernelSize = (int)Math.Ceiling(support) * 2 + 1;
        if ((long)length * kernelSize > int.MaxValue / 8)
            throw new ArgumentOutOfRangeException(nameof(outSize), outSize, $"Resampling {inSize} to {outSize} pixels needs too large a filter table.");

        var first = new int[length];
        var count = new int[length];
        var weights = new int[length * kernelSize];
        var taps = new double[kernelSize];
        double inverseFilterScale = 1.0 / filterScale;
        for (int index = 0; index < length; index++)
        {
            int o = start + index;
            double center = (o + 0.5) * scale;
            // (int) truncates toward zero like C's cast; both ends are then clamped to the image.
            int lo = (int)(center - support + 0.5);
            if (lo < 0)
                lo = 0;
            int hi = (int)(center + support + 0.5);
            if (hi > inSize)
                hi = inSize;
            int n = hi - lo;
            double sum = 0.0;
            for (int i = 0; i < n; i++)
            {
                double w = Bicubic((i + lo - center + 0.5) * inverseFilterScale);
                taps[i] = w;
                sum += w;
            }
            int row = index * kernelSize;
            for (int i = 0; i < n; i++)
            {
                double w = sum != 0.0 ? taps[i] / sum : taps[i];
                // Round half away from zero into fixed point, as Pillow's normalize_coeffs_8bpc.
                weights[row + i] = w < 0
                    ? (int)(-0.5 + w * (1 << PrecisionBits))
                    : (int)(0.5 + w * (1 << PrecisionBits));
            }
            first[index] = lo;
            count[index] = n;
        }
        return new ResampleCoefficients(inSize, outSize, start, kernelSize, first, count, weights);
    }

    /// <summary>The 8-bit value of an accumulator: shift out the fraction and clamp to [0, 255].</summary>
    public static byte Clip8(int accumulator)
    {
        int v = accumulator >> PrecisionBits;
        return (byte)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}
