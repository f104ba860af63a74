using Microsoft.ML.Clip.TorchSharp.Training;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

public class ContrastiveLossTests
{
    private static (float[,] Image, float[,] Text) RandomFeatures(int n, int d, int seed)
    {
        var random = new Random(seed);
        float[,] Make()
        {
            var m = new float[n, d];
            for (var i = 0; i < n; i++) for (var j = 0; j < d; j++) m[i, j] = (float)(random.NextDouble() * 2 - 1);
            return m;
        }
        return (Make(), Make());
    }

    // Scaled cosine similarities in double precision, written out longhand as the reference to compare against.
    private static double[,] Logits(float[,] a, float[,] b, double scale, double bias)
    {
        int n = a.GetLength(0), d = a.GetLength(1);
        double Norm(float[,] m, int r) => Math.Sqrt(Enumerable.Range(0, d).Sum(j => (double)m[r, j] * m[r, j]));
        var logits = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                logits[i, j] = scale * Enumerable.Range(0, d).Sum(k => (double)a[i, k] * b[j, k]) / (Norm(a, i) * Norm(b, j)) + bias;
        return logits;
    }

    [Fact]
    public void InfoNce_equals_the_mean_of_row_and_column_cross_entropies()
    {
        var (a, b) = RandomFeatures(5, 7, 1);
        var logits = Logits(a, b, Math.Exp(2.3), 0);
        double rows = 0, cols = 0;
        for (var i = 0; i < 5; i++)
        {
            rows += -logits[i, i] + Math.Log(Enumerable.Range(0, 5).Sum(j => Math.Exp(logits[i, j])));
            cols += -logits[i, i] + Math.Log(Enumerable.Range(0, 5).Sum(j => Math.Exp(logits[j, i])));
        }
        var expected = (rows / 5 + cols / 5) / 2;

        using var loss = ContrastiveLoss.InfoNce(tensor(a), tensor(b), tensor(2.3f));
        Assert.Equal(expected, loss.item<float>(), 4);
    }

    [Fact]
    public void Sigmoid_loss_equals_the_pairwise_log_sigmoid_sum()
    {
        var (a, b) = RandomFeatures(4, 6, 2);
        var logits = Logits(a, b, 10, -10);
        double sum = 0;
        for (var i = 0; i < 4; i++)
            for (var j = 0; j < 4; j++)
            {
                var z = (i == j ? 1 : -1) * logits[i, j];
                sum += -Math.Log(1 / (1 + Math.Exp(-z)));
            }
        using var loss = ContrastiveLoss.Sigmoid(tensor(a), tensor(b), tensor((float)Math.Log(10)), tensor(-10f));
        Assert.Equal(sum / 4, loss.item<float>(), 3);
    }

    [Fact]
    public void Initial_values_are_the_references()
    {
        Assert.Equal(Math.Log(1 / 0.07), ContrastiveLoss.InfoNceInitialLogitScale, 12);
        Assert.Equal(Math.Log(10), ContrastiveLoss.SigmoidInitialLogitScale, 12);
        Assert.Equal(-10, ContrastiveLoss.SigmoidInitialBias);
        Assert.Equal(100, Math.Exp(ContrastiveLoss.MaxLogitScale), 9);
    }

    [Fact]
    public void Clamp_keeps_exp_of_the_temperature_at_most_100_in_place()
    {
        using var t = tensor((float)Math.Log(250));
        ContrastiveLoss.ClampLogitScale(t);
        Assert.True(Math.Exp(t.item<float>()) <= 100.0001);
        using var u = tensor(2.5f);
        ContrastiveLoss.ClampLogitScale(u);
        Assert.Equal(2.5f, u.item<float>());
    }

    [Fact]
    public void Mismatched_features_are_rejected_with_both_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => ContrastiveLoss.InfoNce(zeros(3, 4), zeros(2, 4), tensor(1f)));
        Assert.Contains("[3, 4]", e.Message);
        Assert.Contains("[2, 4]", e.Message);
    }
}
