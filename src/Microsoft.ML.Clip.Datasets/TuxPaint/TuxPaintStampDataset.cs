using System.Text.RegularExpressions;
using Microsoft.ML.Clip.Datasets.Images;

namespace Microsoft.ML.Clip.Datasets.TuxPaint;

/// <summary>
/// Tux Paint stamp image–caption pairs (Debian <c>tuxpaint-stamps-default</c>): each stamp image with the English
/// description from the <c>.txt</c> beside it. Stamps drawn only as SVG are rendered to PNG (cached); stamps without
/// a description are left out.
/// </summary>
public static partial class TuxPaintStampDataset
{
    /// <summary>The source name of the rows.</summary>
    public const string SourceName = "tuxpaint";

    /// <summary>Streams the pairs from <c>tuxpaint-stamps/</c> under <paramref name="dataDirectory"/>.</summary>
    public static IEnumerable<ImageCaptionPair> Read(string dataDirectory, DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        options.Validate();
        var root = Path.Combine(dataDirectory, "tuxpaint-stamps");
        DataPaths.RequireDirectory(root);

        // One stamp per base name: its PNG when there is one, otherwise its SVG; and only with a caption file.
        var stamps = new List<(string Relative, string Image, string Text)>();
        foreach (var text in Directory.EnumerateFiles(root, "*.txt", SearchOption.AllDirectories))
        {
            var stem = text[..^4];
            var image = File.Exists(stem + ".png") ? stem + ".png" : File.Exists(stem + ".svg") ? stem + ".svg" : null;
            if (image is not null)
                stamps.Add((Path.GetRelativePath(root, stem).Replace('\\', '/'), image, text));
        }
        stamps.Sort((a, b) => string.CompareOrdinal(a.Relative, b.Relative));
        var rasterizer = new SvgRasterizer(Path.Combine(DataPaths.CacheDirectory(dataDirectory, options), $"tuxpaint-{options.SvgRenderSize}"),
            options.SvgRenderSize);
        return Stream(Subsample.Take(stamps, options), rasterizer, ImagePreparer.From(dataDirectory, options));
    }

    private static IEnumerable<ImageCaptionPair> Stream(IReadOnlyList<(string Relative, string Image, string Text)> chosen, SvgRasterizer rasterizer,
        ImagePreparer? preparer)
    {
        foreach (var (relative, image, text) in chosen)
        {
            var caption = ReadCaption(text);
            if (caption.Length == 0)
                continue;
            var imagePath = image.EndsWith(".svg", StringComparison.Ordinal) ? rasterizer.GetOrRender(image, relative) : image;
            if (preparer is not null)
                imagePath = preparer.GetOrPrepare(imagePath, $"{SourceName}/{relative}");
            var folders = Path.GetDirectoryName(relative)?.Replace('\\', '/') ?? "";
            var slash = folders.IndexOf('/');
            yield return new ImageCaptionPair
            {
                ImagePath = imagePath,
                Caption = caption,
                Source = SourceName,
                Style = "stamp",
                Name = caption,
                Group = slash < 0 ? folders : folders[..slash],
                Subgroup = slash < 0 ? "" : folders[(slash + 1)..],
                Keywords = "",
                Id = relative,
            };
        }
    }

    /// <summary>The English description: the first line that is not a <c>lang.utf8=</c> translation.</summary>
    public static string ReadCaption(string textPath)
    {
        foreach (var line in File.ReadLines(textPath))
        {
            if (TranslationLine().IsMatch(line))
                continue;
            var caption = Captions.Clean(line.TrimEnd('|'));
            if (caption.Length > 0)
                return caption;
        }
        return "";
    }

    [GeneratedRegex(@"^\s*[A-Za-z]{2,3}([_-][A-Za-z]{2,4})?(@\w+)?\.utf-?8\s*=", RegexOptions.IgnoreCase)]
    private static partial Regex TranslationLine();
}
