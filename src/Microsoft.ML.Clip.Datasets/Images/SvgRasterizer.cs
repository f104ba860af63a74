using Microsoft.ML.Clip.IO;
using SkiaSharp;
using Svg.Skia;

namespace Microsoft.ML.Clip.Datasets.Images;

/// <summary>
/// Renders SVG files to square PNGs with Svg.Skia, cached on disk: the first read renders, later reads reuse the
/// file. The drawing is scaled to fit the square (aspect ratio kept, centred) on a transparent background, like the
/// emoji PNG sets.
/// </summary>
public sealed class SvgRasterizer
{
    private readonly string _cacheDirectory;

    /// <summary>Creates a rasterizer writing <paramref name="size"/>×<paramref name="size"/> PNGs under
    /// <paramref name="cacheDirectory"/>.</summary>
    public SvgRasterizer(string cacheDirectory, int size)
    {
        ArgumentException.ThrowIfNullOrEmpty(cacheDirectory);
        if (size is < 8 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(size), size, "The render size must be between 8 and 1024 pixels.");
        _cacheDirectory = cacheDirectory;
        Size = size;
    }

    /// <summary>The side of the rendered PNGs, in pixels.</summary>
    public int Size { get; }

    /// <summary>The cached PNG for <paramref name="svgPath"/>, rendered now if missing. <paramref name="relativeName"/>
    /// names it inside the cache folder (e.g. <c>openmoji/1F600</c>).</summary>
    /// <exception cref="InvalidDataException">The SVG cannot be parsed or has no drawable size; the message names the file.</exception>
    public string GetOrRender(string svgPath, string relativeName)
    {
        var pngPath = Path.Combine(_cacheDirectory, relativeName + ".png");
        if (File.Exists(pngPath))
            return pngPath;
        var png = Render(svgPath, Size);
        Directory.CreateDirectory(Path.GetDirectoryName(pngPath)!);
        // Whole or not at all: a crash never leaves a half-written PNG that later reads would trust, nor a temporary file.
        AtomicFile.Write(pngPath, stream => stream.Write(png));
        return pngPath;
    }

    /// <summary>Renders <paramref name="svgPath"/> to a <paramref name="size"/>-pixel square PNG.</summary>
    public static byte[] Render(string svgPath, int size)
    {
        if (!File.Exists(svgPath))
            throw new FileNotFoundException($"SVG file '{svgPath}' not found.", svgPath);
        SKSvg svg;
        try
        {
            svg = SKSvg.CreateFromFile(svgPath);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new InvalidDataException($"SVG file '{svgPath}' could not be parsed: {e.Message}", e);
        }
        using (svg)
        {
            var picture = svg.Picture ?? throw new InvalidDataException($"SVG file '{svgPath}' produced no drawing.");
            var bounds = picture.CullRect;
            if (!(bounds.Width > 0 && bounds.Height > 0))
                throw new InvalidDataException($"SVG file '{svgPath}' has no drawable size ({bounds.Width}×{bounds.Height}).");
            var scale = size / Math.Max(bounds.Width, bounds.Height);
            using var surface = SKSurface.Create(new SKImageInfo(size, size, SKColorType.Rgba8888, SKAlphaType.Premul))
                ?? throw new InvalidOperationException($"Skia could not create a {size}×{size} surface.");
            var canvas = surface.Canvas;
            canvas.Clear(SKColors.Transparent);
            canvas.Translate((size - bounds.Width * scale) / 2, (size - bounds.Height * scale) / 2);
            canvas.Scale(scale);
            canvas.Translate(-bounds.Left, -bounds.Top);
            canvas.DrawPicture(picture);
            canvas.Flush();
            using var image = surface.Snapshot();
            using var data = image.Encode(SKEncodedImageFormat.Png, 100);
            return data.ToArray();
        }
    }
}
