namespace Microsoft.ML.Clip.Evaluation;

/// <summary>Options of the CLIP linear probe (<see cref="Microsoft.ML.ClipLinearProbeCatalog"/>).</summary>
public sealed class ClipLinearProbeOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>Feature column name.</summary>
        public const string FeatureColumnName = "Features";

        /// <summary>Label column name.</summary>
        public const string LabelColumnName = "Label";

        /// <summary>Share of every class held out for the sweep.</summary>
        public const double ValidationFraction = 0.2;

        /// <summary>Smallest λ of the default grid (the CLIP paper's lower end).</summary>
        public const double SweepMin = 1e-6;

        /// <summary>Largest λ of the default grid (the CLIP paper's upper end).</summary>
        public const double SweepMax = 1e6;

        /// <summary>Number of λ values of the default grid: one per decade.</summary>
        public const int SweepSteps = 13;

        /// <summary>L-BFGS iteration cap (the paper's 1,000).</summary>
        public const int MaximumNumberOfIterations = 1000;

        /// <summary>L-BFGS convergence tolerance (ML.NET's default).</summary>
        public const float OptimizationTolerance = 1e-7f;

        /// <summary>Seed of the validation split.</summary>
        public const int Seed = 0;
    }

    /// <summary>The features: a known-size <c>Vector&lt;Single&gt;</c> (a CLIP or ResNet-18 embedding). Default <see cref="Defaults.FeatureColumnName"/>.</summary>
    public string FeatureColumnName = Defaults.FeatureColumnName;

    /// <summary>The label: <c>Key&lt;UInt32&gt;</c> (from <c>MapValueToKey</c>). Default <see cref="Defaults.LabelColumnName"/>.</summary>
    public string LabelColumnName = Defaults.LabelColumnName;

    /// <summary>
    /// A fixed λ: no sweep, one fit on all rows (what the few-shot curve uses). Null (default): sweep
    /// <see cref="L2Regularizations"/> on a validation split.
    /// </summary>
    public float? L2Regularization;

    /// <summary>The λ grid of the sweep; null: <see cref="L2Sweep.LogSpace"/>(<see cref="Defaults.SweepMin"/>, <see cref="Defaults.SweepMax"/>, <see cref="Defaults.SweepSteps"/>).</summary>
    public IReadOnlyList<float>? L2Regularizations;

    /// <summary>Share of each class held out as the validation split when <see cref="ValidationData"/> is null. Default <see cref="Defaults.ValidationFraction"/>.</summary>
    public double ValidationFraction = Defaults.ValidationFraction;

    /// <summary>A separate validation set (same columns); null: a stratified split of the training data.</summary>
    public IDataView? ValidationData;

    /// <summary>Refit on train + validation with the chosen λ (the paper's protocol; default true). False keeps the model fitted on the train part only.</summary>
    public bool RefitOnAllData = true;

    /// <summary>L-BFGS iteration cap. Default <see cref="Defaults.MaximumNumberOfIterations"/>.</summary>
    public int MaximumNumberOfIterations = Defaults.MaximumNumberOfIterations;

    /// <summary>L-BFGS tolerance. Default <see cref="Defaults.OptimizationTolerance"/>.</summary>
    public float OptimizationTolerance = Defaults.OptimizationTolerance;

    /// <summary>Seed of the validation split. Default <see cref="Defaults.Seed"/>.</summary>
    public int Seed = Defaults.Seed;

    /// <summary>Receives one line per fit of the sweep (null: silent).</summary>
    public Action<string>? Log;
}
