using System.Text;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Datasets;

/// <summary>
/// The <c>pairs.tsv</c> format the trainer reads: UTF-8, a header line <c>image&lt;TAB&gt;caption</c>, then one pair
/// per line — the image path relative to the TSV's folder (forward slashes) and the caption (tabs and line breaks
/// replaced by spaces).
/// </summary>
public static class PairsTsv
{
    /// <summary>The header line.</summary>
    public const string Header = "image\tcaption";

    /// <summary>Writes <paramref name="pairs"/> to <paramref name="tsvPath"/>; returns the number of rows written.</summary>
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

    /// <summary>Reads a pairs file: absolute image paths and captions.</summary>
    /// <exception cref="InvalidDataException">The header or a line is malformed; the message names the file and line.</exception>
    public static IEnumerable<(string ImagePath, string Caption)> Read(string tsvPath)
    {
        DataPaths.RequireFile(tsvPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(tsvPath))!;
        using var reader = new StreamReader(tsvPath, Encoding.UTF8);
        var header = reader.ReadLine();
        if (header != Header)
            throw new InvalidDataException($"Pairs file '{tsvPath}' must start with the header line 'image<TAB>caption'.");
        var number = 1;
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            number++;
            if (line.Length == 0)
                continue;
            var tab = line.IndexOf('\t');
            if (tab <= 0 || line.IndexOf('\t', tab + 1) >= 0)
                throw new InvalidDataException($"Pairs file '{tsvPath}' line {number}: expected an image path and a caption separated by one tab.");
            yield return (Path.GetFullPath(Path.Combine(folder, line[..tab])), line[(tab + 1)..]);
        }
    }

    private static int Write(string tsvPath, IEnumerable<(string ImagePath, string Caption)> rows)
    {
        ArgumentException.ThrowIfNullOrEmpty(tsvPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(tsvPath))!;
        Directory.CreateDirectory(folder);
        var count = 0;
        using var writer = new StreamWriter(tsvPath, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        writer.NewLine = "\n";
        writer.WriteLine(Header);
        foreach (var (imagePath, caption) in rows)
        {
            if (string.IsNullOrEmpty(imagePath))
                throw new ArgumentException($"Row {count + 1} has an empty image path.", nameof(rows));
            var relative = Path.GetRelativePath(folder, Path.GetFullPath(imagePath)).Replace('\\', '/');
            if (relative.Contains('\t') || relative.Contains('\n'))
                throw new ArgumentException($"Image path '{imagePath}' contains a tab or line break and cannot be written to a TSV.", nameof(rows));
            writer.Write(relative);
            writer.Write('\t');
            writer.WriteLine(Captions.Clean(caption ?? ""));
            count++;
        }
        return count;
    }

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
