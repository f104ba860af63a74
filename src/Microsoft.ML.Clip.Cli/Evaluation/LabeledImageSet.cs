using Microsoft.ML.Clip.Tsv;

namespace ClipCli.Evaluation;

/// <summary>Image paths with class labels: one TSV, or a folder with one sub-folder per class.</summary>
internal sealed record LabeledImageSet(string Source, IReadOnlyList<string> Paths, IReadOnlyList<string> Labels)
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>Reads <c>image path&lt;TAB&gt;label</c> lines by the rule of <see cref="ImageTextTsv"/> (header, <c>#</c>
    /// comments and empty lines skipped; paths relative to the TSV's folder; every image must exist).</summary>
    public static LabeledImageSet ReadTsv(string tsv) => new(tsv, ReadPairs(tsv, "label", out var labels), labels);

    /// <summary>Reads <c>image path&lt;TAB&gt;second field</c> lines (labels or captions) by the same rule; at least one row.</summary>
    public static IReadOnlyList<string> ReadPairs(string tsv, string secondField, out IReadOnlyList<string> values)
    {
        var rows = ImageTextTsv.Read(tsv, secondField);
        if (rows.Count == 0)
            throw new InvalidDataException($"TSV file '{tsv}' holds no rows.");
        values = rows.Select(r => r.Text).ToArray();
        return rows.Select(r => r.ImagePath).ToArray();
    }

    /// <summary>Every image under <c>folder/&lt;class&gt;/</c>, the sub-folder's name as the label.</summary>
    public static LabeledImageSet ReadClassFolders(string folder)
    {
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"Data folder '{folder}' does not exist.");
        var paths = new List<string>();
        var labels = new List<string>();
        foreach (var classDir in Directory.GetDirectories(folder).Order(StringComparer.Ordinal))
            foreach (var file in Directory.GetFiles(classDir).Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal))
            {
                paths.Add(Path.GetFullPath(file));
                labels.Add(Path.GetFileName(classDir));
            }
        if (paths.Count == 0)
            throw new InvalidDataException($"Data folder '{folder}' has no train.tsv/test.tsv and no class sub-folders with images.");
        return new LabeledImageSet(folder, paths, labels);
    }

    /// <summary>The sorted distinct labels: the class order of every score vector.</summary>
    public string[] ClassNames() => Labels.Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>0-based class index of every row in <paramref name="classNames"/>.</summary>
    /// <exception cref="InvalidDataException">A label is not one of the classes (named, with the file).</exception>
    public int[] ClassIndices(IReadOnlyList<string> classNames)
    {
        var index = classNames.Select((n, i) => (n, i)).ToDictionary(p => p.n, p => p.i, StringComparer.Ordinal);
        return Labels.Select((l, row) => index.TryGetValue(l, out var i) ? i
            : throw new InvalidDataException($"{Source}: label '{l}' of '{Paths[row]}' is not a class of the training set.")).ToArray();
    }

    /// <summary>The rows at <paramref name="rows"/>.</summary>
    public LabeledImageSet Subset(IEnumerable<int> rows, string source)
    {
        var r = rows.ToArray();
        return new LabeledImageSet(source, r.Select(i => Paths[i]).ToArray(), r.Select(i => Labels[i]).ToArray());
    }
}
