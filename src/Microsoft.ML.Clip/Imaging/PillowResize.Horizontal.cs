using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Microsoft.ML.Clip.Imaging;

// The horizontal pass: for each kept output column, a weighted sum of its source pixels in 22-bit fixed point, rounded
// and clipped to 8 bits. The sums are integers, so any order and any vector width give Pillow's bytes exactly.
internal static partial class PillowResize
{
    /// <summary>Which implementation of the horizontal pass runs (tests pin each one against the scalar code).</summary>
    internal enum HorizontalKernel
    {
        Scalar,
        Vector128,
        Avx2,
    }

    /// <summary>The fastest kernel this CPU runs for 4-byte pixels.</summary>
    internal static HorizontalKernel BestKernel { get; } =
        Avx2.IsSupported ? HorizontalKernel.Avx2 : Vector128.IsHardwareAccelerated ? HorizontalKernel.Vector128 : HorizontalKernel.Scalar;

    /// <summary>
    /// One row of the horizontal pass, for the output columns of <paramref name="hc"/>'s window. <paramref name="row"/>
    /// starts at image column <paramref name="rowLeft"/> and holds pixels <paramref name="stride"/> bytes apart, of which the
    /// first <paramref name="channels"/> are resampled; <paramref name="outRow"/> receives <paramref name="channels"/> bytes a
    /// pixel and has one byte of slack after them when <paramref name="channels"/> is 3 and the stride 4.
    /// </summary>
    internal static void HorizontalRow(ReadOnlySpan<byte> row, int rowLeft, int stride, ResampleCoefficients hc, int channels, Span<byte> outRow,
        HorizontalKernel? kernel = null)
    {
        // The tap windows must lie inside the row: the loops below read through refs without range checks.
        int last = hc.Length - 1;
        if (hc.First[0] < rowLeft || (hc.First[last] + hc.Count[last] - rowLeft) * stride > row.Length)
            throw new ArgumentException($"Row of {row.Length / stride} pixels from column {rowLeft} does not hold the taps [{hc.First[0]}, {hc.First[last] + hc.Count[last]}).", nameof(row));
        bool wide = stride == 4;
        if (outRow.Length < hc.Length * channels + (wide && channels == 3 ? 1 : 0))
            throw new ArgumentException($"Output row holds {outRow.Length} bytes, too few for {hc.Length} pixels.", nameof(outRow));

        switch (wide ? kernel ?? BestKernel : HorizontalKernel.Scalar)
        {
            case HorizontalKernel.Avx2 when Avx2.IsSupported:
                HorizontalRow4Avx2(row, rowLeft, hc, channels, outRow);
                break;
            case HorizontalKernel.Vector128 when Vector128.IsHardwareAccelerated:
                HorizontalRow4Vector128(row, rowLeft, hc, channels, outRow);
                break;
            default:
                HorizontalRowScalar(row, rowLeft, stride, hc, channels, outRow);
                break;
        }
    }

    /// <summary>Any stride and channel count, one channel sum per register.</summary>
    private static void HorizontalRowScalar(ReadOnlySpan<byte> row, int rowLeft, int stride, ResampleCoefficients hc, int channels, Span<byte> outRow)
    {
        int k = hc.KernelSize;
        ref byte src0 = ref MemoryMarshal.GetReference(row);
        ref int w0 = ref MemoryMarshal.GetArrayDataReference(hc.Weights);
        ref byte dst = ref MemoryMarshal.GetReference(outRow);
        int o = 0;
        for (int xx = 0; xx < hc.Length; xx++)
        {
            int n = hc.Count[xx];
            ref int taps = ref Unsafe.Add(ref w0, xx * k);
            ref byte src = ref Unsafe.Add(ref src0, (hc.First[xx] - rowLeft) * stride);
            switch (channels)
            {
                case 1:
                {
                    int s0 = ResampleCoefficients.Half;
                    for (int i = 0; i < n; i++)
                        s0 += Unsafe.Add(ref src, i * stride) * Unsafe.Add(ref taps, i);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s0);
                    break;
                }
                case 3:
                {
                    int s0 = ResampleCoefficients.Half, s1 = s0, s2 = s0;
                    for (int i = 0; i < n; i++)
                    {
                        int t = Unsafe.Add(ref taps, i);
                        ref byte p = ref Unsafe.Add(ref src, i * stride);
                        s0 += p * t;
                        s1 += Unsafe.Add(ref p, 1) * t;
                        s2 += Unsafe.Add(ref p, 2) * t;
                    }
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s0);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s1);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s2);
                    break;
                }
                case 4:
                {
                    int s0 = ResampleCoefficients.Half, s1 = s0, s2 = s0, s3 = s0;
                    for (int i = 0; i < n; i++)
                    {
                        int t = Unsafe.Add(ref taps, i);
                        ref byte p = ref Unsafe.Add(ref src, i * stride);
                        s0 += p * t;
                        s1 += Unsafe.Add(ref p, 1) * t;
                        s2 += Unsafe.Add(ref p, 2) * t;
                        s3 += Unsafe.Add(ref p, 3) * t;
                    }
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s0);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s1);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s2);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s3);
                    break;
                }
                default:
                {
                    for (int c = 0; c < channels; c++)
                    {
                        int s = ResampleCoefficients.Half;
                        for (int i = 0; i < n; i++)
                            s += Unsafe.Add(ref src, i * stride + c) * Unsafe.Add(ref taps, i);
                        Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s);
                    }
                    break;
                }
            }
        }
    }

    /// <summary>
    /// 4-byte pixels (RGBX or RGBA), two taps per step: the 8 bytes of two neighbouring pixels widened to eight 32-bit
    /// lanes, times their two weights (each repeated four times), accumulated; the halves are added at the end.
    /// </summary>
    private static void HorizontalRow4Avx2(ReadOnlySpan<byte> row, int rowLeft, ResampleCoefficients hc, int channels, Span<byte> outRow)
    {
        int k = hc.KernelSize;
        ref byte src0 = ref MemoryMarshal.GetReference(row);
        ref int w0 = ref MemoryMarshal.GetArrayDataReference(hc.Weights);
        ref byte dst = ref MemoryMarshal.GetReference(outRow);
        var half = Vector128.Create(ResampleCoefficients.Half);
        var pairIndex = Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1);
        int o = 0;
        for (int xx = 0; xx < hc.Length; xx++)
        {
            int n = hc.Count[xx];
            ref byte taps = ref Unsafe.As<int, byte>(ref Unsafe.Add(ref w0, xx * k));
            ref byte src = ref Unsafe.Add(ref src0, (hc.First[xx] - rowLeft) * 4);
            var pairs = Vector256<int>.Zero;
            int i = 0;
            for (; i + 1 < n; i += 2)
            {
                var pixels = Avx2.ConvertToVector256Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, i * 4))).AsByte());
                var weights = Avx2.PermuteVar8x32(Vector256.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref taps, i * 4))).AsInt32(), pairIndex);
                pairs += pixels * weights;
            }
            var sum = half + pairs.GetLower() + pairs.GetUpper();
            if (i < n)
                sum += Sse41.ConvertToVector128Int32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, i * 4))).AsByte())
                    * Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref taps, i * 4)));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, o), PackClip8(sum));
            o += channels;
        }
    }

    /// <summary>4-byte pixels, one tap per step, with the portable 128-bit vector API (ARM64's AdvSimd, older x64).</summary>
    private static void HorizontalRow4Vector128(ReadOnlySpan<byte> row, int rowLeft, ResampleCoefficients hc, int channels, Span<byte> outRow)
    {
        int k = hc.KernelSize;
        ref byte src0 = ref MemoryMarshal.GetReference(row);
        ref int w0 = ref MemoryMarshal.GetArrayDataReference(hc.Weights);
        ref byte dst = ref MemoryMarshal.GetReference(outRow);
        int o = 0;
        for (int xx = 0; xx < hc.Length; xx++)
        {
            int n = hc.Count[xx];
            ref int taps = ref Unsafe.Add(ref w0, xx * k);
            ref byte src = ref Unsafe.Add(ref src0, (hc.First[xx] - rowLeft) * 4);
            var sum = Vector128.Create(ResampleCoefficients.Half);
            for (int i = 0; i < n; i++)
            {
                var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(ref Unsafe.Add(ref src, i * 4))).AsByte();
                var pixel = Vector128.WidenLower(Vector128.WidenLower(bytes)).AsInt32();
                sum += pixel * Vector128.Create(Unsafe.Add(ref taps, i));
            }
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, o), PackClip8(sum));
            o += channels;
        }
    }

    /// <summary><see cref="ResampleCoefficients.Clip8"/> of four sums, packed into the four bytes of a uint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint PackClip8(Vector128<int> sums)
    {
        var shifted = Vector128.ShiftRightArithmetic(sums, ResampleCoefficients.PrecisionBits);
        if (Sse2.IsSupported)
        {
            // Saturating packs clamp to [-32768, 32767] and then [0, 255]: the same as clamping to [0, 255].
            var words = Sse2.PackSignedSaturate(shifted, shifted);
            return Sse2.PackUnsignedSaturate(words, words).AsUInt32().ToScalar();
        }
        var clamped = Vector128.Min(Vector128.Max(shifted, Vector128<int>.Zero), Vector128.Create(255)).AsUInt32();
        var narrow = Vector128.Narrow(Vector128.Narrow(clamped, clamped), Vector128.Narrow(clamped, clamped));
        return narrow.AsUInt32().ToScalar();
    }
}
