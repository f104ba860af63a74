using Microsoft.ML.Clip.Evaluation;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class FewShotTests
{
    [Fact]
    public void CurveHasOnePointPerReachableKWithOneAccuracyPerSeed()
    {
        var ml = new MLContext(0);
        var train = SyntheticFeatures.Blobs(classes: 4, perClass: 6, dim: 12, separation: 3, noise: 0.5f, seed: 21);
        var test = SyntheticFeatures.Blobs(classes: 4, perClass: 25, dim: 12, separation: 3, noise: 0.5f, seed: 22);
        var log = new List<string>();
        var curve = ClipFewShot.Evaluate(ml.MulticlassClassification.Trainers, train, test,
            new ClipFewShotOptions { Shots = [1, 2, 4, 8], Seeds = 3, Log = log.Add });

        Assert.Equal([1, 2, 4], curve.Select(p => p.Shots));  // 8 > 6 rows per class: skipped and logged.
        Assert.Contains(log, l => l.Contains("k=8 skipped"));
        Assert.All(curve, p => Assert.Equal(3, p.Accuracies.Count));
        Assert.True(curve[^1].Mean > 0.9, $"4-shot accuracy {curve[^1].Mean}");
        // Seeded: the same options give the same curve.
        var again = ClipFewShot.Evaluate(ml.MulticlassClassification.Trainers, train, test, new ClipFewShotOptions { Shots = [1, 2, 4, 8], Seeds = 3 });
        Assert.Equal(curve.SelectMany(p => p.Accuracies), again.SelectMany(p => p.Accuracies));
    }

    [Fact]
    public void MeanAndSampleStandardDeviation()
    {
        var p = new FewShotPoint(2, [0.5, 0.7, 0.9]);
        Assert.Equal(0.7, p.Mean, 12);
        Assert.Equal(0.2, p.StandardDeviation, 12);
        Assert.Equal(0, new FewShotPoint(1, [0.4]).StandardDeviation);
    }

    [Fact]
    public void MismatchedClassesAreRejected()
    {
        var ml = new MLContext(0);
        var train = SyntheticFeatures.Blobs(3, 2, 4, 3, 0.5f, 1);
        var test = SyntheticFeatures.Blobs(4, 2, 4, 3, 0.5f, 1);
        Assert.Throws<ArgumentException>(() => ClipFewShot.Evaluate(ml.MulticlassClassification.Trainers, train, test));
    }
}
