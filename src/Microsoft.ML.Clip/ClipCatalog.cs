using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Clip.ZeroShot;

// In ML.NET's namespace, as its own catalogs (OnnxCatalog, ImageEstimatorsCatalog): `using Microsoft.ML;` finds these.
namespace Microsoft.ML;

/// <summary>ML.NET catalog extension methods for CLIP: image and text embeddings, zero-shot classification.</summary>
public static class ClipCatalog
{
    /// <summary>Embeds images with the CLIP image encoder of <paramref name="model"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column, <c>Vector&lt;Single, D&gt;</c>.</param>
    /// <param name="model">A loaded model (its ONNX bytes are copied into the pipeline; it can be disposed after <c>Fit</c>).</param>
    /// <param name="inputColumnName">Image path, encoded bytes, ML.NET <c>Image</c> (<c>MLImage</c>, e.g. from <c>LoadImages</c>) or preprocessed pixels; null: <paramref name="outputColumnName"/>.</param>
    /// <param name="normalize">L2-normalise (default) or keep the raw encoder output.</param>
    /// <param name="gpuDeviceId">CUDA device; null uses <c>MLContext.GpuDeviceId</c>.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    public static ClipImageEmbeddingEstimator ClipImageEmbedding(this TransformsCatalog catalog, string outputColumnName, ClipModel model,
        string? inputColumnName = null, bool normalize = ClipImageEmbeddingOptions.Defaults.Normalize, int? gpuDeviceId = null, bool fallbackToCpu = false)
        => new(catalog, new ClipModelSource(model), new ClipImageEmbeddingOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Normalize = normalize,
            GpuDeviceId = gpuDeviceId, FallbackToCpu = fallbackToCpu,
        });

    /// <summary>Embeds images with the CLIP model in <paramref name="modelFolder"/> (loaded when the pipeline is built).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column, <c>Vector&lt;Single, D&gt;</c>.</param>
    /// <param name="modelFolder">Folder with <c>clip_model.json</c> and the two encoders.</param>
    /// <param name="inputColumnName">Image path, encoded bytes, ML.NET <c>Image</c> (<c>MLImage</c>, e.g. from <c>LoadImages</c>) or preprocessed pixels; null: <paramref name="outputColumnName"/>.</param>
    /// <param name="normalize">L2-normalise (default) or keep the raw encoder output.</param>
    /// <param name="gpuDeviceId">CUDA device; null uses <c>MLContext.GpuDeviceId</c>.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    public static ClipImageEmbeddingEstimator ClipImageEmbedding(this TransformsCatalog catalog, string outputColumnName, string modelFolder,
        string? inputColumnName = null, bool normalize = ClipImageEmbeddingOptions.Defaults.Normalize, int? gpuDeviceId = null, bool fallbackToCpu = false)
        => new(catalog, new ClipModelSource(modelFolder, null), new ClipImageEmbeddingOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Normalize = normalize,
            GpuDeviceId = gpuDeviceId, FallbackToCpu = fallbackToCpu,
        });

    /// <summary>Embeds images with the CLIP image encoder of <paramref name="model"/>, with all options.</summary>
    public static ClipImageEmbeddingEstimator ClipImageEmbedding(this TransformsCatalog catalog, ClipModel model, ClipImageEmbeddingOptions options)
        => new(catalog, new ClipModelSource(model), options);

    /// <summary>Embeds images with the CLIP model in <paramref name="modelFolder"/>, with all options.</summary>
    public static ClipImageEmbeddingEstimator ClipImageEmbedding(this TransformsCatalog catalog, string modelFolder, ClipImageEmbeddingOptions options)
        => new(catalog, new ClipModelSource(modelFolder, null), options);

    /// <summary>Embeds texts with the CLIP text encoder of <paramref name="model"/>; long texts are truncated (the count is logged).</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column, <c>Vector&lt;Single, D&gt;</c>.</param>
    /// <param name="model">A loaded model.</param>
    /// <param name="inputColumnName">Text or token ids; null: <paramref name="outputColumnName"/>.</param>
    /// <param name="normalize">L2-normalise (default) or keep the raw encoder output.</param>
    /// <param name="gpuDeviceId">CUDA device; null uses <c>MLContext.GpuDeviceId</c>.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    public static ClipTextEmbeddingEstimator ClipTextEmbedding(this TransformsCatalog catalog, string outputColumnName, ClipModel model,
        string? inputColumnName = null, bool normalize = ClipTextEmbeddingOptions.Defaults.Normalize, int? gpuDeviceId = null, bool fallbackToCpu = false)
        => new(catalog, new ClipModelSource(model), new ClipTextEmbeddingOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Normalize = normalize,
            GpuDeviceId = gpuDeviceId, FallbackToCpu = fallbackToCpu,
        });

    /// <summary>Embeds texts with the CLIP model in <paramref name="modelFolder"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="outputColumnName">Output column, <c>Vector&lt;Single, D&gt;</c>.</param>
    /// <param name="modelFolder">Folder with <c>clip_model.json</c> and the two encoders.</param>
    /// <param name="inputColumnName">Text or token ids; null: <paramref name="outputColumnName"/>.</param>
    /// <param name="normalize">L2-normalise (default) or keep the raw encoder output.</param>
    /// <param name="gpuDeviceId">CUDA device; null uses <c>MLContext.GpuDeviceId</c>.</param>
    /// <param name="fallbackToCpu">Run on the CPU when CUDA is not usable.</param>
    public static ClipTextEmbeddingEstimator ClipTextEmbedding(this TransformsCatalog catalog, string outputColumnName, string modelFolder,
        string? inputColumnName = null, bool normalize = ClipTextEmbeddingOptions.Defaults.Normalize, int? gpuDeviceId = null, bool fallbackToCpu = false)
        => new(catalog, new ClipModelSource(modelFolder, null), new ClipTextEmbeddingOptions
        {
            OutputColumnName = outputColumnName, InputColumnName = inputColumnName, Normalize = normalize,
            GpuDeviceId = gpuDeviceId, FallbackToCpu = fallbackToCpu,
        });

    /// <summary>Embeds texts with the CLIP text encoder of <paramref name="model"/>, with all options.</summary>
    public static ClipTextEmbeddingEstimator ClipTextEmbedding(this TransformsCatalog catalog, ClipModel model, ClipTextEmbeddingOptions options)
        => new(catalog, new ClipModelSource(model), options);

    /// <summary>Embeds texts with the CLIP model in <paramref name="modelFolder"/>, with all options.</summary>
    public static ClipTextEmbeddingEstimator ClipTextEmbedding(this TransformsCatalog catalog, string modelFolder, ClipTextEmbeddingOptions options)
        => new(catalog, new ClipModelSource(modelFolder, null), options);

    /// <summary>
    /// Zero-shot classification of images into <paramref name="classNames"/> with the 80 ImageNet prompt templates
    /// (or <paramref name="templates"/>), logits = 100 · cosine: outputs <c>Score</c> and <c>PredictedLabel</c>.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="model">A loaded model.</param>
    /// <param name="classNames">Class names, in score-slot order.</param>
    /// <param name="inputColumnName">Image path, encoded bytes, ML.NET <c>Image</c> (<c>MLImage</c>, e.g. from <c>LoadImages</c>) or preprocessed pixels.</param>
    /// <param name="templates">Prompt templates with <c>{}</c>; null: <see cref="ClipPromptTemplates.ImageNet80"/>.</param>
    public static ClipZeroShotEstimator ClipZeroShot(this TransformsCatalog catalog, ClipModel model, IReadOnlyList<string> classNames,
        string inputColumnName = ClipZeroShotOptions.Defaults.InputColumnName, IReadOnlyList<string>? templates = null)
        => new(catalog, new ClipModelSource(model), new ClipZeroShotOptions { ClassNames = classNames, InputColumnName = inputColumnName, Templates = templates });

    /// <summary>Zero-shot classification with the CLIP model in <paramref name="modelFolder"/>.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="modelFolder">Folder with <c>clip_model.json</c> and the two encoders.</param>
    /// <param name="classNames">Class names, in score-slot order.</param>
    /// <param name="inputColumnName">Image path, encoded bytes, ML.NET <c>Image</c> (<c>MLImage</c>, e.g. from <c>LoadImages</c>) or preprocessed pixels.</param>
    /// <param name="templates">Prompt templates with <c>{}</c>; null: the 80 ImageNet templates.</param>
    public static ClipZeroShotEstimator ClipZeroShot(this TransformsCatalog catalog, string modelFolder, IReadOnlyList<string> classNames,
        string inputColumnName = ClipZeroShotOptions.Defaults.InputColumnName, IReadOnlyList<string>? templates = null)
        => new(catalog, new ClipModelSource(modelFolder, null), new ClipZeroShotOptions { ClassNames = classNames, InputColumnName = inputColumnName, Templates = templates });

    /// <summary>Zero-shot classification with all options.</summary>
    public static ClipZeroShotEstimator ClipZeroShot(this TransformsCatalog catalog, ClipModel model, ClipZeroShotOptions options)
        => new(catalog, new ClipModelSource(model), options);

    /// <summary>Zero-shot classification with the model in <paramref name="modelFolder"/> and all options.</summary>
    public static ClipZeroShotEstimator ClipZeroShot(this TransformsCatalog catalog, string modelFolder, ClipZeroShotOptions options)
        => new(catalog, new ClipModelSource(modelFolder, null), options);

    /// <summary>
    /// Maps a class-name column to a key with the zero-shot class order (key k = class k−1), the <c>Label</c>
    /// <c>MulticlassClassification.Evaluate</c> compares with <c>Score</c>; unknown names become missing keys.
    /// </summary>
    /// <param name="catalog">The conversion catalog.</param>
    /// <param name="outputColumnName">The key column, e.g. <c>Label</c>.</param>
    /// <param name="classNames">The class names, in the zero-shot estimator's order.</param>
    /// <param name="inputColumnName">The text column of class names; null: <paramref name="outputColumnName"/>.</param>
    public static IEstimator<ITransformer> MapClassNamesToKey(this TransformsCatalog.ConversionTransforms catalog, string outputColumnName,
        IReadOnlyList<string> classNames, string? inputColumnName = null)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        // keyData must be an IDataView; a private context is enough to hold the list of names.
        var keyData = new MLContext().Data.LoadFromEnumerable(classNames.Select(n => new ClassNameRow { Name = n }));
        return catalog.MapValueToKey(outputColumnName, inputColumnName ?? outputColumnName, keyData: keyData);
    }

    private sealed class ClassNameRow
    {
        public string Name = "";
    }
}
