namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// Seeded, stratified row selection for the linear probe: validation splits and k-shot samples. The same seed
/// and labels always give the same rows (a private <see cref="Random"/> per call, never a shared one).
/// </summary>
internal static class StratifiedSampling
{
    /// <summary>
    /// Exactly <paramref name="shotsPerClass"/> rows of every class, drawn without replacement; returned in
    /// ascending row order.
    /// </summary>
    /// <param name="labels">0-based class index of each row.</param>
    /// <param name="classCount">Number of classes; every class must have at least <paramref name="shotsPerClass"/> rows.</param>
    /// <param name="shotsPerClass">k, at least 1.</param>
    /// <param name="seed">Seed of the draw.</param>
    /// <exception cref="ArgumentException">A class has fewer than k rows (the message names it).</exception>
    public static int[] KShot(IReadOnlyList<int> labels, int classCount, int shotsPerClass, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(shotsPerClass, 1);
        var byClass = GroupByClass(labels, classCount);
        for (int c = 0; c < classCount; c++)
            if (byClass[c].Count < shotsPerClass)
                throw new ArgumentException($"Class {c} has {byClass[c].Count} rows, fewer than the {shotsPerClass} shots asked for.", nameof(shotsPerClass));
        var random = new Random(seed);
        var chosen = new List<int>(classCount * shotsPerClass);
        foreach (var rows in byClass)
            chosen.AddRange(Shuffle(rows, random).Take(shotsPerClass));
        chosen.Sort();
        return [.. chosen];
    }

    /// <summary>
    /// Splits rows into train and validation, class by class: each class gives round(fraction · n) rows to
    /// validation but always keeps at least one for training (a class of one row has no validation row).
    /// </summary>
    /// <param name="labels">0-based class index of each row.</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="validationFraction">In (0, 1).</param>
    /// <param name="seed">Seed of the split.</param>
    /// <returns>Row indices of both parts, each ascending.</returns>
    // friend: used by clip (the CLI splits a class-folder data set 70/30)
    public static (int[] Train, int[] Validation) TrainValidationSplit(IReadOnlyList<int> labels, int classCount, double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "The validation fraction must be in (0, 1).");
        var byClass = GroupByClass(labels, classCount);
        var random = new Random(seed);
        var train = new List<int>();
        var validation = new List<int>();
        foreach (var rows in byClass)
        {
            var shuffled = Shuffle(rows, random);
            int nVal = Math.Min((int)Math.Round(validationFraction * rows.Count, MidpointRounding.AwayFromZero), rows.Count - 1);
            validation.AddRange(shuffled.Take(Math.Max(nVal, 0)));
            train.AddRange(shuffled.Skip(Math.Max(nVal, 0)));
        }
        train.Sort();
        validation.Sort();
        return ([.. train], [.. validation]);
    }

    private static List<int>[] GroupByClass(IReadOnlyList<int> labels, int classCount)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        var byClass = Enumerable.Range(0, classCount).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < labels.Count; i++)
        {
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"Label {labels[i]} of row {i} is not a class index in [0, {classCount}).", nameof(labels));
            byClass[labels[i]].Add(i);
        }
        return byClass;
    }

    private static int[] Shuffle(List<int> rows, Random random)
    {
        var a = rows.ToArray();
        // Fisher-Yates: every permutation equally likely.
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a;
    }
}
