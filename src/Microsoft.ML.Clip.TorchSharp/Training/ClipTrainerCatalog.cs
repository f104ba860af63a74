using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Catalog extension for contrastive CLIP training.</summary>
public static class ClipTrainerCatalog
{
    /// <summary>
    /// Trains a CLIP model on (image, text) pairs: <paramref name="imageColumnName"/> holds images (<c>MLImage</c>,
    /// encoded bytes or paths), <paramref name="textColumnName"/> their captions. The fitted transformer adds image
    /// and text embedding columns.
    /// </summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="imageColumnName">The image column.</param>
    /// <param name="textColumnName">The caption column.</param>
    /// <param name="options">Model, loss, optimiser, schedule and checkpoint options; null for the defaults.</param>
    public static ClipTrainerEstimator ClipTrainer(this TransformsCatalog catalog, string imageColumnName, string textColumnName,
        ClipTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ClipTrainerEstimator(FindContext(catalog), imageColumnName, textColumnName, options);
    }

    // The catalog's environment (the MLContext's own) is internal to ML.NET: found the one way the inference package
    // finds it (a test guards it), so that training logs reach mlContext.Log; if ML.NET renames it, logs go to a fresh context.
    private static IHostEnvironment FindContext(TransformsCatalog catalog) => ClipEnvironment.Of(catalog) ?? new MLContext();
}
