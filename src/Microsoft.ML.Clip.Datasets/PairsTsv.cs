using Microsoft.ML.Clip.Tsv;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Datasets;

/// <summary>
/// The <c>pairs.tsv</c> format the trainer (<c>clip train</c>) reads: UTF-8, a header line <c>image&lt;TAB&gt;caption</c>,
/// then one pair per line — the image path relative to the TSV's folder (forward slashes) and the caption (white space,
/// tabs and line breaks included, collapsed to single spaces). Reading and writing follow the one rule of the
/// repository's image TSVs (<c>src/Shared/ImageTextTsv.cs</c>, compiled into the <c>clip</c> tool too).
/// </summary>
public static class PairsTsv
{
    /// <summary>The header line.</summary>
    public const string Header = "image\tcaption";

    /// <summary>Writes <paramref name="pairs"/> to <paramref name="tsvPath"/>; returns the number of rows written.</summary>
    /// <exception cref="ArgumentException">An image path is empty or holds a tab or line break, or a caption is empty.</exception>
    public static int Write(string tsvPath, IEnumerable<ImageCaptionPair> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        return Write(tsvPath, pairs.Select(p => (p.ImagePath, p.Caption)));
    }

    /// <summary>Writes the <paramref name="imageColumnName"/> (image path) and <paramref name="captionColumnName"/>
    /// text columns of <paramref name="data"/> to <paramref name="tsvPath"/>; returns the number of rows written.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not text (paramName <c>data</c>).</exception>
    public static int Write(string tsvPath, IDataView data, string imageColumnName = nameof(ImageCaptionPair.ImagePath),
        string captionColumnName = nameof(ImageCaptionPair.Caption))
    {
        ArgumentNullException.ThrowIfNull(data);
        var image = TextColumn(data.Schema, imageColumnName);
        var caption = TextColumn(data.Schema, captionColumnName);
        return Write(tsvPath, Rows(data, image, caption));
    }

    /// <summary>Reads a pairs file by the rule every TSV of the repository follows (the <c>clip</c> tool reads it the
    /// same way): the header and <c>#</c> comment lines skipped, image paths resolved against the TSV's folder, every
    /// image checked to exist.</summary>
    /// <returns>Absolute image paths and captions, in file order.</returns>
    /// <exception cref="FileNotFoundException">The TSV or an image is missing; the message names the file (and line).</exception>
    /// <exception cref="InvalidDataException">A line is malformed; the message names the file and line.</exception>
    public static IReadOnlyList<(string ImagePath, string Caption)> Read(string tsvPath) =>
        ImageTextTsv.Read(tsvPath, "caption").Select(r => (r.ImagePath, r.Text)).ToList();

    private static int Write(string tsvPath, IEnumerable<(string ImagePath, string Caption)> rows) =>
        ImageTextTsv.Write(tsvPath, "caption", rows.Select(r => (r.ImagePath, Captions.Clean(r.Caption ?? ""))));

    private static DataViewSchema.Column TextColumn(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentOutOfRangeException("data", $"Could not find input column '{name}'");
        if (column.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException("data", $"Schema mismatch for input column '{name}': expected String, got {column.Type}");
        return column;
    }

    private static IEnumerable<(string, string)> Rows(IDataView data, DataViewSchema.Column image, DataViewSchema.Column caption)
    {
        using var cursor = data.GetRowCursor([image, caption]);
        var getImage = cursor.GetGetter<ReadOnlyMemory<char>>(image);
        var getCaption = cursor.GetGetter<ReadOnlyMemory<char>>(caption);
        ReadOnlyMemory<char> imageValue = default, captionValue = default;
        while (cursor.MoveNext())
        {
            getImage(ref imageValue);
            getCaption(ref captionValue);
            yield return (imageValue.ToString(), captionValue.ToString());
        }
    }
}
