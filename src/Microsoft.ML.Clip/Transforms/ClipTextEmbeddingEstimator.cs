using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>Options of <see cref="ClipCatalog.ClipTextEmbedding(TransformsCatalog, ClipModel, ClipTextEmbeddingOptions)"/>.</summary>
public sealed class ClipTextEmbeddingOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>Output column name.</summary>
        public const string OutputColumnName = "Embedding";

        /// <summary>Embeddings are L2-normalised.</summary>
        public const bool Normalize = true;

        /// <summary>Long texts are cut to the context (the count is logged at <c>Fit</c>).</summary>
        public const ClipTruncation Truncation = ClipTruncation.Truncate;

        /// <summary>CUDA failures are errors.</summary>
        public const bool FallbackToCpu = false;
    }

    /// <summary>The output column: <c>Vector&lt;Single, D&gt;</c>. Default <see cref="Defaults.OutputColumnName"/>.</summary>
    public string OutputColumnName = Defaults.OutputColumnName;

    /// <summary>The input column: text (<c>String</c>) or token ids (<c>Vector&lt;Int64, L&gt;</c>). Null means the output column's name.</summary>
    public string? InputColumnName;

    /// <summary>L2-normalise the embeddings. Default <see cref="Defaults.Normalize"/>.</summary>
    public bool Normalize = Defaults.Normalize;

    /// <summary>What to do with texts longer than the context. Default <see cref="Defaults.Truncation"/>.</summary>
    public ClipTruncation Truncation = Defaults.Truncation;

    /// <summary>CUDA device for ONNX Runtime; null uses <c>MLContext.GpuDeviceId</c>.</summary>
    public int? GpuDeviceId;

    /// <summary>Run on the CPU when CUDA is not usable. Default <see cref="Defaults.FallbackToCpu"/>.</summary>
    public bool FallbackToCpu = Defaults.FallbackToCpu;
}

/// <summary>Embeds texts with a CLIP text encoder, one ONNX Runtime call per row.</summary>
public sealed class ClipTextEmbeddingEstimator : ClipEstimatorBase
{
    private readonly ClipTextEmbeddingOptions _options;

    internal ClipTextEmbeddingEstimator(TransformsCatalog catalog, ClipModelSource source, ClipTextEmbeddingOptions options)
        : base(catalog, source, "ClipTextEmbedding")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputColumnName);
        _options = options;
    }

    private protected override string InputColumnName => _options.InputColumnName ?? _options.OutputColumnName;

    private protected override ClipInputKind KindOf(SchemaShape inputSchema) => ClipInputs.Text(inputSchema, InputColumnName, ModelInfo.Tokenizer.ContextLength);

    private protected override ClipInputKind KindOf(DataViewSchema inputSchema) => ClipInputs.Text(inputSchema, InputColumnName, ModelInfo.Tokenizer.ContextLength);

    private protected override EstimatorChain<ITransformer> Build(ClipModel model, ClipInputKind kind)
    {
        var temporary = new List<string>();
        var gpu = ResolveGpu(_options.GpuDeviceId, _options.FallbackToCpu);
        var chain = ClipChains.TextEmbedding(ClipChains.Empty(), Catalog, model, kind, InputColumnName, _options.Normalize, _options.Truncation, gpu, temporary);
        return ClipChains.Finish(chain, Catalog, _options.OutputColumnName, temporary);
    }

    /// <summary>Counts (and logs) the texts of the fitting data that do not fit the context.</summary>
    private protected override void OnFit(IDataView input, ClipInputKind kind)
    {
        if (kind != ClipInputKind.Text || Log is null)
            return;
        var column = input.Schema[InputColumnName];
        using var cursor = input.GetRowCursor([column]);
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
        // The pipeline's own tokenizer: the spec it stores, whatever its kind.
        var encode = ClipTokenizerSpec.For(ModelInfo, Source.Folder, _options.Truncation).CreateEncoder();
        var ids = new long[ModelInfo.Tokenizer.ContextLength];
        ReadOnlyMemory<char> text = default;
        long rows = 0, truncated = 0;
        while (cursor.MoveNext())
        {
            getter(ref text);
            rows++;
            if (encode(text.ToString(), ids, ClipTruncation.Truncate))
                truncated++;
        }
        if (truncated > 0)
            Log($"{truncated} of {rows} texts in column '{InputColumnName}' are longer than {ids.Length} tokens: " +
                (_options.Truncation == ClipTruncation.Truncate ? "they are truncated." : "transforming them will throw."));
    }
}
