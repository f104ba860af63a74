using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Clip.Datasets.Images;
using Microsoft.ML.Clip.IO;

namespace Microsoft.ML.Clip.Datasets.Icons;

/// <summary>
/// Game Icons image–caption pairs (npm <c>@iconify-json/game-icons</c>, CC BY 3.0, by the game-icons.net authors):
/// each monochrome icon of <c>icons.json</c> (Iconify JSON) rendered black on transparent, captioned with its name as
/// words (<c>horse-head</c> → "horse head"). Hidden icons, aliases (other names of the same icons) and the numbered
/// <c>abstract-NNN</c> series are left out.
/// </summary>
public static partial class GameIconsDataset
{
    /// <summary>The source name of the rows.</summary>
    public const string SourceName = "game-icons";

    /// <summary>Streams the pairs from <c>game-icons/icons.json</c> under <paramref name="dataDirectory"/>, by icon name
    /// (ordinal order). Each icon is written as an SVG document (<see cref="SvgDocument"/>) into the cache
    /// (<c>game-icons-svg/</c>) and rendered with <see cref="SvgRasterizer"/> (<c>game-icons-{SvgRenderSize}/</c>).</summary>
    /// <exception cref="DirectoryNotFoundException">The <c>game-icons</c> folder is missing.</exception>
    /// <exception cref="FileNotFoundException"><c>icons.json</c> is missing.</exception>
    /// <exception cref="InvalidDataException"><c>icons.json</c> is not Iconify JSON, or an icon lacks its body; the
    /// message names the file (and the icon).</exception>
    public static IEnumerable<ImageCaptionPair> Read(string dataDirectory, DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        options.Validate();
        var root = Path.Combine(dataDirectory, "game-icons");
        var iconsPath = Path.Combine(root, "icons.json");
        DataPaths.RequireDirectory(root);
        DataPaths.RequireFile(iconsPath);

        // The whole file is read and checked now (4 MB), so a broken one fails at listing, not at some row.
        var icons = ReadIcons(iconsPath);
        var cache = DataPaths.CacheDirectory(dataDirectory, options);
        var rasterizer = new SvgRasterizer(Path.Combine(cache, $"game-icons-{options.SvgRenderSize}"), options.SvgRenderSize);
        return Stream(Subsample.Take(icons, options), Path.Combine(cache, "game-icons-svg"), rasterizer, ImagePreparer.From(dataDirectory, options));
    }

    private static IEnumerable<ImageCaptionPair> Stream(IReadOnlyList<(string Name, string Svg)> chosen, string svgFolder, SvgRasterizer rasterizer,
        ImagePreparer? preparer)
    {
        foreach (var (name, svg) in chosen)
        {
            var svgPath = Path.Combine(svgFolder, name + ".svg");
            if (!File.Exists(svgPath))
            {
                Directory.CreateDirectory(svgFolder);
                // Whole or not at all, as SvgRasterizer writes: a crash never leaves a half-written SVG that later reads trust.
                AtomicFile.Write(svgPath, stream => stream.Write(Encoding.UTF8.GetBytes(svg)));
            }
            var imagePath = rasterizer.GetOrRender(svgPath, name);
            if (preparer is not null)
                imagePath = preparer.GetOrPrepare(imagePath, $"{SourceName}/{name}");
            var words = NameAsWords(name);
            yield return new ImageCaptionPair
            {
                ImagePath = imagePath,
                Caption = words,
                Source = SourceName,
                Style = "icon",
                Name = words,
                Group = "",
                Subgroup = "",
                Keywords = "",
                Id = name,
            };
        }
    }

    /// <summary>The icons of an Iconify JSON file that become rows, sorted by name (ordinal), each with its SVG document.</summary>
    internal static List<(string Name, string Svg)> ReadIcons(string iconsPath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(iconsPath));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Iconify file '{iconsPath}' is not valid JSON: {e.Message}", e);
        }
        using (document)
        {
            var set = document.RootElement;
            if (set.ValueKind != JsonValueKind.Object || !set.TryGetProperty("icons", out var icons) || icons.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"Iconify file '{iconsPath}' has no 'icons' object.");
            // Iconify defaults: the set's own width/height/left/top, else 16 × 16 at 0, 0.
            var setBox = (Left: Number(set, "left", 0, iconsPath, null), Top: Number(set, "top", 0, iconsPath, null),
                Width: Number(set, "width", 16, iconsPath, null), Height: Number(set, "height", 16, iconsPath, null));
            RequireNoTransform(set, iconsPath, null);
            var result = new List<(string, string)>();
            // Aliases (the "aliases" object) are other names of these icons: one image per icon, so they are not read.
            foreach (var icon in icons.EnumerateObject())
            {
                var name = icon.Name;
                if (!IconName().IsMatch(name))
                    throw new InvalidDataException($"Iconify file '{iconsPath}': icon name '{name}' is not lower-case letters, digits and hyphens.");
                if (icon.Value.ValueKind != JsonValueKind.Object)
                    throw new InvalidDataException($"Iconify file '{iconsPath}': icon '{name}' is not an object.");
                if (icon.Value.TryGetProperty("hidden", out var hidden) && hidden.ValueKind == JsonValueKind.True)
                    continue;
                // abstract-001 … abstract-121 are numbered patterns: their names say nothing a caption could teach.
                if (AbstractSeries().IsMatch(name))
                    continue;
                if (!icon.Value.TryGetProperty("body", out var bodyValue) || bodyValue.ValueKind != JsonValueKind.String)
                    throw new InvalidDataException($"Iconify file '{iconsPath}': icon '{name}' has no 'body' string.");
                RequireNoTransform(icon.Value, iconsPath, name);
                var left = Number(icon.Value, "left", setBox.Left, iconsPath, name);
                var top = Number(icon.Value, "top", setBox.Top, iconsPath, name);
                var width = Number(icon.Value, "width", setBox.Width, iconsPath, name);
                var height = Number(icon.Value, "height", setBox.Height, iconsPath, name);
                if (!(width > 0 && height > 0))
                    throw new InvalidDataException($"Iconify file '{iconsPath}': icon '{name}' has no drawable size ({width}×{height}).");
                result.Add((name, SvgDocument(bodyValue.GetString()!, left, top, width, height)));
            }
            result.Sort((a, b) => string.CompareOrdinal(a.Item1, b.Item1));
            return result;
        }
    }

    /// <summary>An Iconify icon as a standalone SVG document, exactly
    /// <c>&lt;svg xmlns="http://www.w3.org/2000/svg" viewBox="{left} {top} {width} {height}" width="{width}" height="{height}"&gt;{body}&lt;/svg&gt;</c>
    /// with every <c>currentColor</c> of the body replaced by <c>#000000</c> and the numbers in invariant culture (other
    /// renderings of the set rely on this text to get the same pixels).</summary>
    internal static string SvgDocument(string body, double left, double top, double width, double height)
    {
        static string N(double value) => value.ToString(CultureInfo.InvariantCulture);
        return $"<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"{N(left)} {N(top)} {N(width)} {N(height)}\" width=\"{N(width)}\" height=\"{N(height)}\">"
            + body.Replace("currentColor", "#000000", StringComparison.Ordinal) + "</svg>";
    }

    /// <summary>An icon name as words: pieces between hyphens joined by spaces, except that the hyphen stays where a
    /// neighbouring piece is a single character (<c>t-shirt</c>, <c>x-ray</c>, <c>card-2-clubs</c>; but
    /// <c>3d-glasses</c> → "3d glasses").</summary>
    internal static string NameAsWords(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var pieces = name.Split('-');
        var words = new System.Text.StringBuilder(pieces[0]);
        for (var i = 1; i < pieces.Length; i++)
        {
            words.Append(pieces[i - 1].Length == 1 || pieces[i].Length == 1 ? '-' : ' ');
            words.Append(pieces[i]);
        }
        return words.ToString();
    }

    private static double Number(JsonElement element, string property, double fallback, string path, string? icon)
    {
        if (!element.TryGetProperty(property, out var value))
            return fallback;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var number) || !double.IsFinite(number))
            throw new InvalidDataException($"Iconify file '{path}': {(icon is null ? "the set" : $"icon '{icon}'")} has a '{property}' that is not a finite number.");
        return number;
    }

    // Iconify's rotate/hFlip/vFlip would need a transform the SVG text above does not carry; Game Icons uses none.
    private static void RequireNoTransform(JsonElement element, string path, string? icon)
    {
        var rotated = element.TryGetProperty("rotate", out var rotate) && !(rotate.ValueKind == JsonValueKind.Number && rotate.GetDouble() == 0);
        var flipped = (element.TryGetProperty("hFlip", out var h) && h.ValueKind != JsonValueKind.False)
            || (element.TryGetProperty("vFlip", out var v) && v.ValueKind != JsonValueKind.False);
        if (rotated || flipped)
            throw new InvalidDataException(
                $"Iconify file '{path}': {(icon is null ? "the set" : $"icon '{icon}'")} is rotated or flipped, which this loader does not apply.");
    }

    [GeneratedRegex(@"^[a-z0-9]+(-[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex IconName();

    [GeneratedRegex(@"^abstract-\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex AbstractSeries();
}
