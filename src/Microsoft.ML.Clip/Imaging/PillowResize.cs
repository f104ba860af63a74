using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// PIL's <c>Image.resize(size, BICUBIC)</c> followed by a crop and <c>convert('RGB')</c>, computed only
/// for the pixels that survive the crop. Every output pixel of Pillow's two-pass resize depends only
/// on its own filter taps, so skipping cropped-away columns and rows gives the same bytes.
/// </summary>
/// <remarks>
/// What is reproduced from Pillow 9.4: the horizontal pass runs first, over just the source rows the
/// vertical pass will read, and its result is clipped to 8 bits before the vertical pass; a pass is
/// skipped when its axis keeps its size; an image whose size does not change is copied untouched;
/// images with alpha are resized premultiplied (<c>RGBA → RGBa → resize → RGBA</c>, with Pillow's
/// rounding both ways); palette and 1-bit images are resized with nearest neighbour.
/// </remarks>
internal static class PillowResize
{
    /// <summary>
    /// Resizes <paramref name="image"/> to <paramref name="outWidth"/> x <paramref name="outHeight"/>, keeps the
    /// window at (<paramref name="cropLeft"/>, <paramref name="cropTop"/>) of size <paramref name="cropWidth"/> x
    /// <paramref name="cropHeight"/> and writes it as RGB bytes (HWC) into <paramref name="rgb"/>.
    /// </summary>
    public static void ResizeCropToRgb(
        DecodedImage image, int outWidth, int outHeight,
        int cropLeft, int cropTop, int cropWidth, int cropHeight, Span<byte> rgb)
    {
        if (cropLeft < 0 || cropTop < 0 || cropWidth <= 0 || cropHeight <= 0
            || cropLeft + cropWidth > outWidth || cropTop + cropHeight > outHeight)
            throw new ArgumentOutOfRangeException(nameof(cropLeft), $"Crop window ({cropLeft}, {cropTop}, {cropWidth}x{cropHeight}) does not fit in {outWidth}x{outHeight}.");
        if (rgb.Length < cropWidth * cropHeight * 3)
            throw new ArgumentException($"Destination holds {rgb.Length} bytes, {cropWidth * cropHeight * 3} needed.", nameof(rgb));

        int channels = image.Channels;
        var cropped = ArrayPool<byte>.Shared.Rent(cropWidth * cropHeight * channels);
        try
        {
            bool premultiplied;
            if (outWidth == image.Width && outHeight == image.Height)
            {
                // PIL returns a copy without touching the pixels (no premultiplication round trip).
                CopyWindow(image.Pixels, image.Width, channels, cropLeft, cropTop, cropWidth, cropHeight, cropped);
                premultiplied = image.AlphaPremultiplied;
            }
            else if (image.NearestNeighbor)
            {
                Nearest(image, outWidth, outHeight, cropLeft, cropTop, cropWidth, cropHeight, cropped);
                premultiplied = image.AlphaPremultiplied;
            }
            else
            {
                Bicubic(image, outWidth, outHeight, cropLeft, cropTop, cropWidth, cropHeight, cropped);
                premultiplied = image.HasAlpha;
            }
            ToRgb(cropped.AsSpan(0, cropWidth * cropHeight * channels), image.Format, premultiplied, rgb);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(cropped);
        }
    }

    private static void CopyWindow(byte[] pixels, int width, int channels, int left, int top, int w, int h, byte[] destination)
    {
        int rowBytes = w * channels;
        for (int y = 0; y < h; y++)
            pixels.AsSpan(((top + y) * width + left) * channels, rowBytes).CopyTo(destination.AsSpan(y * rowBytes, rowBytes));
    }

    /// <summary>Pillow's nearest-neighbour scaling: sample at the pixel centres, positions accumulated in double.</summary>
    private static void Nearest(DecodedImage image, int outWidth, int outHeight, int left, int top, int w, int h, byte[] destination)
    {
        int channels = image.Channels;
        double xStep = (double)image.Width / outWidth, yStep = (double)image.Height / outHeight;
        // Positions are accumulated from the first pixel, as Pillow does, but only the window is kept.
        var columns = new int[w];
        double xo = xStep * 0.5;
        for (int x = 0; x < left + w; x++, xo += xStep)
        {
            if (x >= left)
                columns[x - left] = Math.Min((int)xo, image.Width - 1);
        }
        double yo = yStep * 0.5;
        for (int y = 0; y < top + h; y++, yo += yStep)
        {
            if (y < top)
                continue;
            int sourceRow = Math.Min((int)yo, image.Height - 1) * image.Width;
            int outIndex = (y - top) * w * channels;
            for (int x = 0; x < w; x++)
            {
                int src = (sourceRow + columns[x]) * channels;
                for (int c = 0; c < channels; c++)
                    destination[outIndex++] = image.Pixels[src + c];
            }
        }
    }

    private static void Bicubic(DecodedImage image, int outWidth, int outHeight, int left, int top, int w, int h, byte[] destination)
    {
        int channels = image.Channels;
        bool premultiply = image.HasAlpha && !image.AlphaPremultiplied;
        bool horizontal = outWidth != image.Width;
        bool vertical = outHeight != image.Height;
        // Tables for the kept window only: entry i is output column left + i / row top + i.
        var vc = vertical ? ResampleCoefficients.Get(image.Height, outHeight, top, h) : null;
        var hc = horizontal ? ResampleCoefficients.Get(image.Width, outWidth, left, w) : null;

        // Source rows the kept output rows read.
        int rowLo = vc != null ? vc.First[0] : top;
        int rowHi = vc != null ? vc.First[h - 1] + vc.Count[h - 1] : top + h;
        int tempRows = rowHi - rowLo;
        int tempRowBytes = (horizontal ? w : image.Width) * channels;
        int tempLeft = horizontal ? 0 : left;  // without a horizontal pass the temp rows are whole source rows

        var temp = ArrayPool<byte>.Shared.Rent(tempRows * tempRowBytes);
        var scratch = premultiply ? ArrayPool<byte>.Shared.Rent(image.Width * channels) : null;
        try
        {
            int sourceRowBytes = image.Width * channels;
            for (int r = 0; r < tempRows; r++)
            {
                ReadOnlySpan<byte> row = image.Pixels.AsSpan((rowLo + r) * sourceRowBytes, sourceRowBytes);
                if (premultiply)
                {
                    Premultiply(row, channels, scratch);
                    row = scratch.AsSpan(0, sourceRowBytes);
                }
                var outRow = temp.AsSpan(r * tempRowBytes, tempRowBytes);
                if (horizontal)
                    HorizontalRow(row, hc!, channels, outRow);
                else
                    row.CopyTo(outRow);
            }

            int outRowBytes = w * channels;
            if (vertical)
            {
                var accumulator = ArrayPool<int>.Shared.Rent(outRowBytes);
                try
                {
                    for (int y = 0; y < h; y++)
                        VerticalRow(temp, tempRowBytes, tempLeft * channels, vc!, y, rowLo, accumulator.AsSpan(0, outRowBytes),
                            destination.AsSpan(y * outRowBytes, outRowBytes));
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(accumulator);
                }
            }
            else
            {
                for (int y = 0; y < h; y++)
                    temp.AsSpan((top + y - rowLo) * tempRowBytes + tempLeft * channels, outRowBytes).CopyTo(destination.AsSpan(y * outRowBytes, outRowBytes));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
            if (scratch != null)
                ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>One row of the horizontal pass, for the output columns of <paramref name="hc"/>'s window.</summary>
    private static void HorizontalRow(ReadOnlySpan<byte> row, ResampleCoefficients hc, int channels, Span<byte> outRow)
    {
        int k = hc.KernelSize;
        // Bounds were checked when the tables were built (taps stay inside the row); reading through
        // refs keeps the inner loops free of range checks.
        ref byte src0 = ref MemoryMarshal.GetReference(row);
        ref int w0 = ref MemoryMarshal.GetArrayDataReference(hc.Weights);
        ref byte dst = ref MemoryMarshal.GetReference(outRow);
        int o = 0;
        for (int xx = 0; xx < hc.Length; xx++)
        {
            int n = hc.Count[xx];
            ref int taps = ref Unsafe.Add(ref w0, xx * k);
            ref byte src = ref Unsafe.Add(ref src0, hc.First[xx] * channels);
            switch (channels)
            {
                case 1:
                {
                    int s0 = ResampleCoefficients.Half;
                    for (int i = 0; i < n; i++)
                        s0 += Unsafe.Add(ref src, i) * Unsafe.Add(ref taps, i);
                    Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s0);
                    break;
                }
                case 3:
                {
                    int s0 = ResampleCoefficients.Half, s1 = s0, s2 = s0;
                    for (int i = 0; i < n; i++)
                    {
                        int t = Unsafe.Add(ref taps, i);
                        ref byte p = ref Unsafe.Add(ref src, i * 3);
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
                        ref byte p = ref Unsafe.Add(ref src, i * 4);
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
                            s += Unsafe.Add(ref src, i * channels + c) * Unsafe.Add(ref taps, i);
                        Unsafe.Add(ref dst, o++) = ResampleCoefficients.Clip8(s);
                    }
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Output row <paramref name="yy"/> of <paramref name="vc"/>'s window: a weighted sum of whole temp rows. The sums are integers,
    /// so adding a row at a time (vectorised) gives exactly Pillow's per-pixel result.
    /// </summary>
    private static void VerticalRow(byte[] temp, int tempRowBytes, int tempOffset, ResampleCoefficients vc, int yy, int rowLo,
        Span<int> accumulator, Span<byte> outRow)
    {
        accumulator.Fill(ResampleCoefficients.Half);
        int first = vc.First[yy] - rowLo, n = vc.Count[yy];
        var taps = vc.Weights.AsSpan(yy * vc.KernelSize, n);
        int length = accumulator.Length;
        int vectorEnd = Vector.IsHardwareAccelerated ? length - length % Vector<byte>.Count : 0;
        var accumulatorVectors = MemoryMarshal.Cast<int, Vector<int>>(accumulator);
        for (int i = 0; i < n; i++)
        {
            int t = taps[i];
            var src = temp.AsSpan((first + i) * tempRowBytes + tempOffset, length);
            var weight = new Vector<int>(t);
            for (int j = 0, v = 0; j < vectorEnd; j += Vector<byte>.Count, v += 4)
            {
                Vector.Widen(new Vector<byte>(src.Slice(j)), out Vector<ushort> low, out Vector<ushort> high);
                Vector.Widen(low, out Vector<uint> a, out Vector<uint> b);
                Vector.Widen(high, out Vector<uint> c, out Vector<uint> d);
                accumulatorVectors[v] += Vector.AsVectorInt32(a) * weight;
                accumulatorVectors[v + 1] += Vector.AsVectorInt32(b) * weight;
                accumulatorVectors[v + 2] += Vector.AsVectorInt32(c) * weight;
                accumulatorVectors[v + 3] += Vector.AsVectorInt32(d) * weight;
            }
            for (int j = vectorEnd; j < length; j++)
                accumulator[j] += src[j] * t;
        }
        for (int j = 0; j < length; j++)
            outRow[j] = ResampleCoefficients.Clip8(accumulator[j]);
    }

    /// <summary>PIL's RGBA → RGBa: each colour times alpha / 255, rounded (<c>MULDIV255</c>).</summary>
    internal static void Premultiply(ReadOnlySpan<byte> row, int channels, Span<byte> destination)
    {
        int alphaIndex = channels - 1;
        for (int p = 0; p < row.Length; p += channels)
        {
            int a = row[p + alphaIndex];
            for (int c = 0; c < alphaIndex; c++)
            {
                int t = row[p + c] * a + 128;
                destination[p + c] = (byte)(((t >> 8) + t) >> 8);
            }
            destination[p + alphaIndex] = (byte)a;
        }
    }

    /// <summary>PIL's RGBa → RGBA for one colour value: <c>255 * c / a</c> truncated and clipped, untouched at alpha 0 and 255.</summary>
    internal static byte Unpremultiply(byte value, byte alpha)
        => alpha is 0 or 255 ? value : (byte)Math.Min(255, 255 * value / alpha);

    /// <summary>PIL's <c>convert('RGB')</c> (grey replicated, alpha dropped) after undoing premultiplication if any.</summary>
    private static void ToRgb(ReadOnlySpan<byte> pixels, DecodedPixelFormat format, bool premultiplied, Span<byte> rgb)
    {
        int o = 0;
        switch (format)
        {
            case DecodedPixelFormat.Gray:
                foreach (byte g in pixels)
                {
                    rgb[o++] = g;
                    rgb[o++] = g;
                    rgb[o++] = g;
                }
                break;
            case DecodedPixelFormat.GrayAlpha:
                for (int p = 0; p < pixels.Length; p += 2)
                {
                    byte g = premultiplied ? Unpremultiply(pixels[p], pixels[p + 1]) : pixels[p];
                    rgb[o++] = g;
                    rgb[o++] = g;
                    rgb[o++] = g;
                }
                break;
            case DecodedPixelFormat.Rgb:
                pixels.CopyTo(rgb);
                break;
            case DecodedPixelFormat.Rgba:
                for (int p = 0; p < pixels.Length; p += 4)
                {
                    byte a = pixels[p + 3];
                    if (premultiplied)
                    {
                        rgb[o++] = Unpremultiply(pixels[p], a);
                        rgb[o++] = Unpremultiply(pixels[p + 1], a);
                        rgb[o++] = Unpremultiply(pixels[p + 2], a);
                    }
                    else
                    {
                        rgb[o++] = pixels[p];
                        rgb[o++] = pixels[p + 1];
                        rgb[o++] = pixels[p + 2];
                    }
                }
                break;
        }
    }
}
