using Microsoft.ML.Clip.Evaluation;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Evaluation;

public class SamplingTests
{
    // 3 classes of 10, 7 and 5 rows, interleaved.
    private static readonly int[] Labels = Enumerable.Range(0, 10).SelectMany(i => new[] { 0, 1, 2 }.Where(c => i < new[] { 10, 7, 5 }[c])).ToArray();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(5)]
    public void KShotTakesExactlyKRowsOfEveryClass(int k)
    {
        var rows = StratifiedSampling.KShot(Labels, 3, k, seed: 11);
        Assert.Equal(3 * k, rows.Length);
        Assert.Equal(rows.Length, rows.Distinct().Count());
        Assert.True(rows.SequenceEqual(rows.Order()));
        for (int c = 0; c < 3; c++)
            Assert.Equal(k, rows.Count(r => Labels[r] == c));
    }

    [Fact]
    public void KShotIsSeeded()
    {
        var a = StratifiedSampling.KShot(Labels, 3, 3, seed: 5);
        Assert.Equal(a, StratifiedSampling.KShot(Labels, 3, 3, seed: 5));
        // Ten other seeds cannot all draw the same 9 rows out of C(10,3)·C(7,3)·C(5,3) = 42,000 choices.
        Assert.Contains(Enumerable.Range(6, 10), s => !StratifiedSampling.KShot(Labels, 3, 3, s).SequenceEqual(a));
    }

    [Fact]
    public void KShotNamesTheClassThatIsTooSmall()
    {
        var e = Assert.Throws<ArgumentException>(() => StratifiedSampling.KShot(Labels, 3, 6, seed: 0));
        Assert.Contains("Class 2 has 5 rows", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => StratifiedSampling.KShot(Labels, 3, 0, seed: 0));
        Assert.Throws<ArgumentException>(() => StratifiedSampling.KShot([0, 3], 3, 1, seed: 0));
    }

    [Fact]
    public void ValidationSplitIsStratifiedDisjointAndComplete()
    {
        var (train, validation) = StratifiedSampling.TrainValidationSplit(Labels, 3, 0.2, seed: 3);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Enumerable.Range(0, Labels.Length), train.Concat(validation).Order());
        // round(0.2 · n) per class: 2 of 10, 1 of 7 (1.4), 1 of 5.
        Assert.Equal([2, 1, 1], Enumerable.Range(0, 3).Select(c => validation.Count(r => Labels[r] == c)));
        Assert.Equal(validation, StratifiedSampling.TrainValidationSplit(Labels, 3, 0.2, seed: 3).Validation);
        // A class of one row stays in training.
        var (t1, v1) = StratifiedSampling.TrainValidationSplit([0, 1, 1], 2, 0.5, seed: 0);
        Assert.Equal([0], t1.Where(r => r == 0));
        Assert.Single(v1);
    }
}
