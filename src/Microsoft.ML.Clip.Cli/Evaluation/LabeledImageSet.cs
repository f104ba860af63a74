namespace ClipCli.Evaluation;

/// <summary>Image paths with class labels: one TSV, or a folder with one sub-folder per class.</summary>
internal sealed record LabeledImageSet(string Source, IReadOnlyList<string> Paths, IReadOnlyList<string> Labels)
{
    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase) { ".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp" };

    /// <summary>
    /// Reads <c>path&lt;TAB&gt;label</c> lines; relative paths are relative to the TSV's folder. Empty lines and
    /// lines starting with <c>#</c> are skipped, and so is a first line whose first field is a header
    /// (<c>path</c>, <c>image</c>, <c>image_path</c>, <c>file</c>).
    /// </summary>
    public static LabeledImageSet ReadTsv(string tsv) => new(tsv, ReadPairs(tsv, "label", out var labels), labels);

    /// <summary>Reads <c>path&lt;TAB&gt;second field</c> lines (labels or captions), checking every image exists.</summary>
    public static IReadOnlyList<string> ReadPairs(string tsv, string secondField, out IReadOnlyList<string> values)
    {
        if (!File.Exists(tsv))
            throw new FileNotFoundException($"TSV file '{tsv}' does not exist.", tsv);
        var dir = Path.GetDirectoryName(Path.GetFullPath(tsv))!;
        var paths = new List<string>();
        var second = new List<string>();
        int lineNo = 0;
        bool first = true;
        foreach (var line in File.ReadLines(tsv))
        {
            lineNo++;
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            var fields = line.Split('\t');
            bool header = first && fields[0].Trim().ToLowerInvariant() is "path" or "image" or "image_path" or "imagepath" or "file";
            first = false;
            if (header)
                continue;
            if (fields.Length < 2 || fields[0].Trim().Length == 0 || fields[1].Trim().Length == 0)
                throw new InvalidDataException($"{tsv}:{lineNo}: expected 'image path<TAB>{secondField}', got '{line}'.");
            var path = Path.GetFullPath(Path.Combine(dir, fields[0].Trim()));
            if (!File.Exists(path))
                throw new FileNotFoundException($"{tsv}:{lineNo}: image '{path}' does not exist.", path);
            paths.Add(path);
            second.Add(fields[1].Trim());
        }
        if (paths.Count == 0)
            throw new InvalidDataException($"TSV file '{tsv}' holds no rows.");
        values = second;
        return paths;
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
