namespace Microsoft.ML.Clip.Evaluation;

/// <summary>A linear probe's result on one data set.</summary>
/// <param name="Accuracy">Top-1 test accuracy, in [0, 1].</param>
/// <param name="L2Regularization">The λ the sweep chose.</param>
public sealed record ProbeResult(double Accuracy, float L2Regularization);

/// <summary>
/// Everything <c>clip compare</c> measures on one data set: zero-shot CLIP, linear probes on CLIP and ResNet-18
/// features, and the few-shot curve. Missing parts are null (or an empty curve).
/// </summary>
public sealed record DatasetComparison
{
    /// <summary>The data set's name (a table row, the plot's title and file name).</summary>
    public required string Name { get; init; }

    /// <summary>Number of classes.</summary>
    public int ClassCount { get; init; }

    /// <summary>Training rows.</summary>
    public int TrainCount { get; init; }

    /// <summary>Test rows.</summary>
    public int TestCount { get; init; }

    /// <summary>Zero-shot top-1 accuracy.</summary>
    public double? ZeroShotTop1 { get; init; }

    /// <summary>Zero-shot top-5 accuracy (null with fewer than 6 classes, where it is trivially 100%).</summary>
    public double? ZeroShotTop5 { get; init; }

    /// <summary>Linear probe on CLIP image embeddings.</summary>
    public ProbeResult? ClipProbe { get; init; }

    /// <summary>Linear probe on ResNet-18 (supervised ImageNet) features: the paper's baseline.</summary>
    public ProbeResult? ResNet18Probe { get; init; }

    /// <summary>Few-shot linear probes on CLIP embeddings.</summary>
    public IReadOnlyList<FewShotPoint> FewShot { get; init; } = [];
}

/// <summary>Markdown for comparison reports.</summary>
public static class Report
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
