using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>A resize to <see cref="Width"/> x <see cref="Height"/> of which only the window at (<see cref="Left"/>,
/// <see cref="Top"/>), <see cref="CropWidth"/> x <see cref="CropHeight"/> is kept.</summary>
internal readonly record struct ResizeCrop(int Width, int Height, int Left, int Top, int CropWidth, int CropHeight);

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
internal static partial class PillowResize
{
    /// <summary>
    /// Resizes <paramref name="source"/> to <paramref name="target"/>'s size, keeps its crop window and writes it as
    /// RGB bytes (HWC) into <paramref name="rgb"/>. The rows read are those <see cref="SourceWindow"/> names.
    /// </summary>
    public static void ResizeCropToRgb(PixelRows source, in ResizeCrop target, Span<byte> rgb)
    {
        var t = target;
        if (t.Left < 0 || t.Top < 0 || t.CropWidth <= 0 || t.CropHeight <= 0
            || t.Left + t.CropWidth > t.Width || t.Top + t.CropHeight > t.Height)
            throw new ArgumentOutOfRangeException(nameof(target), $"Crop window ({t.Left}, {t.Top}, {t.CropWidth}x{t.CropHeight}) does not fit in {t.Width}x{t.Height}.");
        if (rgb.Length < t.CropWidth * t.CropHeight * 3)
            throw new ArgumentException($"Destination holds {rgb.Length} bytes, {t.CropWidth * t.CropHeight * 3} needed.", nameof(rgb));
        var window = SourceWindow(source.Width, source.Height, t, source.NearestNeighbor);
        if (window.Left < source.Left || window.Right > source.Left + source.Columns)
            throw new InvalidOperationException($"The source holds columns [{source.Left}, {source.Left + source.Columns}), the resize reads [{window.Left}, {window.Right}).");

        int cropBytes = t.CropWidth * t.CropHeight * source.Channels;
        // An RGB result needs no conversion: the resize writes straight into the destination.
        bool direct = source.Format == DecodedPixelFormat.Rgb;
        var cropped = direct ? null : ArrayPool<byte>.Shared.Rent(cropBytes);
        var resized = direct ? rgb[..cropBytes] : cropped.AsSpan(0, cropBytes);
        try
        {
            bool premultiplied;
            if (t.Width == source.Width && t.Height == source.Height)
            {
                // PIL returns a copy without touching the pixels (no premultiplication round trip).
                CopyWindow(source, t, resized);
                premultiplied = source.AlphaPremultiplied;
            }
            else if (source.NearestNeighbor)
            {
                Nearest(source, t, resized);
                premultiplied = source.AlphaPremultiplied;
            }
            else
            {
                Bicubic(source, t, resized);
                premultiplied = source.HasAlpha;
            }
            if (!direct)
                ToRgb(resized, source.Format, premultiplied, rgb);
        }
        finally
        {
            if (cropped != null)
                ArrayPool<byte>.Shared.Return(cropped);
        }
    }

    /// <summary>
    /// The source pixels (columns <c>Left</c> to <c>Right</c>, rows <c>Top</c> to <c>Bottom</c>, ends excluded) that
    /// resizing a <paramref name="width"/> x <paramref name="height"/> image to <paramref name="target"/> reads: the taps
    /// of the kept output pixels only. A decoder needs to produce no other pixel.
    /// </summary>
    public static (int Left, int Top, int Right, int Bottom) SourceWindow(int width, int height, in ResizeCrop target, bool nearestNeighbor)
    {
        var t = target;
        if (t.Width == width && t.Height == height)
            return (t.Left, t.Top, t.Left + t.CropWidth, t.Top + t.CropHeight);
        if (nearestNeighbor)
            return (0, 0, width, height);
        var (left, right) = t.Width != width ? Span(ResampleCoefficients.Get(width, t.Width, t.Left, t.CropWidth)) : (t.Left, t.Left + t.CropWidth);
        var (top, bottom) = t.Height != height ? Span(ResampleCoefficients.Get(height, t.Height, t.Top, t.CropHeight)) : (t.Top, t.Top + t.CropHeight);
        return (left, top, right, bottom);

        // Tap windows move monotonically with the output pixel: the first starts lowest, the last ends highest.
        static (int, int) Span(ResampleCoefficients c) => (c.First[0], c.First[c.Length - 1] + c.Count[c.Length - 1]);
    }

    /// <summary>Kept pixels of an image whose size does not change: a plain copy.</summary>
    private static void CopyWindow(PixelRows source, in ResizeCrop t, Span<byte> destination)
    {
        int channels = source.Channels, stride = source.PixelStride;
        int rowBytes = t.CropWidth * channels;
        for (int y = 0; y < t.CropHeight; y++)
            PackPixels(source.Row(t.Top + y)[((t.Left - source.Left) * stride)..], stride, channels, t.CropWidth, destination.Slice(y * rowBytes, rowBytes));
    }

    /// <summary>Copies <paramref name="count"/> pixels stored <paramref name="stride"/> bytes apart into <paramref name="channels"/> bytes each.</summary>
    private static void PackPixels(ReadOnlySpan<byte> source, int stride, int channels, int count, Span<byte> destination)
    {
        if (stride == channels)
        {
            source[..(count * channels)].CopyTo(destination);
        }
        else if (stride == 4 && channels == 3)
        {
            DecodedImage.DropAlpha(source[..(count * stride)], destination[..(count * channels)]);
        }
        else
        {
            for (int i = 0; i < count; i++)
                source.Slice(i * stride, channels).CopyTo(destination.Slice(i * channels, channels));
        }
    }

    /// <summary>Pillow's nearest-neighbour scaling: sample at the pixel centres, positions accumulated in double.</summary>
    private static void Nearest(PixelRows source, in ResizeCrop t, Span<byte> destination)
    {
        int channels = source.Channels, stride = source.PixelStride;
        int left = t.Left, top = t.Top, w = t.CropWidth, h = t.CropHeight;
        double xStep = (double)source.Width / t.Width, yStep = (double)source.Height / t.Height;
        // Positions are accumulated from the first pixel, as Pillow does, but only the window is kept.
        var columns = ArrayPool<int>.Shared.Rent(w);
        try
        {
            double xo = xStep * 0.5;
            for (int x = 0; x < left + w; x++, xo += xStep)
            {
                if (x >= left)
                    columns[x - left] = (Math.Min((int)xo, source.Width - 1) - source.Left) * stride;
            }
            double yo = yStep * 0.5;
            for (int y = 0; y < top + h; y++, yo += yStep)
            {
                if (y < top)
                    continue;
                var row = source.Row(Math.Min((int)yo, source.Height - 1));
                int outIndex = (y - top) * w * channels;
                for (int x = 0; x < w; x++)
                {
                    int src = columns[x];
                    for (int c = 0; c < channels; c++)
                        destination[outIndex++] = row[src + c];
                }
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(columns);
        }
    }

    private static void Bicubic(PixelRows source, in ResizeCrop t, Span<byte> destination)
    {
        int channels = source.Channels, stride = source.PixelStride;
        int left = t.Left, top = t.Top, w = t.CropWidth, h = t.CropHeight;
        bool premultiply = source.HasAlpha && !source.AlphaPremultiplied;
        bool horizontal = t.Width != source.Width;
        bool vertical = t.Height != source.Height;
        // Tables for the kept window only: entry i is output column left + i / row top + i.
        var vc = vertical ? ResampleCoefficients.Get(source.Height, t.Height, top, h) : null;
        var hc = horizontal ? ResampleCoefficients.Get(source.Width, t.Width, left, w) : null;

        // Source rows the kept output rows read.
        int rowLo = vc != null ? vc.First[0] : top;
        int rowHi = vc != null ? vc.First[h - 1] + vc.Count[h - 1] : top + h;
        int tempRows = rowHi - rowLo;
        int tempRowBytes = w * channels;

        // One byte of slack: the vectorised horizontal pass stores 4 bytes for each 3-byte pixel.
        var temp = ArrayPool<byte>.Shared.Rent(tempRows * tempRowBytes + 1);
        var scratch = premultiply ? ArrayPool<byte>.Shared.Rent(source.Columns * stride) : null;
        try
        {
            for (int r = 0; r < tempRows; r++)
            {
                var row = source.Row(rowLo + r);
                if (premultiply)
                {
                    // Alpha formats are stored packed (stride = channels).
                    Premultiply(row, channels, scratch);
                    row = scratch.AsSpan(0, row.Length);
                }
                var outRow = temp.AsSpan(r * tempRowBytes);
                if (horizontal)
                    HorizontalRow(row, source.Left, stride, hc!, channels, outRow);
                else
                    PackPixels(row[((left - source.Left) * stride)..], stride, channels, w, outRow);
            }

            int outRowBytes = w * channels;
            if (vertical)
            {
                var accumulator = ArrayPool<int>.Shared.Rent(outRowBytes);
                try
                {
                    for (int y = 0; y < h; y++)
                        VerticalRow(temp, tempRowBytes, vc!, y, rowLo, accumulator.AsSpan(0, outRowBytes),
                            destination.Slice(y * outRowBytes, outRowBytes));
                }
                finally
                {
                    ArrayPool<int>.Shared.Return(accumulator);
                }
            }
            else
            {
                for (int y = 0; y < h; y++)
                    temp.AsSpan((top + y - rowLo) * tempRowBytes, outRowBytes).CopyTo(destination.Slice(y * outRowBytes, outRowBytes));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(temp);
            if (scratch != null)
                ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Output row <paramref name="yy"/> of <paramref name="vc"/>'s window: a weighted sum of whole temp rows. The sums are integers,
    /// so adding a row at a time (vectorised) gives exactly Pillow's per-pixel result.
    /// </summary>
    private static void VerticalRow(byte[] temp, int tempRowBytes, ResampleCoefficients vc, int yy, int rowLo,
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
            var src = temp.AsSpan((first + i) * tempRowBytes, length);
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
