using Microsoft.ML.Clip.Datasets.Emoji;
using Microsoft.ML.Clip.Datasets.Icons;
using Microsoft.ML.Clip.Datasets.Mnist;
using Microsoft.ML.Clip.Datasets.OpenClipArt;
using Microsoft.ML.Clip.Datasets.TuxPaint;

namespace Microsoft.ML.Clip.Datasets;

/// <summary>The image–caption sets <see cref="DatasetCatalog.LoadImageCaptionPairs"/> can combine.</summary>
public enum PairSet
{
    /// <summary>Noto emoji.</summary>
    EmojiGoogle,
    /// <summary>Twemoji.</summary>
    EmojiTwitter,
    /// <summary>Fluent 3D emoji.</summary>
    EmojiFluent3D,
    /// <summary>OpenMoji (rendered SVG).</summary>
    EmojiOpenMoji,
    /// <summary>Open Clip Art.</summary>
    OpenClipArt,
    /// <summary>Tux Paint stamps.</summary>
    TuxPaintStamps,
    /// <summary>Game Icons (monochrome silhouettes, rendered SVG).</summary>
    GameIcons,
}

/// <summary>
/// Entry points: each real data set as a streaming <see cref="IDataView"/> (<c>mlContext.Data.LoadEmoji(...)</c>).
/// Files are listed when the method is called (cheap: directory listings, small JSON, PNG headers); images,
/// SVG metadata and captions are read row by row as a cursor moves, so a cursor over a slice touches only it.
/// Pair sets share the <see cref="ImageCaptionPair"/> schema; classification sets the <see cref="LabeledImage"/> one.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>Emoji of one style: <c>ImagePath</c>, <c>Caption</c>, <c>Source</c>, <c>Style</c>, <c>Name</c>,
    /// <c>Group</c>, <c>Subgroup</c>, <c>Keywords</c>, <c>Id</c>.</summary>
    public static IDataView LoadEmoji(this DataOperationsCatalog catalog, string dataDirectory, EmojiStyle style, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(EmojiDataset.Read(dataDirectory, style, options));
    }

    /// <summary>Open Clip Art pairs (title and keywords as caption).</summary>
    public static IDataView LoadOpenClipArt(this DataOperationsCatalog catalog, string dataDirectory, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(OpenClipArtDataset.Read(dataDirectory, options));
    }

    /// <summary>Tux Paint stamp pairs (the stamp's English description as caption).</summary>
    public static IDataView LoadTuxPaintStamps(this DataOperationsCatalog catalog, string dataDirectory, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(TuxPaintStampDataset.Read(dataDirectory, options));
    }

    /// <summary>Game Icons pairs (each icon rendered black on transparent, its name as words as caption: <c>t-shirt</c>,
    /// <c>horse head</c>); see <see cref="GameIconsDataset"/>.</summary>
    public static IDataView LoadGameIcons(this DataOperationsCatalog catalog, string dataDirectory, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(GameIconsDataset.Read(dataDirectory, options));
    }

    /// <summary>Several pair sets appended in the order given; <see cref="DatasetOptions.MaxItems"/> applies to each set.</summary>
    public static IDataView LoadImageCaptionPairs(this DataOperationsCatalog catalog, string dataDirectory, DatasetOptions? options,
        params PairSet[] sets)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(ReadPairs(dataDirectory, options, sets));
    }

    /// <summary>The rows of several pair sets appended (for writing a <c>pairs.tsv</c> or custom streaming).</summary>
    public static IEnumerable<ImageCaptionPair> ReadPairs(string dataDirectory, DatasetOptions? options, params PairSet[] sets)
    {
        ArgumentNullException.ThrowIfNull(sets);
        if (sets.Length == 0)
            throw new ArgumentException("Name at least one pair set.", nameof(sets));
        // Listing happens now, so a missing folder fails here rather than at the first cursor.
        var parts = sets.Select(set => set switch
        {
            PairSet.EmojiGoogle => EmojiDataset.Read(dataDirectory, EmojiStyle.Google, options),
            PairSet.EmojiTwitter => EmojiDataset.Read(dataDirectory, EmojiStyle.Twitter, options),
            PairSet.EmojiFluent3D => EmojiDataset.Read(dataDirectory, EmojiStyle.Fluent3D, options),
            PairSet.EmojiOpenMoji => EmojiDataset.Read(dataDirectory, EmojiStyle.OpenMoji, options),
            PairSet.OpenClipArt => OpenClipArtDataset.Read(dataDirectory, options),
            PairSet.TuxPaintStamps => TuxPaintStampDataset.Read(dataDirectory, options),
            PairSet.GameIcons => GameIconsDataset.Read(dataDirectory, options),
            _ => throw new ArgumentOutOfRangeException(nameof(sets), set, "Unknown pair set."),
        }).ToArray();
        return parts.SelectMany(part => part);
    }

    /// <summary>MNIST digits: <c>Image</c> (PNG bytes), <c>Label</c> (<c>0</c>–<c>9</c>), <c>LabelIndex</c>,
    /// <c>Source</c>, <c>Index</c>.</summary>
    public static IDataView LoadMnist(this DataOperationsCatalog catalog, string dataDirectory, DatasetSplit split, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(MnistDataset.ReadMnist(dataDirectory, split, options));
    }

    /// <summary>Fashion-MNIST: as <see cref="LoadMnist"/>, labels from <see cref="MnistDataset.FashionClassNames"/>.</summary>
    public static IDataView LoadFashionMnist(this DataOperationsCatalog catalog, string dataDirectory, DatasetSplit split, DatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return catalog.LoadFromEnumerable(MnistDataset.ReadFashionMnist(dataDirectory, split, options));
    }
}
