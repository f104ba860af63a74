using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Evaluation;

/// <summary>Image features for the evaluation commands: CLIP embeddings and the ResNet-18 baseline.</summary>
internal static class ImageFeatures
{
    /// <summary>L2-normalised CLIP image embeddings of <paramref name="paths"/>, one ONNX Runtime call per batch.</summary>
    public static float[][] Clip(ClipModel model, IReadOnlyList<string> paths, Action<string> log)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = model.EmbedImageFiles(paths);
        foreach (var embedding in result)
            ClipModel.Normalize(embedding);
        log($"CLIP: embedded {paths.Count} images in {watch.Elapsed.TotalSeconds:F1} s ({paths.Count / Math.Max(watch.Elapsed.TotalSeconds, 1e-9):F1} images/s).");
        return result;
    }

    /// <summary>
    /// ResNet-18 features (the 512 pooled ImageNet features of Microsoft.ML.DnnImageFeaturizer.ResNet18) of
    /// <paramref name="paths"/>, through <paramref name="encoder"/> (<see cref="FrozenImageEncoder.ResNet18"/>, loaded once
    /// by the caller): the same preprocessing as CLIP's (bicubic resize of the shorter side to 224, centre crop).
    /// </summary>
    public static float[][] ResNet18(FrozenImageEncoder encoder, IReadOnlyList<string> paths, Action<string> log)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = encoder.FeaturizeFiles(paths);
        var run = watch.Elapsed.TotalSeconds;
        log($"ResNet-18: featurised {paths.Count} images in {run:F1} s ({paths.Count / Math.Max(run, 1e-9):F1} images/s).");
        return result;
    }

    /// <summary>ResNet-18 features of a train and a test list.</summary>
    public static (float[][] Train, float[][] Test) ResNet18(FrozenImageEncoder encoder, IReadOnlyList<string> train, IReadOnlyList<string> test, Action<string> log)
    {
        var all = ResNet18(encoder, [.. train, .. test], log);
        return (all[..train.Count], all[train.Count..]);
    }
}
