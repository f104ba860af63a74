using System.Diagnostics;
using System.Globalization;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>One timed pass: how many items, in how much wall-clock and process CPU time.</summary>
internal readonly record struct Pass(double Items, double Seconds, double CpuSeconds)
{
    /// <summary>Items per wall-clock second.</summary>
    public double PerSecond => Items / Seconds;

    /// <summary>Process CPU milliseconds per item (steadier than wall-clock on a shared machine).</summary>
    public double CpuMsPerItem => CpuSeconds * 1000 / Items;

    /// <summary>Runs <paramref name="onePass"/> (which returns the items it did) until <paramref name="seconds"/> have
    /// passed, at least once, and times the whole.</summary>
    public static Pass Time(double seconds, Func<double> onePass)
    {
        var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        double items = 0;
        do
        {
            items += onePass();
        }
        while (clock.Elapsed.TotalSeconds < seconds);
        double wall = clock.Elapsed.TotalSeconds;
        process.Refresh();
        return new Pass(items, wall, (process.TotalProcessorTime - cpu0).TotalSeconds);
    }
}

/// <summary>Median and spread of a set of values.</summary>
internal readonly record struct Summary(double Median, double Min, double Max, int Count)
{
    public static Summary Of(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
            return new Summary(double.NaN, double.NaN, double.NaN, 0);
        int m = sorted.Length / 2;
        double median = sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        return new Summary(median, sorted[0], sorted[^1], sorted.Length);
    }

    /// <summary>"median [min–max]" with <paramref name="format"/>.</summary>
    public string Format(string format = "F1")
        => string.Create(CultureInfo.InvariantCulture, $"{Median.ToString(format, CultureInfo.InvariantCulture)} [{Min.ToString(format, CultureInfo.InvariantCulture)}–{Max.ToString(format, CultureInfo.InvariantCulture)}]");
}

/// <summary>
/// A/B timing in alternating rounds: each round times A and B back to back, in the order A B on even rounds and B A on
/// odd ones (drift in the machine's load then hits both sides alike). Reported: the median and range of each side's
/// rate, and of the per-round ratio B/A — the ratio of two passes taken seconds apart is far steadier than either rate
/// on a shared machine, and its median over rounds is what a comparison should quote.
/// </summary>
internal sealed class AbResult(string nameA, string nameB, IReadOnlyList<Pass> a, IReadOnlyList<Pass> b)
{
    /// <summary>Fewest rounds a comparison may quote.</summary>
    public const int MinRounds = 5;

    public string NameA { get; } = nameA;
    public string NameB { get; } = nameB;
    public IReadOnlyList<Pass> A { get; } = a;
    public IReadOnlyList<Pass> B { get; } = b;
    public Summary RateA => Summary.Of(A.Select(p => p.PerSecond));
    public Summary RateB => Summary.Of(B.Select(p => p.PerSecond));

    /// <summary>Per-round rate ratio B/A (B's items per second over A's).</summary>
    public Summary Ratio => Summary.Of(A.Zip(B, (x, y) => y.PerSecond / x.PerSecond));

    /// <summary>Per-round ratio of CPU time per item, A over B (above 1: B needs less CPU per item).</summary>
    public Summary CpuRatio => Summary.Of(A.Zip(B, (x, y) => x.CpuMsPerItem / y.CpuMsPerItem));

    public static AbResult Run(int rounds, string nameA, Func<Pass> a, string nameB, Func<Pass> b, Action<string>? log = null)
    {
        var passesA = new List<Pass>();
        var passesB = new List<Pass>();
        for (int round = 0; round < rounds; round++)
        {
            if (round % 2 == 0)
            {
                passesA.Add(a());
                passesB.Add(b());
            }
            else
            {
                passesB.Add(b());
                passesA.Add(a());
            }
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"  round {round + 1}/{rounds}: {nameA} {passesA[^1].PerSecond:F1}/s, {nameB} {passesB[^1].PerSecond:F1}/s, ratio {passesB[^1].PerSecond / passesA[^1].PerSecond:F3}"));
        }
        return new AbResult(nameA, nameB, passesA, passesB);
    }

    /// <summary>One side timed over rounds (no counterpart, e.g. against a fixed roofline).</summary>
    public static Summary Repeat(int rounds, Func<Pass> pass, out List<Pass> passes, Action<string>? log = null, string? name = null)
    {
        passes = [];
        for (int round = 0; round < rounds; round++)
        {
            passes.Add(pass());
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"  round {round + 1}/{rounds}: {name} {passes[^1].PerSecond:F2}/s"));
        }
        return Summary.Of(passes.Select(p => p.PerSecond));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{NameA} {RateA.Format()} /s, {NameB} {RateB.Format()} /s, ratio {NameB}/{NameA} {Ratio.Format("F3")} over {A.Count} alternating rounds (median [min–max]); CPU ms/item {Summary.Of(A.Select(p => p.CpuMsPerItem)).Format("F2")} vs {Summary.Of(B.Select(p => p.CpuMsPerItem)).Format("F2")}");
}
