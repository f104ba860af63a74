using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// The CLIP paper's linear probe: L-BFGS multinomial logistic regression (ML.NET's <c>LbfgsMaximumEntropy</c>) on
/// frozen image features, λ (L2) chosen by a log-spaced sweep on a validation split, then refitted on train +
/// validation with the best λ.
/// </summary>
/// <remarks>
/// The features and labels are read into memory once; every fit of the sweep reuses them. λ is ML.NET's
/// <c>L2Regularization</c> (weight of ½‖W‖² against the summed log-loss), not scikit-learn's C.
/// </remarks>
public sealed class ClipLinearProbeEstimator : IEstimator<ClipLinearProbeTransformer>
{
    private readonly MulticlassClassificationCatalog.MulticlassClassificationTrainers _trainers;
    private readonly ClipLinearProbeOptions _options;

    internal ClipLinearProbeEstimator(MulticlassClassificationCatalog.MulticlassClassificationTrainers trainers, ClipLinearProbeOptions options)
    {
        ArgumentNullException.ThrowIfNull(trainers);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.FeatureColumnName);
        ArgumentException.ThrowIfNullOrEmpty(options.LabelColumnName);
        if (options.L2Regularization is { } l2 && !(l2 >= 0))
            throw new ArgumentOutOfRangeException(nameof(options), l2, "L2Regularization must be >= 0.");
        if (options.L2Regularizations is { } grid && (grid.Count == 0 || grid.Any(v => !(v >= 0))))
            throw new ArgumentOutOfRangeException(nameof(options), "L2Regularizations must hold at least one value, all >= 0.");
        if (options.ValidationData is null && !(options.ValidationFraction > 0 && options.ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationFraction, "ValidationFraction must be in (0, 1).");
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaximumNumberOfIterations, 1, nameof(options));
        _trainers = trainers;
        _options = options;
    }

    /// <summary>The λ grid the sweep uses.</summary>
    public IReadOnlyList<float> Grid => _options.L2Regularizations
        ?? L2Sweep.LogSpace(ClipLinearProbeOptions.Defaults.SweepMin, ClipLinearProbeOptions.Defaults.SweepMax, ClipLinearProbeOptions.Defaults.SweepSteps);

    /// <summary>Schema after the probe: adds <c>Score</c> and <c>PredictedLabel</c>, as <c>LbfgsMaximumEntropy</c> does.</summary>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) => Trainer(1f).GetOutputSchema(inputSchema);

    /// <summary>Runs the sweep (unless λ is fixed) and fits the final model.</summary>
    public ClipLinearProbeTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var data = LabeledFeatures.FromDataView(input, _options.FeatureColumnName, _options.LabelColumnName);
        LabeledFeatures? validation = null;
        if (_options.ValidationData is { } v)
        {
            validation = LabeledFeatures.FromDataView(v, _options.FeatureColumnName, _options.LabelColumnName);
            if (!validation.ClassNames.SequenceEqual(data.ClassNames) || validation.FeatureSize != data.FeatureSize)
                throw new ArgumentException("ValidationData must have the training data's feature size and label classes.", nameof(input));
        }
        return Fit(data, validation);
    }

    /// <summary>Fits on in-memory features (the few-shot curve and the CLI use this: no data view round trip).</summary>
    /// <param name="train">Training rows (the whole training set; it is split unless <paramref name="validation"/> is given).</param>
    /// <param name="validation">Separate validation rows, or null.</param>
    public ClipLinearProbeTransformer Fit(LabeledFeatures train, LabeledFeatures? validation = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        // Only builds in-memory data views (one per call: an MLContext is not meant to be shared across threads);
        // the trainers come from the caller's catalog and its MLContext.
        var local = new MLContext(_options.Seed);
        if (train.Count == 0)
            throw new ArgumentException($"The training data has no rows with a label in column '{_options.LabelColumnName}'.", nameof(train));
        if (_options.L2Regularization is { } fixedL2)
            return FitFinal(local, train, fixedL2, []);

        LabeledFeatures fitPart, valPart;
        if (validation is null)
        {
            var (t, val) = StratifiedSampling.TrainValidationSplit(train.Labels, train.ClassCount, _options.ValidationFraction, _options.Seed);
            if (val.Length == 0)
                throw new ArgumentException(
                    $"The {train.Count} training rows leave no validation split (every class needs at least 2 rows); set L2Regularization to fit without a sweep.", nameof(train));
            fitPart = train.Subset(t);
            valPart = train.Subset(val);
        }
        else
        {
            fitPart = train;
            valPart = validation;
        }

        var sweep = new List<L2SweepPoint>();
        var valView = valPart.ToDataView(local, _options.FeatureColumnName, _options.LabelColumnName);
        var fitView = fitPart.ToDataView(local, _options.FeatureColumnName, _options.LabelColumnName);
        foreach (var l2 in Grid)
        {
            var watch = Stopwatch.StartNew();
            var model = Trainer(l2).Fit(fitView);
            var accuracy = ClipEvaluation.Accuracy(model.Transform(valView), _options.LabelColumnName);
            sweep.Add(new L2SweepPoint(l2, accuracy));
            _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"linear probe: lambda={l2:G3} validation accuracy={accuracy:P2} ({fitPart.Count} train / {valPart.Count} validation rows, {watch.Elapsed.TotalSeconds:F1} s)"));
        }
        var best = L2Sweep.SelectBest(sweep);
        _options.Log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"linear probe: best lambda={best.L2Regularization:G3} ({best.ValidationAccuracy:P2})"));
        var final = _options.RefitOnAllData ? fitPart.Concat(valPart) : fitPart;
        return FitFinal(local, final, best.L2Regularization, sweep);
    }

    private ClipLinearProbeTransformer FitFinal(MLContext local, LabeledFeatures rows, float l2, IReadOnlyList<L2SweepPoint> sweep)
    {
        var view = rows.ToDataView(local, _options.FeatureColumnName, _options.LabelColumnName);
        var model = Trainer(l2).Fit(view);
        return new ClipLinearProbeTransformer(model, l2, sweep, rows.ClassNames, rows.Count);
    }

    private LbfgsMaximumEntropyMulticlassTrainer Trainer(float l2) => _trainers.LbfgsMaximumEntropy(new LbfgsMaximumEntropyMulticlassTrainer.Options
    {
        FeatureColumnName = _options.FeatureColumnName,
        LabelColumnName = _options.LabelColumnName,
        L2Regularization = l2,
        L1Regularization = 0,
        MaximumNumberOfIterations = _options.MaximumNumberOfIterations,
        OptimizationTolerance = _options.OptimizationTolerance,
        // The sweep and the few-shot seeds must be reproducible: one thread keeps L-BFGS deterministic.
        NumberOfThreads = 1,
    });
}
