using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>A preprocessed fixture image with a label.</summary>
public sealed class PixelRow
{
    [VectorType(3 * 64 * 64)] public float[] Image = [];
    public string Label = "";
    public int Id;
}

/// <summary>A caption.</summary>
public sealed class TextRow
{
    public string Text = "";
    public int Id;
}

/// <summary>Zero-shot output read back.</summary>
public sealed class ZeroShotPrediction
{
    public float[] Score = [];
    public uint PredictedLabel;
}

/// <summary>Embedding output read back.</summary>
public sealed class EmbeddingPrediction
{
    public float[] Embedding = [];
}

internal static class PipelineData
{
    /// <summary>The 4 fixture images with the given labels.</summary>
    public static PixelRow[] Images(params string[] labels)
    {
        var images = ModelFolders.Case("images.npy");
        int n = 3 * 64 * 64;
        return Enumerable.Range(0, 4).Select(i => new PixelRow
        {
            Image = images.Data.AsSpan(i * n, n).ToArray(),
            Label = labels.Length > i ? labels[i] : "",
            Id = i,
        }).ToArray();
    }

    /// <summary>The fixture captions.</summary>
    public static string[] Captions()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("cases", "cases.json")));
        return doc.RootElement.GetProperty("captions").EnumerateArray().Select(e => e.GetString()!).ToArray();
    }

    /// <summary>Row-wise L2 normalisation of a [n, d] array.</summary>
    public static float[] NormalizeRows(float[] data, int d)
    {
        var result = (float[])data.Clone();
        for (int r = 0; r < data.Length / d; r++)
            Models.ClipModel.Normalize(result.AsSpan(r * d, d));
        return result;
    }
}
