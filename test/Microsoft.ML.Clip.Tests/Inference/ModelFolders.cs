using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>Model folders built from the fixture's reference ONNX exports, plus the reference arrays.</summary>
internal static class ModelFolders
{
    /// <summary>The fixture's logit scale (ln), from <c>cases/cases.json</c>.</summary>
    public const float LogitScale = 2.99609375f;

    private static readonly Dictionary<string, string> Folders = [];

    /// <summary>A temp folder holding <c>image.onnx</c>, <c>text.onnx</c> and <c>clip_model.json</c> for <paramref name="kind"/> (vit or rn).</summary>
    public static string For(string kind)
    {
        lock (Folders)
        {
            if (!Folders.TryGetValue(kind, out var dir))
            {
                dir = Create(kind, swap: false);
                Folders[kind] = dir;
            }
            return dir;
        }
    }

    /// <summary>A fresh folder; <paramref name="swap"/> puts the text encoder where the image encoder belongs and back.</summary>
    public static string Create(string kind, bool swap)
    {
        var dir = Fixtures.NewTempDir($"clip-model-{kind}");
        File.Copy(Fixtures.Reference("models", $"{kind}.image.onnx"), Path.Combine(dir, swap ? "text.onnx" : "image.onnx"));
        File.Copy(Fixtures.Reference("models", $"{kind}.text.onnx"), Path.Combine(dir, swap ? "image.onnx" : "text.onnx"));
        new ClipModelInfo
        {
            EmbedDim = 64,
            ImageResolution = 64,
            LogitScale = LogitScale,
            VisionKind = kind == "rn" ? "resnet" : "vit",
            Source = $"test fixture {kind}",
        }.Save(Path.Combine(dir, ClipModelInfo.FileName));
        return dir;
    }

    /// <summary>Loads the model of <paramref name="kind"/>.</summary>
    public static ClipModel Load(string kind, int batchSize = 32) => ClipModel.Load(For(kind), new ClipModelOptions { BatchSize = batchSize, IntraOpNumThreads = 1 });

    /// <summary>A reference array under <c>cases/</c>.</summary>
    public static NpyArray<float> Case(string name) => Npy.ReadFloat32(Fixtures.Reference("cases", name));

    /// <summary>Row <paramref name="i"/> of a 2-D array.</summary>
    public static float[] Row(NpyArray<float> a, int i) => a.Data.AsSpan(i * a.Shape[1], a.Shape[1]).ToArray();

    /// <summary>The zero-shot class names of the fixture.</summary>
    public static readonly string[] ZeroShotClasses = ["airplane", "automobile", "bird", "cat", "deer"];

    /// <summary>The zero-shot templates of the fixture.</summary>
    public static readonly string[] ZeroShotTemplates = ["a photo of a {}.", "a blurry photo of a {}.", "a black and white photo of a {}."];

    /// <summary>Largest absolute difference.</summary>
    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Lengths differ: {a.Length} vs {b.Length}.");
        float m = 0;
        for (int i = 0; i < a.Length; i++)
            m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }
}
