using Microsoft.ML.Clip.Datasets.Images;

namespace Microsoft.ML.Clip.Datasets.OpenClipArt;

/// <summary>
/// Open Clip Art image–caption pairs (Debian <c>openclipart-png</c>): each PNG captioned with the title and subject
/// keywords of the matching SVG in <c>openclipart-svg</c>. Generated series (parametric stars, icon themes, gradient
/// and pattern swatches) are left out, and so are PNGs larger than <see cref="DatasetOptions.MaxImageSide"/>.
/// </summary>
public static class OpenClipArtDataset
{
    /// <summary>The source name of the rows.</summary>
    public const string SourceName = "openclipart";

    /// <summary>Folders (relative to <c>png/</c>) of machine-generated series whose titles say nothing about the
    /// picture ("gramastar", "Part of the Flat Icon Collection").</summary>
    public static IReadOnlyList<string> ExcludedFolders { get; } = ["shapes/stars", "computer/icons", "special/gradients", "special/patterns"];

    /// <summary>Streams the pairs from <c>openclipart/</c> under <paramref name="dataDirectory"/>.</summary>
    public static IEnumerable<ImageCaptionPair> Read(string dataDirectory, DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        options.Validate();
        var pngRoot = Path.Combine(dataDirectory, "openclipart", "png");
        var svgRoot = Path.Combine(dataDirectory, "openclipart", "svg");
        DataPaths.RequireDirectory(pngRoot);

        var candidates = new List<string>();
        foreach (var file in Directory.EnumerateFiles(pngRoot, "*.png", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(pngRoot, file).Replace('\\', '/');
            if (ExcludedFolders.Any(f => relative.StartsWith(f + "/", StringComparison.Ordinal)))
                continue;
            // The header alone decides: a 20k×30k PNG is never decoded.
            var size = PngHeader.TryReadSize(file);
            if (size is null || size.Value.Width > options.MaxImageSide || size.Value.Height > options.MaxImageSide
                || size.Value.Width <= 0 || size.Value.Height <= 0)
                continue;
            candidates.Add(relative);
        }
        candidates.Sort(StringComparer.Ordinal);
        return Stream(Subsample.Take(candidates, options), pngRoot, svgRoot, ImagePreparer.From(dataDirectory, options), options);
    }

    private static IEnumerable<ImageCaptionPair> Stream(IReadOnlyList<string> chosen, string pngRoot, string svgRoot, ImagePreparer? preparer,
        DatasetOptions options)
    {
        foreach (var relative in chosen)
        {
            var svgPath = Path.Combine(svgRoot, Path.ChangeExtension(relative, ".svg"));
            var metadata = File.Exists(svgPath) ? SvgMetadata.Read(svgPath) : SvgMetadata.Empty;
            var name = TitleOrFileName(metadata.Title, relative);
            var folders = Path.GetDirectoryName(relative)?.Replace('\\', '/') ?? "";
            var slash = folders.IndexOf('/');
            yield return new ImageCaptionPair
            {
                ImagePath = preparer?.GetOrPrepare(Path.Combine(pngRoot, relative), $"{SourceName}/{relative[..^4]}") ?? Path.Combine(pngRoot, relative),
                Caption = Captions.Compose(name, metadata.Keywords, options.MaxCaptionKeywords),
                Source = SourceName,
                Style = "clipart",
                Name = name,
                Group = slash < 0 ? folders : folders[..slash],
                Subgroup = slash < 0 ? "" : folders[(slash + 1)..],
                Keywords = string.Join(", ", metadata.Keywords.Select(Captions.Clean).Where(k => k.Length > 0)),
                Id = relative,
            };
        }
    }

    /// <summary>The title, unless it is one of the collection's boilerplate titles; then words of the file name.</summary>
    internal static string TitleOrFileName(string title, string relativePath)
    {
        title = Captions.Clean(title);
        var boilerplate = title.Length == 0
            || title.StartsWith("Clipart by ", StringComparison.OrdinalIgnoreCase)
            || title.StartsWith("Part of the ", StringComparison.OrdinalIgnoreCase)
            || title.Contains("theme", StringComparison.OrdinalIgnoreCase)
            || title.Equals("Untitled", StringComparison.OrdinalIgnoreCase);
        if (!boilerplate)
            return title;
        // "arrow12_1.png" -> "arrow": words of the name without numbers.
        var words = Path.GetFileNameWithoutExtension(relativePath)
            .Split(['_', '-', ' ', '.'], StringSplitOptions.RemoveEmptyEntries)
            .Select(w => new string(w.Where(c => !char.IsDigit(c)).ToArray()))
            .Where(w => w.Length > 1);
        return string.Join(' ', words);
    }
}
