using Microsoft.ML;
using Microsoft.ML.Clip.Evaluation;

namespace ClipCli.Evaluation;

/// <summary>Fits a swept linear probe on in-memory features and scores it on a test set.</summary>
internal sealed class ProbeRunner(MLContext ml, float[] grid, double validationFraction, int seed)
{
    /// <summary>The fitted probe with its top-1 and top-5 (null with 5 classes or fewer) test accuracy.</summary>
    public (ClipLinearProbeTransformer Model, double Top1, double? Top5) Run(string what, LabeledFeatures train, LabeledFeatures test)
    {
        EvaluationCli.Info($"{what}: sweeping {grid.Length} λ values on {train.Count} training rows ({train.FeatureSize} features).");
        var model = ml.MulticlassClassification.Trainers.ClipLinearProbe(new ClipLinearProbeOptions
        {
            L2Regularizations = grid,
            ValidationFraction = validationFraction,
            Seed = seed,
            Log = EvaluationCli.Info,
        }).Fit(train);
        var (scores, labels) = ClipEvaluation.ReadScores(model.Transform(test.ToDataView(ml)));
        var top1 = ClipEvaluation.TopKAccuracy(scores, labels, 1);
        double? top5 = test.ClassCount > 5 ? ClipEvaluation.TopKAccuracy(scores, labels, 5) : null;
        return (model, top1, top5);
    }
}
