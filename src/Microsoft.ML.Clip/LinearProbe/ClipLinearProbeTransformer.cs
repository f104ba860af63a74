using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// A fitted linear probe: ML.NET's multinomial logistic regression (<c>Score</c>, <c>PredictedLabel</c>, usable by
/// <c>MulticlassClassification.Evaluate</c>) plus the record of how λ was chosen.
/// </summary>
/// <remarks>
/// Saving with <c>mlContext.Model.Save</c> writes the inner ML.NET model only: it loads back as a
/// <c>MulticlassPredictionTransformer&lt;MaximumEntropyModelParameters&gt;</c> with the same scores (the sweep table
/// is a report, not part of the model).
/// </remarks>
public sealed class ClipLinearProbeTransformer : ITransformer
{
    internal ClipLinearProbeTransformer(MulticlassPredictionTransformer<MaximumEntropyModelParameters> model, float l2,
        IReadOnlyList<L2SweepPoint> sweep, IReadOnlyList<string> classNames, int trainingRowCount)
    {
        Model = model;
        L2Regularization = l2;
        Sweep = sweep;
        ClassNames = classNames;
        TrainingRowCount = trainingRowCount;
    }

    /// <summary>The fitted ML.NET prediction transformer.</summary>
    public MulticlassPredictionTransformer<MaximumEntropyModelParameters> Model { get; }

    /// <summary>The λ the final model was fitted with (the sweep's best, or the fixed value).</summary>
    public float L2Regularization { get; }

    /// <summary>λ → validation accuracy, in grid order; empty when λ was fixed.</summary>
    public IReadOnlyList<L2SweepPoint> Sweep { get; }

    /// <summary>Class names in score-slot order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Rows the final model was fitted on.</summary>
    public int TrainingRowCount { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => ((ITransformer)Model).IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Model.GetOutputSchema(inputSchema);

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)Model).GetRowToRowMapper(inputSchema);

    /// <inheritdoc/>
    public IDataView Transform(IDataView input) => Model.Transform(input);

    /// <summary>Saves the inner ML.NET model (see remarks).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Model).Save(ctx);
}
