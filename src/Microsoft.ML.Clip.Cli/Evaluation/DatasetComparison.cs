using Microsoft.ML.Clip.Evaluation;

namespace ClipCli.Evaluation;

/// <summary>A linear probe's result on one data set.</summary>
/// <param name="Accuracy">Top-1 test accuracy, in [0, 1].</param>
/// <param name="L2Regularization">The λ the sweep chose.</param>
internal sealed record ProbeResult(double Accuracy, float L2Regularization);

/// <summary>
/// Everything <c>clip compare</c> measures on one data set (one entry of its <c>results.json</c>): zero-shot CLIP, linear probes on CLIP and ResNet-18
/// features, and the few-shot curve. Missing parts are null (or an empty curve).
/// </summary>
internal sealed record DatasetComparison
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
