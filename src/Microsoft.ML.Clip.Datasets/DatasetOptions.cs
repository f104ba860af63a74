namespace Microsoft.ML.Clip.Datasets;

/// <summary>Options shared by the data set loaders.</summary>
public sealed class DatasetOptions
{
    /// <summary>Defaults of <see cref="DatasetOptions"/>.</summary>
    public static class Defaults
    {
        /// <summary>Default seed of the subsample.</summary>
        public const int Seed = 0;
        /// <summary>Default side, in pixels, of rendered SVGs.</summary>
        public const int SvgRenderSize = 96;
        /// <summary>Default number of keywords appended to a caption.</summary>
        public const int MaxCaptionKeywords = 3;
        /// <summary>Default largest accepted image side; bigger raster images are skipped.</summary>
        public const int MaxImageSide = 4096;
    }

    /// <summary>At most this many rows: a seeded uniform subsample, kept in the set's stable order. Null: all rows.</summary>
    public int? MaxItems { get; set; }

    /// <summary>Seed of the subsample (the same seed and set give the same rows).</summary>
    public int Seed { get; set; } = Defaults.Seed;

    /// <summary>Keywords appended to the caption after the name ("name, kw1, kw2"); 0 for the name alone.</summary>
    public int MaxCaptionKeywords { get; set; } = Defaults.MaxCaptionKeywords;

    /// <summary>Side, in pixels, of the square PNGs SVGs are rendered to (64–128 is what the training needs).</summary>
    public int SvgRenderSize { get; set; } = Defaults.SvgRenderSize;

    /// <summary>Raster images with a side larger than this are skipped (Open Clip Art has a few of 20k×30k pixels).</summary>
    public int MaxImageSide { get; set; } = Defaults.MaxImageSide;

    /// <summary>When set, pair images are shrunk once so their longer side is at most this many pixels and cached as
    /// PNG (see <see cref="Images.ImagePreparer"/>); null (the default) points at the original files.</summary>
    public int? PreparedImageSide { get; set; }

    /// <summary>When set (<c>white</c>, <c>black</c> or <c>#RRGGBB</c>), pair images are composited onto this colour
    /// once and cached as PNG, so decoders that drop alpha see the intended background; null keeps transparency.</summary>
    public string? Background { get; set; }

    /// <summary>Folder of rendered SVGs and prepared images; null for <c>cache/</c> inside the data folder.</summary>
    public string? CacheDirectory { get; set; }

    internal void Validate()
    {
        if (MaxItems is < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxItems), MaxItems, "MaxItems must be null or non-negative.");
        if (MaxCaptionKeywords < 0)
            throw new ArgumentOutOfRangeException(nameof(MaxCaptionKeywords), MaxCaptionKeywords, "MaxCaptionKeywords must be non-negative.");
        if (SvgRenderSize is < 8 or > 1024)
            throw new ArgumentOutOfRangeException(nameof(SvgRenderSize), SvgRenderSize, "SvgRenderSize must be between 8 and 1024 pixels.");
        if (PreparedImageSide is < 8)
            throw new ArgumentOutOfRangeException(nameof(PreparedImageSide), PreparedImageSide, "PreparedImageSide must be null or at least 8 pixels.");
        if (MaxImageSide < 1)
            throw new ArgumentOutOfRangeException(nameof(MaxImageSide), MaxImageSide, "MaxImageSide must be positive.");
    }
}
