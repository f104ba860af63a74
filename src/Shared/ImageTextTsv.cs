// One source file, compiled into Microsoft.ML.Clip.Datasets (and through it clip-data) and into the clip tool:
// those assemblies cannot reference each other (SkiaSharp 4.x for SVG rendering vs the 2.88 line of ML.NET's
// image support, see docs/architecture.md), yet the TSV files one writes the other must read by the same rule. It writes
// through AtomicFile (src/Shared/AtomicFile.cs): Microsoft.ML.Clip.Datasets compiles its own copy, the tools reach
// Microsoft.ML.Clip's through InternalsVisibleTo.
using System.Text;
using Microsoft.ML.Clip.IO;

namespace Microsoft.ML.Clip.Tsv;

/// <summary>One data row of an image TSV: the image as a full path, the text (caption or label), its 1-based line.</summary>
internal readonly record struct ImageTextRow(string ImagePath, string Text, int Line);

/// <summary>
/// The rule of the repository's image TSV files — <c>pairs.tsv</c> (image, caption) and <c>train.tsv</c> /
/// <c>test.tsv</c> (image, label):
/// <list type="bullet">
/// <item>UTF-8 (a byte order mark is allowed); lines end with LF or CRLF.</item>
/// <item>Empty or white-space lines, and lines whose first character is <c>#</c>, are skipped.</item>
/// <item>The first other line is a header, and skipped, when its first field is one of <see cref="HeaderNames"/>
///   (any case). A header is optional; the writer always puts <c>image&lt;TAB&gt;caption</c> or <c>image&lt;TAB&gt;label</c>.</item>
/// <item>Every other line holds exactly two fields separated by one tab: the image path and the text. There is no
///   quoting or escaping, so a field cannot hold a tab or a line break (the writer turns them into spaces in the text
///   and refuses them in paths). Fields are trimmed; neither may be empty.</item>
/// <item>A relative image path is relative to the TSV's folder (not the working folder); an absolute one is kept.
///   The writer writes paths relative to the TSV's folder with <c>/</c>, and <c>./</c> in front of a path that would
///   otherwise read as a comment or lose leading white space.</item>
/// <item>Every image must exist.</item>
/// </list>
/// Errors are <see cref="InvalidDataException"/> (malformed line) and <see cref="FileNotFoundException"/> (missing TSV
/// or image), with messages naming the TSV and the line.
/// </summary>
internal static class ImageTextTsv
{
    /// <summary>First fields that mark the first line as a header.</summary>
    public static IReadOnlyList<string> HeaderNames { get; } = ["image", "path", "image_path", "imagepath", "file"];

    /// <summary>Reads <paramref name="tsvPath"/> by the rule above; <paramref name="textColumn"/> (<c>caption</c>,
    /// <c>label</c>) only words the messages. An empty list when the file has no data rows (callers set minimums).</summary>
    public static List<ImageTextRow> Read(string tsvPath, string textColumn)
    {
        ArgumentException.ThrowIfNullOrEmpty(tsvPath);
        if (!File.Exists(tsvPath))
            throw new FileNotFoundException($"TSV file '{tsvPath}' not found.", tsvPath);
        var folder = Path.GetDirectoryName(Path.GetFullPath(tsvPath))!;
        var rows = new List<ImageTextRow>();
        var number = 0;
        var headerPossible = true;
        foreach (var line in File.ReadLines(tsvPath, Encoding.UTF8))
        {
            number++;
            if (line.Length == 0 || line[0] == '#' || string.IsNullOrWhiteSpace(line))
                continue;
            var fields = line.Split('\t');
            if (headerPossible)
            {
                headerPossible = false;
                var first = fields[0].Trim();
                if (HeaderNames.Any(h => string.Equals(h, first, StringComparison.OrdinalIgnoreCase)))
                    continue;
            }
            if (fields.Length != 2)
                throw new InvalidDataException(
                    $"TSV file '{tsvPath}' line {number}: expected 'image path<TAB>{textColumn}' (two fields, one tab), found {fields.Length} field{(fields.Length == 1 ? "" : "s")}.");
            var image = fields[0].Trim();
            var text = fields[1].Trim();
            if (image.Length == 0)
                throw new InvalidDataException($"TSV file '{tsvPath}' line {number}: the image path is empty.");
            if (text.Length == 0)
                throw new InvalidDataException($"TSV file '{tsvPath}' line {number}: the {textColumn} is empty.");
            var fullPath = Path.GetFullPath(Path.Combine(folder, image));
            if (!File.Exists(fullPath))
                throw new FileNotFoundException($"TSV file '{tsvPath}' line {number}: image '{image}' not found (looked for '{fullPath}').", fullPath);
            rows.Add(new ImageTextRow(fullPath, text, number));
        }
        return rows;
    }

    /// <summary>Writes the header <c>image&lt;TAB&gt;<paramref name="textColumn"/></c> and one line per row to
    /// <paramref name="tsvPath"/> (UTF-8 without BOM, LF line ends, folder created); returns the rows written. The file
    /// appears whole or not at all.</summary>
    /// <exception cref="ArgumentException">A path is empty or holds a tab or line break, or a text is empty.</exception>
    public static int Write(string tsvPath, string textColumn, IEnumerable<(string ImagePath, string Text)> rows)
    {
        ArgumentException.ThrowIfNullOrEmpty(tsvPath);
        ArgumentNullException.ThrowIfNull(rows);
        var folder = Path.GetDirectoryName(Path.GetFullPath(tsvPath))!;
        Directory.CreateDirectory(folder);
        // Written beside and renamed at the end (AtomicFile): a row refused half-way leaves no truncated file for a reader
        // to take, and no temporary file outlives its process.
        var count = 0;
        AtomicFile.Write(tsvPath, stream =>
        {
            using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true);
            writer.NewLine = "\n";
            writer.WriteLine($"image\t{textColumn}");
            foreach (var (imagePath, text) in rows)
            {
                count++;
                writer.WriteLine(FormatLine(folder, imagePath, text, textColumn, count));
            }
        });
        return count;
    }

    /// <summary>One data line: the path relative to <paramref name="tsvFolder"/>, a tab, the text with tabs and line
    /// breaks turned into spaces.</summary>
    internal static string FormatLine(string tsvFolder, string imagePath, string? text, string textColumn, int row)
    {
        if (string.IsNullOrWhiteSpace(imagePath))
            throw new ArgumentException($"Row {row} has an empty image path.", nameof(imagePath));
        var relative = Path.GetRelativePath(tsvFolder, Path.GetFullPath(imagePath));
        if (Path.DirectorySeparatorChar == '\\')
            relative = relative.Replace('\\', '/');
        if (relative.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0 || char.IsWhiteSpace(relative[^1]))
            throw new ArgumentException(
                $"Row {row}: image path '{imagePath}' holds a tab or line break, or ends in white space, which a TSV line cannot keep.", nameof(imagePath));
        // Relative paths never start with '/', so "./" keeps the same file while the line no longer reads as a comment.
        if (relative[0] == '#' || char.IsWhiteSpace(relative[0]))
            relative = "./" + relative;
        var clean = (text ?? "").Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ').Trim();
        if (clean.Length == 0)
            throw new ArgumentException($"Row {row}: the {textColumn} of image '{imagePath}' is empty; a TSV row needs both fields.", nameof(text));
        return relative + "\t" + clean;
    }
}
