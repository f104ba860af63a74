namespace Microsoft.ML.Clip.Evaluation;

/// <summary>One value of the L2 sweep and the validation accuracy it reached.</summary>
/// <param name="L2Regularization">λ, ML.NET's <c>L2Regularization</c> of <c>LbfgsMaximumEntropy</c>.</param>
/// <param name="ValidationAccuracy">Top-1 accuracy on the validation split, in [0, 1].</param>
public sealed record L2SweepPoint(float L2Regularization, double ValidationAccuracy);

/// <summary>The λ grid and the choice of the best value.</summary>
internal static class L2Sweep
{
    /// <summary>
    /// <paramref name="count"/> values log-spaced from <paramref name="min"/> to <paramref name="max"/> (both included),
    /// ascending. The CLIP paper sweeps 10⁻⁶…10⁶; a coarser grid costs fewer fits.
    /// </summary>
    // friend: used by clip (the CLI builds the λ grid of its --l2-min/--l2-max/--l2-steps)
    public static float[] LogSpace(double min, double max, int count)
    {
        if (!(min > 0) || !(max >= min))
            throw new ArgumentOutOfRangeException(nameof(min), $"Need 0 < min <= max, got min={min}, max={max}.");
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        if (count == 1)
            return [(float)min];
        double lo = Math.Log10(min), step = (Math.Log10(max) - lo) / (count - 1);
        return Enumerable.Range(0, count).Select(i => (float)Math.Pow(10, lo + i * step)).ToArray();
    }

    /// <summary>
    /// The point with the highest validation accuracy; on a tie the largest λ (the most regularised model that
    /// does as well generalises at least as well, and it is the stable choice when many values reach 100%).
    /// </summary>
    public static L2SweepPoint SelectBest(IReadOnlyList<L2SweepPoint> sweep)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        if (sweep.Count == 0)
            throw new ArgumentException("The sweep is empty.", nameof(sweep));
        var best = sweep[0];
        foreach (var p in sweep.Skip(1))
            if (p.ValidationAccuracy > best.ValidationAccuracy
                || (p.ValidationAccuracy == best.ValidationAccuracy && p.L2Regularization > best.L2Regularization))
                best = p;
        return best;
    }
}
