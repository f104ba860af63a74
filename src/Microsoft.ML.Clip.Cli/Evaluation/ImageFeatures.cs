using ClipCli.Commands;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Evaluation;

/// <summary>
/// Image features for the evaluation commands: CLIP embeddings and the ResNet-18 baseline. With <c>skipBadFiles</c>
/// (<c>--skip-bad-files</c>) a file that cannot be read is found in this one pass (each file is decoded once): its feature
/// is null and it is listed on stderr (<see cref="BadImageFiles"/>); <see cref="EvaluationCli.Readable"/> then drops its row.
/// </summary>
internal static class ImageFeatures
{
    /// <summary>
    /// L2-normalised CLIP image embeddings of <paramref name="paths"/>, one ONNX Runtime call per batch; with
    /// <paramref name="skipBadFiles"/> a file that cannot be read gets null and is listed on stderr, else the first one fails
    /// the call, naming it.
    /// </summary>
    public static float[]?[] Clip(ClipModel model, IReadOnlyList<string> paths, Action<string> log, bool skipBadFiles)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var (result, _) = BadImageFiles.Embed(model, paths, skipBadFiles);
        var embedded = 0;
        foreach (var embedding in result)
        {
            if (embedding is null) continue;
            ClipModel.Normalize(embedding);
            embedded++;
        }
        log($"CLIP: embedded {embedded} images in {watch.Elapsed.TotalSeconds:F1} s ({embedded / Math.Max(watch.Elapsed.TotalSeconds, 1e-9):F1} images/s).");
        return result;
    }

    /// <summary>
    /// ResNet-18 features (the 512 pooled ImageNet features of Microsoft.ML.DnnImageFeaturizer.ResNet18) of
    /// <paramref name="paths"/>, through <paramref name="encoder"/> (<see cref="FrozenImageEncoder.ResNet18"/>, loaded once
    /// by the caller): the same preprocessing as CLIP's (bicubic resize of the shorter side to 224, centre crop). With
    /// <paramref name="skipBadFiles"/> a file that cannot be read gets null and is listed on stderr.
    /// </summary>
    public static float[]?[] ResNet18(FrozenImageEncoder encoder, IReadOnlyList<string> paths, Action<string> log, bool skipBadFiles = false)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // FeaturizeFiles' batches, with the file read under our control: a bad file is kept as null when skipping (found in
        // this one pass), else its error goes up naming it, as FeaturizeFiles' would.
        var preprocessor = new ClipImagePreprocessor(encoder.Preprocess);
        var errors = new string?[paths.Count];
        var features = new float[paths.Count * encoder.FeatureSize];
        encoder.Featurize(Enumerable.Range(0, paths.Count).ToArray(), (i, destination) =>
        {
            try
            {
                preprocessor.PreprocessFile(paths[i], destination);
            }
            catch (Exception e) when (skipBadFiles && ClipModel.IsBadInput(e))
            {
                errors[i] = e.Message;
                destination.Clear();
            }
        }, features);
        var result = new float[]?[paths.Count];
        for (var i = 0; i < paths.Count; i++)
        {
            if (errors[i] is { } reason)
                BadImageFiles.Report(paths[i], reason);
            else
                result[i] = features.AsSpan(i * encoder.FeatureSize, encoder.FeatureSize).ToArray();
        }
        var run = watch.Elapsed.TotalSeconds;
        var featurised = result.Count(f => f is not null);
        log($"ResNet-18: featurised {featurised} images in {run:F1} s ({featurised / Math.Max(run, 1e-9):F1} images/s).");
        return result;
    }

    /// <summary>ResNet-18 features of a train and a test list (null for a file left out by <paramref name="skipBadFiles"/>).</summary>
    public static (float[]?[] Train, float[]?[] Test) ResNet18(FrozenImageEncoder encoder, IReadOnlyList<string> train, IReadOnlyList<string> test, Action<string> log, bool skipBadFiles = false)
    {
        var all = ResNet18(encoder, [.. train, .. test], log, skipBadFiles);
        return (all[..train.Count], all[train.Count..]);
    }
}
