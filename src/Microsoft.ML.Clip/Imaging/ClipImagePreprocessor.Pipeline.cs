using System.Buffers;

namespace Microsoft.ML.Clip.Imaging;

/// <summary>
/// Turns an image into the CLIP image encoder's input: a float32 CHW tensor [3, N, N], bit-exact with
/// OpenAI's <c>_transform(N)</c> (torchvision 0.14 over Pillow 9.4) for the OpenAI preset.
/// </summary>
/// <remarks>
/// <see cref="ClipResizeMode.ShortestSideCenterCrop"/>: the shorter side is resized to N and the longer
/// to <c>int(N * long / short)</c> with PIL's antialiased bicubic filter, then the centre N x N is kept
/// (offsets <c>round((size - N) / 2)</c>, half to even); <see cref="ClipResizeMode.Squash"/>: both
/// sides to N with the same filter. Then <c>convert('RGB')</c> (grey replicated, alpha dropped, not
/// composited) — or before the resize with <see cref="ClipPreprocessSettings.ConvertRgbFirst"/> —, scaling to [0, 1]
/// and <c>(x - mean) / std</c> per channel in float32.
/// Instances are immutable and thread-safe.
/// </remarks>
public sealed class ClipImagePreprocessor
{
    // Per channel, the normalised value of each byte: (b / 255f - mean) / std, computed once with the
    // same float32 operations torchvision uses, so a lookup gives the same bits as computing per pixel.
    private readonly float[][] _lookup;

    // Plan as a delegate made once, not per image.
    private readonly Func<int, int, ResizeCrop> _plan;

    /// <summary>Creates a preprocessor.</summary>
    /// <param name="settings">Size, resize mode, mean and standard deviation.</param>
    /// <param name="options">Decoding limits; <see cref="ClipImageDecodeOptions.Default"/> when null.</param>
    public ClipImagePreprocessor(ClipPreprocessSettings settings, ClipImageDecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.Resolution <= 0)
            throw new ArgumentOutOfRangeException(nameof(settings), settings.Resolution, "Resolution must be positive.");
        if (settings.Mean is not { Length: 3 })
            throw new ArgumentException($"Mean must have 3 values (R, G, B), got {settings.Mean?.Length ?? 0}.", nameof(settings));
        if (settings.Std is not { Length: 3 } || settings.Std.Any(s => !(s > 0) || float.IsInfinity(s)))
            throw new ArgumentException("Std must have 3 positive, finite values (R, G, B).", nameof(settings));
        if (!Enum.IsDefined(settings.ResizeMode))
            throw new ArgumentOutOfRangeException(nameof(settings), settings.ResizeMode, "Unknown resize mode.");
        if (options is { MaxPixels: <= 0 })
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPixels, "MaxPixels must be positive.");
        Settings = settings;
        DecodeOptions = options ?? ClipImageDecodeOptions.Default;
        _plan = Plan;
        _lookup = new float[3][];
        for (int c = 0; c < 3; c++)
        {
            float mean = settings.Mean[c], std = settings.Std[c];
            _lookup[c] = new float[256];
            for (int i = 0; i < 256; i++)
                _lookup[c][i] = (i / 255f - mean) / std;
        }
    }

    /// <summary>The preprocessing settings.</summary>
    public ClipPreprocessSettings Settings { get; }

    /// <summary>The decoding limits.</summary>
    public ClipImageDecodeOptions DecodeOptions { get; }

    /// <summary>Side N of the output.</summary>
    public int Resolution => Settings.Resolution;

    /// <summary>Number of floats one image produces: 3 * N * N.</summary>
    public int OutputLength => 3 * Resolution * Resolution;

    /// <summary>Decodes <paramref name="encodedImage"/> (PNG, JPEG, ...) and writes the normalised CHW tensor.</summary>
    /// <param name="encodedImage">The encoded file's bytes.</param>
    /// <param name="destination">At least <see cref="OutputLength"/> floats; the first <see cref="OutputLength"/> are written.</param>
    /// <param name="sourceName">Named in error messages (a file name, a row id); optional.</param>
    /// <exception cref="InvalidDataException">The bytes are empty, corrupt, truncated, too large or not a supported image.</exception>
    public void Preprocess(ReadOnlySpan<byte> encodedImage, Span<float> destination, string? sourceName = null)
    {
        CheckDestination(destination.Length);
        // Decoded straight into pooled rows, only where the resize reads (see ClipImageDecoder.OpenRows).
        using var rows = OpenRows(encodedImage, sourceName, out var target);
        Preprocess(rows, target, destination);
        // The rows past the crop are still read, so that a truncated file fails as with a whole decode.
        (rows as JpegRows)?.Finish();
    }

    /// <summary>Reads and decodes an image file and writes the normalised CHW tensor.</summary>
    /// <param name="path">The image file.</param>
    /// <param name="destination">At least <see cref="OutputLength"/> floats.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty, corrupt, truncated, too large or not a supported image.</exception>
    public void PreprocessFile(string path, Span<float> destination)
    {
        CheckDestination(destination.Length);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image file '{path}' was not found.", path);
        Preprocess(File.ReadAllBytes(path), destination, path);
    }

    /// <summary>Writes the normalised CHW tensor of an already decoded image.</summary>
    /// <param name="image">The image (see <see cref="DecodedImage.FromMLImage"/> for ML.NET images).</param>
    /// <param name="destination">At least <see cref="OutputLength"/> floats.</param>
    public void Preprocess(DecodedImage image, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        CheckDestination(destination.Length);
        using var rows = RowsOf(image);
        Preprocess(rows, Plan(image.Width, image.Height), destination);
    }

    /// <summary>A decoded image as rows for the resizer, converted to RGB first when <see cref="ClipPreprocessSettings.ConvertRgbFirst"/>.</summary>
    private PixelRows RowsOf(DecodedImage image)
        => ArrayPixelRows.Over(Settings.ConvertRgbFirst ? image.ConvertedToRgb() : image);

    /// <summary>An encoded image opened as rows for the resizer (see <see cref="ClipImageDecoder.OpenRows"/>), converted
    /// to RGB first when <see cref="ClipPreprocessSettings.ConvertRgbFirst"/>.</summary>
    private PixelRows OpenRows(ReadOnlySpan<byte> encodedImage, string? sourceName, out ResizeCrop target)
    {
        var rows = ClipImageDecoder.OpenRows(encodedImage, sourceName, DecodeOptions, _plan, out target);
        if (Settings.ConvertRgbFirst)
            rows.ConvertToRgbFirst();
        return rows;
    }

    /// <summary>
    /// The 8-bit RGB image just before scaling and normalisation (HWC [N, N, 3]) of an encoded image, decoded the way
    /// <see cref="Preprocess(ReadOnlySpan{byte}, Span{float}, string?)"/> decodes it (only the rows and columns read).
    /// </summary>
    internal void ResizeAndCropRgb(ReadOnlySpan<byte> encodedImage, Span<byte> destination, string? sourceName = null)
    {
        using var rows = OpenRows(encodedImage, sourceName, out var target);
        PillowResize.ResizeCropToRgb(rows, target, destination);
        (rows as JpegRows)?.Finish();
    }

    /// <summary>Resize, crop, convert to RGB and normalise into the CHW tensor.</summary>
    private void Preprocess(PixelRows rows, in ResizeCrop target, Span<float> destination)
    {
        int n = Resolution, plane = n * n;
        var rgb = ArrayPool<byte>.Shared.Rent(plane * 3);
        try
        {
            PillowResize.ResizeCropToRgb(rows, target, rgb.AsSpan(0, plane * 3));
            for (int c = 0; c < 3; c++)
            {
                var lookup = _lookup[c];
                var output = destination.Slice(c * plane, plane);
                for (int i = 0, p = c; i < plane; i++, p += 3)
                    output[i] = lookup[rgb[p]];
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rgb);
        }
    }

    /// <summary>Decodes, preprocesses and returns a new array of <see cref="OutputLength"/> floats.</summary>
    /// <param name="encodedImage">The encoded file's bytes.</param>
    /// <param name="sourceName">Named in error messages; optional.</param>
    public float[] Preprocess(ReadOnlySpan<byte> encodedImage, string? sourceName = null)
    {
        var result = new float[OutputLength];
        Preprocess(encodedImage, result, sourceName);
        return result;
    }

    /// <summary>The 8-bit RGB image just before scaling and normalisation: HWC [N, N, 3], a new array.</summary>
    /// <param name="image">The decoded image.</param>
    public byte[] ResizeAndCropRgb(DecodedImage image)
    {
        var rgb = new byte[Resolution * Resolution * 3];
        ResizeAndCropRgb(image, rgb);
        return rgb;
    }

    /// <summary>Writes the 8-bit RGB image just before scaling and normalisation (HWC [N, N, 3]).</summary>
    /// <param name="image">The decoded image.</param>
    /// <param name="destination">At least 3 * N * N bytes.</param>
    public void ResizeAndCropRgb(DecodedImage image, Span<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(image);
        int n = Resolution;
        if (destination.Length < n * n * 3)
            throw new ArgumentException($"Destination holds {destination.Length} bytes, {n * n * 3} (3 x {n} x {n}) needed.", nameof(destination));
        using var rows = RowsOf(image);
        PillowResize.ResizeCropToRgb(rows, Plan(image.Width, image.Height), destination);
    }

    /// <summary>The resize and centre crop of a <paramref name="width"/> x <paramref name="height"/> image.</summary>
    internal ResizeCrop Plan(int width, int height)
    {
        var (w, h, left, top) = Geometry(width, height);
        return new ResizeCrop(w, h, left, top, Resolution, Resolution);
    }

    /// <summary>
    /// The resized size and the crop offsets for a <paramref name="width"/> x <paramref name="height"/>
    /// source, computed as torchvision 0.14's <c>Resize(N)</c> and <c>CenterCrop(N)</c> do.
    /// </summary>
    internal (int Width, int Height, int Left, int Top) Geometry(int width, int height)
    {
        int n = Resolution;
        if (Settings.ResizeMode == ClipResizeMode.Squash)
            return (n, n, 0, 0);
        // int(N * long / short): an exact integer product, one double division, truncation.
        int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
        int newLong = (int)((double)((long)n * longSide) / shortSide);
        var (w, h) = width <= height ? (n, newLong) : (newLong, n);
        // int(round((size - N) / 2.0)); Math.Round rounds half to even like Python's round.
        int left = (int)Math.Round((w - n) / 2.0);
        int top = (int)Math.Round((h - n) / 2.0);
        return (w, h, left, top);
    }

    private void CheckDestination(int length)
    {
        if (length < OutputLength)
            throw new ArgumentException($"Destination holds {length} floats, {OutputLength} (3 x {Resolution} x {Resolution}) needed.", "destination");
    }
}
