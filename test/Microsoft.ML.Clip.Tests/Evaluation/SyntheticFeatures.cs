using Microsoft.ML.Clip.Evaluation;

namespace Microsoft.ML.Clip.Tests.Evaluation;

/// <summary>Gaussian blobs: class c centred at <c>separation · e_c</c>, isotropic noise; deterministic per seed.</summary>
internal static class SyntheticFeatures
{
    public static readonly string[] Names = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"];

    public static LabeledFeatures Blobs(int classes, int perClass, int dim, float separation, float noise, int seed)
    {
        var random = new Random(seed);
        var features = new List<float[]>();
        var labels = new List<int>();
        for (int i = 0; i < perClass; i++)
            for (int c = 0; c < classes; c++)
            {
                var x = new float[dim];
                for (int j = 0; j < dim; j++)
                    x[j] = noise * Gaussian(random);
                x[c] += separation;
                features.Add(x);
                labels.Add(c);
            }
        return new LabeledFeatures(features, labels, Names.Take(classes).ToArray());
    }

    private static float Gaussian(Random random)
    {
        // Box-Muller.
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return (float)(Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
}
