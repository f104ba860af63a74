using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Onnx;
using static Onnx.TensorProto.Types;

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

    /// <summary>
    /// A fresh folder whose image encoder takes <paramref name="resolution"/> px (any multiple of 4): a seeded random linear map of
    /// the 4×4-average-pooled pixels to 64 values, so every crop and resize decision shows in the embedding; the text encoder
    /// is the fixture's (64-d, context 77).
    /// </summary>
    public static string AtResolution(int resolution, ClipResizeMode resizeMode = ClipResizeMode.ShortestSideCenterCrop)
    {
        var dir = Fixtures.NewTempDir($"clip-model-{resolution}px");
        File.WriteAllBytes(Path.Combine(dir, "image.onnx"), LinearImageEncoder(resolution, 64, seed: resolution));
        File.Copy(Fixtures.Reference("models", "vit.text.onnx"), Path.Combine(dir, "text.onnx"));
        new ClipModelInfo
        {
            EmbedDim = 64,
            ImageResolution = resolution,
            LogitScale = LogitScale,
            VisionKind = "vit",
            Preprocess = new ClipPreprocessInfo { ResizeMode = resizeMode == ClipResizeMode.Squash ? ClipPreprocessInfo.Squash : ClipPreprocessInfo.ShortestSideCenterCrop },
            Source = $"test: random linear image encoder at {resolution} px",
        }.Save(Path.Combine(dir, ClipModelInfo.FileName));
        return dir;
    }

    private static byte[] LinearImageEncoder(int resolution, int embedDim, int seed)
    {
        int side = resolution / 4, inputs = 3 * side * side;
        var random = new Random(seed);
        var weights = new float[inputs * embedDim];
        for (int i = 0; i < weights.Length; i++)
            weights[i] = (float)((random.NextDouble() * 2 - 1) / Math.Sqrt(inputs));
        var g = new GraphProto { Name = "linear_image_encoder" };
        g.Input.Add(OnnxGraphBuilder.Value("pixel_values", DataType.Float, "batch", 3, resolution, resolution));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("weights", [inputs, embedDim], weights));
        g.Node.Add(OnnxGraphBuilder.CreateNode("AveragePool", "pooled", ["pixel_values"], OnnxGraphBuilder.Ints("kernel_shape", 4, 4), OnnxGraphBuilder.Ints("strides", 4, 4)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Flatten", "flat", ["pooled"], OnnxGraphBuilder.Int("axis", 1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("MatMul", "image_embeds", ["flat", "weights"]));
        g.Output.Add(OnnxGraphBuilder.Value("image_embeds", DataType.Float, "batch", embedDim));
        return OnnxGraphBuilder.CreateModel(g).ToByteArray();
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
