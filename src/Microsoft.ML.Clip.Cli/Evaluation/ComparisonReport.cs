using Microsoft.ML.Clip.Evaluation;

namespace ClipCli.Evaluation;

/// <summary>The markdown of <c>clip compare</c>'s and <c>clip summarize</c>'s reports: the comparison table and the λ sweep.</summary>
internal static class ComparisonReport
{
    /// <summary>An accuracy as a percentage with one decimal, e.g. <c>87.5%</c>; "–" for null.</summary>
    public static string Percent(double? value)
        => value is { } v ? (100 * v).ToString("F1", System.Globalization.CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>
    /// One table row per data set: sizes, zero-shot top-1/top-5, the two linear probes (with λ) and the few-shot
    /// accuracies (mean ± std) for every k that any set reached.
    /// </summary>
    public static string ToMarkdown(IReadOnlyList<DatasetComparison> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        var shots = results.SelectMany(r => r.FewShot.Select(p => p.Shots)).Distinct().Order().ToArray();
        var sb = new System.Text.StringBuilder();
        sb.Append("| data set | classes | train | test | zero-shot top-1 | zero-shot top-5 | linear probe CLIP | linear probe ResNet-18 |")
          .AppendJoin("", shots.Select(k => $" {k}-shot |")).AppendLine();
        sb.Append("|---|---:|---:|---:|---:|---:|---:|---:|").AppendJoin("", shots.Select(_ => "---:|")).AppendLine();
        foreach (var r in results)
        {
            sb.Append(ci, $"| {r.Name} | {r.ClassCount} | {r.TrainCount} | {r.TestCount} | {Percent(r.ZeroShotTop1)} | {Percent(r.ZeroShotTop5)} | {Probe(r.ClipProbe)} | {Probe(r.ResNet18Probe)} |");
            foreach (var k in shots)
            {
                var p = r.FewShot.FirstOrDefault(f => f.Shots == k);
                sb.Append(' ').Append(p is null ? "–" : $"{Percent(p.Mean)} ± {(100 * p.StandardDeviation).ToString("F1", ci)}").Append(" |");
            }
            sb.AppendLine();
        }
        return sb.ToString();
    }

    /// <summary>The sweep as a markdown table: λ and validation accuracy, the chosen row marked.</summary>
    public static string SweepToMarkdown(IReadOnlyList<L2SweepPoint> sweep, float chosen)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        var sb = new System.Text.StringBuilder();
        sb.AppendLine("| λ | validation accuracy | |").AppendLine("|---:|---:|---|");
        foreach (var p in sweep)
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"| {p.L2Regularization:G3} | {Percent(p.ValidationAccuracy)} | {(p.L2Regularization == chosen ? "chosen" : "")} |").AppendLine();
        return sb.ToString();
    }

    private static string Probe(ProbeResult? p)
        => p is null ? "–" : $"{Percent(p.Accuracy)} (λ={p.L2Regularization.ToString("G3", System.Globalization.CultureInfo.InvariantCulture)})";
}
