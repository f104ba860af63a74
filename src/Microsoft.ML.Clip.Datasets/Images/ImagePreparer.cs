using Microsoft.ML.Clip.IO;
using SkiaSharp;

namespace Microsoft.ML.Clip.Datasets.Images;

/// <summary>
/// Optional one-time preparation of pair images, cached as PNG: shrink so the longer side is at most
/// <see cref="MaxSide"/> (aspect kept; smaller images keep their size) and/or composite transparency onto a
/// background colour. Why: the sets mix 64 px emoji with clip art up to 4096 px, and most of their images are
/// transparent — a PIL-faithful <c>convert("RGB")</c> turns transparent pixels into whatever colour they store
/// (usually black), which hides OpenMoji's black outlines. Preparing once keeps every training epoch's decode small.
/// </summary>
public sealed class ImagePreparer
{
    private readonly string _cacheDirectory;
    private readonly SKColor? _background;

    /// <summary>Creates a preparer writing under <paramref name="cacheDirectory"/>.</summary>
    /// <param name="cacheDirectory">The cache root; a sub-folder per setting is used.</param>
    /// <param name="maxSide">Largest side of the prepared image; null keeps the size.</param>
    /// <param name="background">Background colour (<c>white</c>, <c>black</c> or <c>#RRGGBB</c>); null keeps transparency.</param>
    public ImagePreparer(string cacheDirectory, int? maxSide, string? background)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        if (maxSide is < 8)
            throw new ArgumentOutOfRangeException(nameof(maxSide), maxSide, "The prepared image side must be at least 8 pixels.");
        _background = background is null ? null : ParseColour(background);
        MaxSide = maxSide;
        var name = "prepared" + (maxSide is null ? "" : $"-{maxSide}") + (_background is null ? "" : $"-{_background.Value.ToString().TrimStart('#')}");
        _cacheDirectory = Path.Combine(cacheDirectory, name);
    }

    private static SKColor ParseColour(string text) => text.ToLowerInvariant() switch
    {
        "white" => SKColors.White,
        "black" => SKColors.Black,
        _ when text.StartsWith('#') && SKColor.TryParse(text, out var colour) => colour,
        _ => throw new ArgumentException($"Background '{text}' is not a colour (use white, black or #RRGGBB).", "background"),
    };

    /// <summary>Largest side of prepared images, or null.</summary>
    public int? MaxSide { get; }

    /// <summary>The preparer <paramref name="options"/> ask for, or null when they keep the original files.</summary>
    internal static ImagePreparer? From(string dataDirectory, DatasetOptions options) =>
        options.PreparedImageSide is null && options.Background is null
            ? null
            : new ImagePreparer(DataPaths.CacheDirectory(dataDirectory, options), options.PreparedImageSide, options.Background);

    /// <summary>The prepared PNG for <paramref name="imagePath"/> (made now if missing), cached as <paramref name="relativeName"/>.</summary>
    /// <exception cref="InvalidDataException">The image cannot be decoded; the message names the file.</exception>
    public string GetOrPrepare(string imagePath, string relativeName)
    {
        var pngPath = Path.Combine(_cacheDirectory, relativeName + ".png");
        if (File.Exists(pngPath))
            return pngPath;
        var png = Prepare(imagePath);
        Directory.CreateDirectory(Path.GetDirectoryName(pngPath)!);
        // Whole or not at all, as SvgRasterizer writes its PNGs.
        AtomicFile.Write(pngPath, stream => stream.Write(png));
        return pngPath;
    }

    private byte[] Prepare(string imagePath)
    {
        using var codec = SKCodec.Create(imagePath)
            ?? throw new InvalidDataException($"Image '{imagePath}' could not be decoded (missing, corrupt or an unsupported format).");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        var scale = MaxSide is int side && Math.Max(width, height) > side ? (float)side / Math.Max(width, height) : 1f;
        // Decoding at a reduced scale first (JPEG/WebP can) would save work, but PNG cannot: decode in full once.
        using var source = SKBitmap.Decode(codec)
            ?? throw new InvalidDataException($"Image '{imagePath}' could not be decoded.");
        var (targetWidth, targetHeight) = (Math.Max(1, (int)Math.Round(width * scale)), Math.Max(1, (int)Math.Round(height * scale)));
        using var surface = SKSurface.Create(new SKImageInfo(targetWidth, targetHeight, SKColorType.Rgba8888, SKAlphaType.Premul))
            ?? throw new InvalidOperationException($"Skia could not create a {targetWidth}×{targetHeight} surface.");
        var canvas = surface.Canvas;
        canvas.Clear(_background ?? SKColors.Transparent);
        using var image = SKImage.FromBitmap(source);
        var sampling = scale < 1f ? new SKSamplingOptions(SKCubicResampler.Mitchell) : new SKSamplingOptions(SKFilterMode.Nearest);
        canvas.DrawImage(image, new SKRect(0, 0, targetWidth, targetHeight), sampling);
        canvas.Flush();
        using var snapshot = surface.Snapshot();
        using var data = snapshot.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }
}
