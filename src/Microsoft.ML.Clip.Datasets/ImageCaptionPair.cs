namespace Microsoft.ML.Clip.Datasets;

/// <summary>
/// One image–caption row of every pair data set (emoji, Open Clip Art, Tux Paint stamps, Game Icons). All pair loaders share this
/// schema, so their <see cref="IDataView"/>s can be appended or written to one <c>pairs.tsv</c>. Empty strings (never
/// null) stand for "not given".
/// </summary>
public sealed class ImageCaptionPair
{
    /// <summary>Absolute path of the image file (PNG, or WebP for Fluent 3D emoji).</summary>
    public string ImagePath { get; set; } = "";

    /// <summary>The training caption: the name, then up to a few keywords when the options ask for them.</summary>
    public string Caption { get; set; } = "";

    /// <summary>The data set: <c>emoji</c>, <c>openclipart</c>, <c>tuxpaint</c> or <c>game-icons</c>.</summary>
    public string Source { get; set; } = "";

    /// <summary>The drawing style within the source: the emoji set (<c>google</c>, <c>twitter</c>,
    /// <c>fluent-3d</c>, <c>openmoji</c>), or <c>clipart</c> / <c>stamp</c> / <c>icon</c>.</summary>
    public string Style { get; set; } = "";

    /// <summary>The item's own name (emoji CLDR name, clip art title, stamp description, icon name as words).</summary>
    public string Name { get; set; } = "";

    /// <summary>Coarse category: the emoji group (e.g. <c>animals &amp; nature</c>) or the top folder (empty for icons).</summary>
    public string Group { get; set; } = "";

    /// <summary>Finer category: the emoji subgroup (e.g. <c>animal mammal</c>) or the folder path below the top one.</summary>
    public string Subgroup { get; set; } = "";

    /// <summary>Keywords, comma-separated (emojibase tags, clip art subjects).</summary>
    public string Keywords { get; set; } = "";

    /// <summary>Stable identifier within the source (emoji hexcode, path relative to the set's root, icon name).</summary>
    public string Id { get; set; } = "";
}
