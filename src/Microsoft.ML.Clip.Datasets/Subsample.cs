namespace Microsoft.ML.Clip.Datasets;

/// <summary>Seeded uniform subsampling that keeps the original order (so a slice streams like the full set).</summary>
internal static class Subsample
{
    /// <summary>Indices into a set of <paramref name="count"/> items: all of them, or <paramref name="maxItems"/>
    /// chosen uniformly with <paramref name="seed"/>, sorted ascending.</summary>
    public static int[] Indices(int count, int? maxItems, int seed)
    {
        if (maxItems is null || maxItems >= count)
            return Enumerable.Range(0, count).ToArray();
        var all = Enumerable.Range(0, count).ToArray();
        var random = new Random(seed);
        var take = maxItems.Value;
        // Partial Fisher–Yates: the first `take` slots become a uniform sample without replacement.
        for (var i = 0; i < take; i++)
        {
            var j = random.Next(i, count);
            (all[i], all[j]) = (all[j], all[i]);
        }
        var chosen = all.AsSpan(0, take).ToArray();
        Array.Sort(chosen);
        return chosen;
    }

    /// <summary>The items at <see cref="Indices"/>.</summary>
    public static IReadOnlyList<T> Take<T>(IReadOnlyList<T> items, DatasetOptions options)
    {
        var indices = Indices(items.Count, options.MaxItems, options.Seed);
        if (indices.Length == items.Count)
            return items;
        return indices.Select(i => items[i]).ToArray();
    }
}
