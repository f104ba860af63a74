using Microsoft.ML.Data;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>Options of <see cref="ClipCatalog.ClipImageEmbedding(TransformsCatalog, ClipModel, ClipImageEmbeddingOptions)"/>.</summary>
public sealed class ClipImageEmbeddingOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>Output column name.</summary>
        public const string OutputColumnName = "Embedding";

        /// <summary>Embeddings are L2-normalised.</summary>
        public const bool Normalize = true;

        /// <summary>Unreadable images fail the pipeline.</summary>
        public const bool SkipBadRows = false;

        /// <summary>CUDA failures are errors.</summary>
        public const bool FallbackToCpu = false;
    }

    /// <summary>The output column: <c>Vector&lt;Single, D&gt;</c>. Default <see cref="Defaults.OutputColumnName"/>.</summary>
    public string OutputColumnName = Defaults.OutputColumnName;

    /// <summary>
    /// The input column: an image path (<c>String</c>), encoded image bytes (<c>Vector&lt;Byte&gt;</c>, a <c>byte[]</c>
    /// field), an ML.NET image (<c>Image</c>, an <see cref="MLImage"/>, of any size: from <c>LoadImages</c>,
    /// <c>ResizeImages</c> or a <see cref="Mappings.AnySizeImageTypeAttribute"/> field), or preprocessed pixels
    /// (<c>Vector&lt;Single, 3·R·R&gt;</c>). Decoded images get the model's exact preprocessing, and the pipeline
    /// saves and reloads with <c>mlContext.Model.Save</c> for every kind.
    /// Null means the output column's name.
    /// </summary>
    public string? InputColumnName;

    /// <summary>L2-normalise the embeddings (false: the encoder's raw output). Default <see cref="Defaults.Normalize"/>.</summary>
    public bool Normalize = Defaults.Normalize;

    /// <summary>
    /// A row whose image cannot be read (missing or empty file, corrupt bytes) gets a NaN embedding instead of
    /// failing the pipeline. Default <see cref="Defaults.SkipBadRows"/>.
    /// </summary>
    public bool SkipBadRows = Defaults.SkipBadRows;

    /// <summary>CUDA device for ONNX Runtime; null uses <c>MLContext.GpuDeviceId</c>.</summary>
    public int? GpuDeviceId;

    /// <summary>Run on the CPU when CUDA is not usable (also with the CPU-only ONNX Runtime package). Default <see cref="Defaults.FallbackToCpu"/>.</summary>
    public bool FallbackToCpu = Defaults.FallbackToCpu;
}

/// <summary>
/// Embeds images with a CLIP image encoder: one ONNX Runtime call per row (the path <c>PredictionEngine</c> and
/// saved models use). For bulk work use <see cref="ClipModel.EmbedImages(IDataView, string, string, bool, int?, bool)"/>.
/// </summary>
public sealed class ClipImageEmbeddingEstimator : ClipEstimatorBase
{
    private readonly ClipImageEmbeddingOptions _options;

    internal ClipImageEmbeddingEstimator(TransformsCatalog catalog, ClipModelSource source, ClipImageEmbeddingOptions options)
        : base(catalog, source, "ClipImageEmbedding")
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(options.OutputColumnName);
        _options = options;
    }

    private protected override string InputColumnName => _options.InputColumnName ?? _options.OutputColumnName;

    private int PixelCount => 3 * ModelInfo.ImageResolution * ModelInfo.ImageResolution;

    private protected override ClipInputKind KindOf(SchemaShape inputSchema) => ClipInputs.Image(inputSchema, InputColumnName, PixelCount);

    private protected override ClipInputKind KindOf(DataViewSchema inputSchema) => ClipInputs.Image(inputSchema, InputColumnName, PixelCount);

    private protected override EstimatorChain<ITransformer> Build(ClipModel model, ClipInputKind kind)
    {
        var temporary = new List<string>();
        var gpu = ResolveGpu(_options.GpuDeviceId, _options.FallbackToCpu);
        var chain = ClipChains.ImageEmbedding(ClipChains.Empty(), Catalog, model, kind, InputColumnName, _options.Normalize, _options.SkipBadRows, gpu, temporary);
        return ClipChains.Finish(chain, Catalog, _options.OutputColumnName, temporary);
    }
}
