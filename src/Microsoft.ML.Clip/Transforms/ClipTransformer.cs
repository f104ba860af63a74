using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>
/// The fitted result of the CLIP estimators: a chain of ML.NET built-in transforms (ONNX Runtime scoring,
/// registered custom mappings, column copies) behind a check of the input columns.
/// </summary>
/// <remarks>
/// <c>mlContext.Model.Save</c> stores the inner chain, which ML.NET reloads without this package's types being
/// registered (the custom mappings are found by contract name in this assembly). A reloaded model is that
/// plain chain: same outputs, without this wrapper's friendlier input errors. Dispose it (or the
/// <c>TransformerChain</c> holding it) to release its ONNX Runtime sessions. ML.NET 5.0.1 also leaves a copy of each
/// generated ONNX graph in <c>MLContext.TempFilePath</c>, which even disposing does not delete.
/// </remarks>
public sealed class ClipTransformer : ITransformer, IDisposable
{
    private readonly Action<DataViewSchema> _checkInput;

    internal ClipTransformer(TransformerChain<ITransformer> inner, Action<DataViewSchema> checkInput)
    {
        Inner = inner;
        _checkInput = checkInput;
    }

    /// <summary>The chain of built-in transformers that does the work (and is what gets saved).</summary>
    public TransformerChain<ITransformer> Inner { get; }

    /// <inheritdoc/>
    public bool IsRowToRowMapper => ((ITransformer)Inner).IsRowToRowMapper;

    /// <inheritdoc/>
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _checkInput(inputSchema);
        return Inner.GetOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        _checkInput(inputSchema);
        return ((ITransformer)Inner).GetRowToRowMapper(inputSchema);
    }

    /// <inheritdoc/>
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        _checkInput(input.Schema);
        return Inner.Transform(input);
    }

    /// <summary>Saves the inner chain of built-in transformers.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) => ((ICanSaveModel)Inner).Save(ctx);

    /// <summary>Releases the inner chain's ONNX Runtime sessions (the transformer cannot score afterwards).</summary>
    public void Dispose() => Inner.Dispose();
}
