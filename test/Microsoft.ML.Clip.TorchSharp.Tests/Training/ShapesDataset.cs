using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Training;
using Microsoft.ML.Clip.Tokenization;
using SkiaSharp;

namespace Microsoft.ML.Clip.TorchSharp.Tests.Training;

/// <summary>
/// A generated caption data set: coloured shapes ("a red circle", "a blue square", ...) drawn with SkiaSharp at random
/// size and position on a grey background, PNG-encoded; plus a word-level test tokenizer and a small CLIP config.
/// </summary>
internal static class ShapesDataset
{
    public static readonly string[] Colors = ["red", "green", "blue", "yellow"];
    public static readonly string[] Shapes = ["circle", "square", "triangle"];
    private static readonly SKColor[] Paints = [new(220, 30, 30), new(30, 180, 40), new(40, 60, 230), new(235, 220, 30)];

    /// <summary>All captions, class k = colour k / 3, shape k % 3.</summary>
    public static string[] Captions { get; } = Colors.SelectMany(c => Shapes.Select(s => $"a {c} {s}")).ToArray();

    /// <summary>A small ViT CLIP for tests: 32 px, patch 8, width 64, two blocks per tower, context 8.</summary>
    public static ClipConfig SmallConfig { get; } = new()
    {
        EmbedDim = 32,
        ImageResolution = 32,
        VisionLayers = [2],
        VisionWidth = 64,
        VisionPatchSize = 8,
        ContextLength = 8,
        TransformerWidth = 64,
        TransformerHeads = 1,
        TransformerLayers = 2,
    };

    /// <summary>One row of the data set.</summary>
    public sealed class Pair
    {
        public byte[] Image = [];
        public string Caption = "";
        public int Class;
    }

    /// <summary><paramref name="count"/> pairs, classes cycling, geometry drawn from <paramref name="seed"/>.</summary>
    public static List<Pair> Generate(int count, int seed, int size = 32)
    {
        var random = new Random(seed);
        var pairs = new List<Pair>(count);
        for (var i = 0; i < count; i++)
        {
            var k = i % Captions.Length;
            pairs.Add(new Pair { Image = Render(k / Shapes.Length, k % Shapes.Length, random, size), Caption = Captions[k], Class = k });
        }
        return pairs;
    }

    public static byte[] Render(int color, int shape, Random random, int size)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using (var canvas = new SKCanvas(bitmap))
        {
            var grey = (byte)random.Next(90, 160);
            canvas.Clear(new SKColor(grey, grey, grey));
            using var paint = new SKPaint { Color = Paints[color], IsAntialias = true, Style = SKPaintStyle.Fill };
            var radius = size * (0.3f + 0.12f * (float)random.NextDouble());
            // Centred with a small jitter: the test is about learning from captions, not about translation invariance.
            var cx = size / 2f + (float)(random.NextDouble() * 4 - 2);
            var cy = size / 2f + (float)(random.NextDouble() * 4 - 2);
            switch (shape)
            {
                case 0: canvas.DrawCircle(cx, cy, radius, paint); break;
                case 1: canvas.DrawRect(cx - radius, cy - radius, 2 * radius, 2 * radius, paint); break;
                default:
                    using (var path = new SKPath())
                    {
                        path.MoveTo(cx, cy - radius);
                        path.LineTo(cx + radius, cy + radius);
                        path.LineTo(cx - radius, cy + radius);
                        path.Close();
                        canvas.DrawPath(path, paint);
                    }
                    break;
            }
        }
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>CLIP's tokenizer with truncation, as the trainer uses it.</summary>
    public static long[] Tokenize(IReadOnlyList<string> texts, int contextLength) =>
        ClipTokenizer.Default.EncodeBatch(texts, contextLength, ClipTruncation.Truncate);

    /// <summary>Options for fast tests: the small config (context 8), CPU; the default tokenizer (CLIP's BPE).</summary>
    public static ClipTrainerOptions FastOptions(int batchSize = 8, int epochs = 1) => new()
    {
        Config = SmallConfig,
        BatchSize = batchSize,
        Epochs = epochs,
        LearningRate = 1e-3,
        WarmupSteps = 2,
        Device = "cpu",
        Seed = 7,
    };
}
