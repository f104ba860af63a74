using Microsoft.ML.Clip.Evaluation;

// In ML.NET's namespace, next to its trainer catalogs: `using Microsoft.ML;` finds this.
namespace Microsoft.ML;

/// <summary>Catalog extension for the CLIP linear probe, next to ML.NET's multiclass trainers.</summary>
public static class ClipLinearProbeCatalog
{
    /// <summary>
    /// The CLIP paper's linear probe on <paramref name="featureColumnName"/> (any image embedding): λ swept on a
    /// stratified validation split, refitted on all rows. Outputs <c>Score</c> and <c>PredictedLabel</c>.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">A <c>Key&lt;UInt32&gt;</c> label (from <c>MapValueToKey</c>).</param>
    /// <param name="featureColumnName">A known-size <c>Vector&lt;Single&gt;</c>.</param>
    public static ClipLinearProbeEstimator ClipLinearProbe(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = ClipLinearProbeOptions.Defaults.LabelColumnName, string featureColumnName = ClipLinearProbeOptions.Defaults.FeatureColumnName)
        => new(catalog, new ClipLinearProbeOptions { LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName });

    /// <summary>The linear probe with all options.</summary>
    public static ClipLinearProbeEstimator ClipLinearProbe(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, ClipLinearProbeOptions options)
        => new(catalog, options);
}
