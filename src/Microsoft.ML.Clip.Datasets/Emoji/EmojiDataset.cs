using Microsoft.ML.Clip.Datasets.Images;

namespace Microsoft.ML.Clip.Datasets.Emoji;

/// <summary>
/// Emoji image–caption pairs: each emojibase emoji that a style draws, captioned with its CLDR name
/// (plus a few keywords), with <see cref="ImageCaptionPair.Group"/>/<see cref="ImageCaptionPair.Subgroup"/>/
/// <see cref="ImageCaptionPair.Name"/> for classification. OpenMoji SVGs are rendered to PNG on first read and cached.
/// </summary>
public static class EmojiDataset
{
    /// <summary>The source name of the emoji rows.</summary>
    public const string SourceName = "emoji";

    /// <summary>Streams the pairs of one emoji style from <paramref name="dataDirectory"/>.</summary>
    /// <param name="dataDirectory">The data folder <c>build/fetch-data.sh</c> fills.</param>
    /// <param name="style">The emoji set.</param>
    /// <param name="options">Subsample, caption and rendering options; null for the defaults.</param>
    public static IEnumerable<ImageCaptionPair> Read(string dataDirectory, EmojiStyle style, DatasetOptions? options = null)
    {
        options ??= new DatasetOptions();
        options.Validate();
        var emoji = EmojibaseIndex.Read(Path.Combine(dataDirectory, "emojibase-data"));
        var (folder, extension) = EmojiStyleLayout.ImageFolder(style);
        var imageFolder = Path.Combine(dataDirectory, folder);
        DataPaths.RequireDirectory(imageFolder);

        // File names differ in case and in FE0F between sets: index by the normalised code points.
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(imageFolder, "*" + extension))
            files.TryAdd(EmojiStyleLayout.NormalizeHexcode(Path.GetFileNameWithoutExtension(file)), file);

        var drawn = emoji
            .Select(e => (Text: e, File: files.GetValueOrDefault(EmojiStyleLayout.NormalizeHexcode(e.Hexcode))))
            .Where(x => x.File is not null)
            .ToArray();
        var chosen = Subsample.Take(drawn, options);
        var styleName = EmojiStyleLayout.StyleName(style);
        var rasterizer = style == EmojiStyle.OpenMoji
            ? new SvgRasterizer(Path.Combine(DataPaths.CacheDirectory(dataDirectory, options), $"openmoji-{options.SvgRenderSize}"), options.SvgRenderSize)
            : null;
        return Stream(chosen, styleName, rasterizer, ImagePreparer.From(dataDirectory, options), options);
    }

    private static IEnumerable<ImageCaptionPair> Stream(IReadOnlyList<(EmojiText Text, string? File)> chosen, string styleName,
        SvgRasterizer? rasterizer, ImagePreparer? preparer, DatasetOptions options)
    {
        foreach (var (text, file) in chosen)
        {
            var imagePath = rasterizer is null ? file! : rasterizer.GetOrRender(file!, text.Hexcode);
            if (preparer is not null)
                imagePath = preparer.GetOrPrepare(imagePath, $"{SourceName}/{styleName}/{text.Hexcode}");
            yield return new ImageCaptionPair
            {
                ImagePath = imagePath,
                Caption = Captions.Compose(text.Name, text.Tags, options.MaxCaptionKeywords),
                Source = SourceName,
                Style = styleName,
                Name = text.Name,
                Group = text.Group,
                Subgroup = text.Subgroup,
                Keywords = string.Join(", ", text.Tags),
                Id = text.Hexcode,
            };
        }
    }
}
