using Microsoft.ML;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Data;

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

    /// <summary>ResNet-18 features of <paramref name="paths"/> through ML.NET (<see cref="ResNet18FeaturesCatalog"/>).</summary>
    public static float[][] ResNet18(MLContext ml, IReadOnlyList<string> paths, string? modelDirectory, Action<string> log)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var data = ml.Data.LoadFromEnumerable(paths.Select(p => new PathRow { ImagePath = p }));
        var pipeline = ml.Transforms.ResNet18ImageFeatures("Features", nameof(PathRow.ImagePath), modelDirectory: modelDirectory);
        var transformer = pipeline.Fit(data);
        var loaded = watch.Elapsed.TotalSeconds;
        var features = transformer.Transform(data);
        var result = new List<float[]>(paths.Count);
        using (var cursor = features.GetRowCursor([features.Schema["Features"]]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(features.Schema["Features"]);
            VBuffer<float> buffer = default;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                result.Add(buffer.DenseValues().ToArray());
            }
        }
        var run = watch.Elapsed.TotalSeconds - loaded;
        log($"ResNet-18: featurised {paths.Count} images in {run:F1} s ({paths.Count / Math.Max(run, 1e-9):F1} images/s) after {loaded:F1} s loading the networks.");
        return [.. result];
    }

    /// <summary>ResNet-18 features of a train and a test list in one pipeline (the 64 MB network is loaded once).</summary>
    public static (float[][] Train, float[][] Test) ResNet18(MLContext ml, IReadOnlyList<string> train, IReadOnlyList<string> test, string? modelDirectory, Action<string> log)
    {
        var all = ResNet18(ml, [.. train, .. test], modelDirectory, log);
        return (all[..train.Count], all[train.Count..]);
    }

    private sealed class PathRow
    {
        public string ImagePath = "";
    }
}
