namespace Microsoft.ML.Clip.Datasets;

/// <summary>Caption text helpers shared by the pair loaders.</summary>
internal static class Captions
{
    /// <summary>"name, kw1, kw2": the name followed by up to <paramref name="maxKeywords"/> keywords that are
    /// not already words of the name (case-insensitive), whitespace normalised.</summary>
    public static string Compose(string name, IEnumerable<string> keywords, int maxKeywords)
    {
        name = Clean(name);
        if (maxKeywords <= 0)
            return name;
        var seen = new HashSet<string>(Words(name), StringComparer.OrdinalIgnoreCase);
        var extra = new List<string>();
        foreach (var raw in keywords)
        {
            var keyword = Clean(raw);
            if (keyword.Length == 0 || !seen.Add(keyword))
                continue;
            extra.Add(keyword);
            if (extra.Count == maxKeywords)
                break;
        }
        if (extra.Count == 0)
            return name;
        return name.Length == 0 ? string.Join(", ", extra) : name + ", " + string.Join(", ", extra);
    }

    // Words without punctuation: "keycap: #" holds the word "keycap".
    private static IEnumerable<string> Words(string text) =>
        text.Split(text.Where(c => !char.IsLetterOrDigit(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Collapses whitespace (tabs and newlines included: captions go into TSV files) and underscores.</summary>
    public static string Clean(string text)
    {
        var parts = text.Replace('_', ' ').Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', parts);
    }
}
