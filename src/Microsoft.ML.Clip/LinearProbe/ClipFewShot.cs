using System.Globalization;

namespace Microsoft.ML.Clip.Evaluation;

/// <summary>Options of the few-shot curve (<see cref="ClipFewShot.Evaluate"/>).</summary>
public sealed class ClipFewShotOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>
        /// Fixed λ. With 1–16 rows per class a validation split is too small to choose λ, so there is no sweep; a
        /// strong L2 keeps the weights near the class means of the few examples (logistic regression tends to a
        /// nearest-class-mean classifier as λ grows), which is what works with so little data.
        /// </summary>
        public const float L2Regularization = 1f;

        /// <summary>Draws per k.</summary>
        public const int Seeds = 5;
    }

    /// <summary>The k values (rows per class). Default 1, 2, 4, 8, 16.</summary>
    public IReadOnlyList<int> Shots = [1, 2, 4, 8, 16];

    /// <summary>Draws per k (seeds <see cref="Seed"/> … <see cref="Seed"/> + n − 1). Default <see cref="Defaults.Seeds"/>.</summary>
    public int Seeds = Defaults.Seeds;

    /// <summary>The first seed.</summary>
    public int Seed;

    /// <summary>λ of every fit. Default <see cref="Defaults.L2Regularization"/>.</summary>
    public float L2Regularization = Defaults.L2Regularization;

    /// <summary>L-BFGS iteration cap.</summary>
    public int MaximumNumberOfIterations = ClipLinearProbeOptions.Defaults.MaximumNumberOfIterations;

    /// <summary>Receives one line per k (null: silent).</summary>
    public Action<string>? Log;
}

/// <summary>The test accuracy of k-shot probes over several draws.</summary>
/// <param name="Shots">k, rows per class.</param>
/// <param name="Accuracies">Test top-1 accuracy of each draw.</param>
public sealed record FewShotPoint(int Shots, IReadOnlyList<double> Accuracies)
{
    /// <summary>Mean accuracy over the draws.</summary>
    public double Mean => Accuracies.Average();

    /// <summary>Sample standard deviation over the draws (0 for one draw).</summary>
    public double StandardDeviation
    {
        get
        {
            if (Accuracies.Count < 2)
                return 0;
            var mean = Mean;
            return Math.Sqrt(Accuracies.Sum(a => (a - mean) * (a - mean)) / (Accuracies.Count - 1));
        }
    }
}

/// <summary>Few-shot linear probes: k rows per class (stratified, seeded), a fixed λ, accuracy on a test set.</summary>
public static class ClipFewShot
{
    /// <summary>
    /// Fits a probe on k rows per class for every k and seed and scores it on <paramref name="test"/>. A k larger
    /// than the smallest class of <paramref name="train"/> is left out of the curve (logged).
    /// </summary>
    /// <param name="trainers">The multiclass trainers catalog (<c>mlContext.MulticlassClassification.Trainers</c>).</param>
    /// <param name="train">The pool the shots are drawn from.</param>
    /// <param name="test">The evaluation rows (same classes).</param>
    /// <param name="options">k values, seeds, λ.</param>
    public static IReadOnlyList<FewShotPoint> Evaluate(MulticlassClassificationCatalog.MulticlassClassificationTrainers trainers,
        LabeledFeatures train, LabeledFeatures test, ClipFewShotOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(test);
        options ??= new ClipFewShotOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Seeds, 1, nameof(options));
        if (!test.ClassNames.SequenceEqual(train.ClassNames))
            throw new ArgumentException("The test set's classes differ from the training set's.", nameof(test));
        if (test.Count == 0)
            throw new ArgumentException("The test set is empty.", nameof(test));
        int smallest = Enumerable.Range(0, train.ClassCount).Min(c => train.Labels.Count(l => l == c));
        var probe = new ClipLinearProbeEstimator(trainers, new ClipLinearProbeOptions
        {
            L2Regularization = options.L2Regularization,
            MaximumNumberOfIterations = options.MaximumNumberOfIterations,
        });
        var testView = test.ToDataView(new MLContext(0));
        var curve = new List<FewShotPoint>();
        foreach (var k in options.Shots.Distinct().Order())
        {
            if (k < 1)
                throw new ArgumentOutOfRangeException(nameof(options), k, "Every k must be at least 1.");
            if (k > smallest)
            {
                options.Log?.Invoke($"few-shot: k={k} skipped, the smallest class has {smallest} training rows.");
                continue;
            }
            var accuracies = new List<double>();
            for (int s = 0; s < options.Seeds; s++)
            {
                var rows = StratifiedSampling.KShot(train.Labels, train.ClassCount, k, options.Seed + s);
                var model = probe.Fit(train.Subset(rows));
                accuracies.Add(ClipEvaluation.Accuracy(model.Transform(testView)));
            }
            var point = new FewShotPoint(k, accuracies);
            curve.Add(point);
            options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"few-shot: k={k} accuracy={point.Mean:P2} ± {point.StandardDeviation:P2} over {options.Seeds} draws"));
        }
        return curve;
    }
}
