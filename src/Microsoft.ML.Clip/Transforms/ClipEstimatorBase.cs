using Microsoft.ML.Data;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>The catalog and device id to create <c>ApplyOnnxModel</c> estimators with.</summary>
internal sealed record OnnxPlacement(TransformsCatalog Catalog, int? GpuDeviceId)
{
    /// <summary>An ONNX scoring estimator over <paramref name="model"/>.</summary>
    public IEstimator<ITransformer> Apply(string output, string input, byte[] model)
        => Catalog.ApplyOnnxModel([output], [input], new MemoryStream(model), GpuDeviceId, fallbackToCpu: false);
}

/// <summary>
/// Common part of the CLIP estimators: checks the input column (ML.NET's messages, in
/// <see cref="GetOutputSchema"/>, <see cref="Fit"/> and the fitted transformer's <c>Transform</c>),
/// builds the chain of built-in estimators for the column's kind once, and fits it.
/// </summary>
/// <remarks>
/// Public because the three estimators a user receives derive from it (C# needs the base as visible); its constructor
/// and members for them are <c>private protected</c>, so it cannot be derived from outside this package.
/// </remarks>
public abstract class ClipEstimatorBase : IEstimator<ClipTransformer>
{
    private readonly Dictionary<ClipInputKind, EstimatorChain<ITransformer>> _chains = [];
    private readonly Lazy<ClipModelInfo> _info;

    private protected ClipEstimatorBase(TransformsCatalog catalog, ClipModelSource source, string component)
    {
        Catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        Source = source;
        Environment = ClipEnvironment.Of(catalog);
        Log = ClipEnvironment.Logger(Environment, component);
        _info = new Lazy<ClipModelInfo>(Source.Info);
    }

    private protected TransformsCatalog Catalog { get; }
    private protected ClipModelSource Source { get; }
    private protected IHostEnvironment? Environment { get; }
    private protected Action<string>? Log { get; }

    /// <summary>The model description (embedding size, resolution, context length).</summary>
    public ClipModelInfo ModelInfo => _info.Value;

    /// <summary>The input column's kind in a schema shape; throws ML.NET's schema errors.</summary>
    private protected abstract ClipInputKind KindOf(SchemaShape inputSchema);

    /// <summary>The input column's kind in a schema; throws ML.NET's schema errors.</summary>
    private protected abstract ClipInputKind KindOf(DataViewSchema inputSchema);

    /// <summary>The chain of built-in estimators for an input of kind <paramref name="kind"/>.</summary>
    private protected abstract EstimatorChain<ITransformer> Build(ClipModel model, ClipInputKind kind);

    /// <summary>Extra work at <see cref="Fit"/> (logging, checks needing data).</summary>
    private protected virtual void OnFit(IDataView input, ClipInputKind kind) { }

    /// <summary>Extra checks of the input schema shape (e.g. name clashes).</summary>
    private protected virtual void CheckNames(IEnumerable<string> inputColumns) { }

    /// <summary>
    /// Where ML.NET's ONNX scoring runs: the option's GPU, else the context's, resolved against what works. ML.NET
    /// replaces a null device id by the context's, so a CPU fallback under a GPU context scores through a catalog of
    /// a CPU context (the transformers are the same built-ins and save the same way).
    /// </summary>
    private protected OnnxPlacement ResolveGpu(int? gpuDeviceId, bool fallbackToCpu)
    {
        var context = ClipEnvironment.GpuSettings(Environment);
        var device = OrtSessions.ResolveGpuForMLNet(gpuDeviceId ?? context.GpuDeviceId, fallbackToCpu || context.FallbackToCpu, Log);
        var catalog = device is null && context.GpuDeviceId is not null ? new MLContext().Transforms : Catalog;
        return new OnnxPlacement(catalog, device);
    }

    private EstimatorChain<ITransformer> Chain(ClipInputKind kind)
    {
        lock (_chains)
        {
            if (!_chains.TryGetValue(kind, out var chain))
            {
                chain = Source.Use(model => Build(model, kind));
                _chains[kind] = chain;
            }
            return chain;
        }
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var kind = KindOf(inputSchema);
        CheckNames(inputSchema.Select(c => c.Name));
        return Chain(kind).GetOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public ClipTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var kind = KindOf(input.Schema);
        CheckNames(input.Schema.Select(c => c.Name));
        OnFit(input, kind);
        var fitted = Chain(kind).Fit(input);
        return new ClipTransformer(fitted, schema =>
        {
            var actual = KindOf(schema);
            if (actual != kind)
                throw ClipInputs.Mismatch(InputColumnName, $"the column type the transformer was fitted on ({kind})", actual.ToString());
        });
    }

    /// <summary>The input column's name.</summary>
    private protected abstract string InputColumnName { get; }
}
