using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>
/// <see cref="ClipConversionOptions.Int8CalibrationImages"/> (<see cref="StaticInt8Quantization"/>): convolutions in QDQ
/// form that ONNX Runtime fuses into its int8 convolution kernels, features close to the float ones on images the
/// calibration did not see, and calibration input that cannot work refused by name.
/// </summary>
public class StaticInt8QuantizationTests(ITestOutputHelper output)
{
    private static readonly string ResNet18Directory = Path.Combine(AppContext.BaseDirectory, ResNet18FeaturesCatalog.DefaultModelDirectory);

    // The decodable images of the decoding fixtures (synthetic content, many formats): the calibration set.
    private static readonly string[] CalibrationImages = [.. Directory.GetFiles(Path.Combine(Fixtures.Root, "images"))
        .Where(f => Path.GetExtension(f) is ".png" or ".jpg" or ".gif" && Path.GetFileName(f) is not ("truncated.png" or "huge_header.png"))
        .Order(StringComparer.Ordinal)];

    // Photos and drawings the calibration did not see. Not rgb_tiny_9x7.png: upscaled 25× it is a blur, the one image
    // near the bound (0.990 here), which would make the test hang on the last digits of ONNX Runtime's arithmetic.
    private static readonly string[] HeldOutImages = [.. Directory.GetFiles(Fixtures.Reference("preprocess"), "*.png"),
        .. Directory.GetFiles(Path.Combine(Fixtures.SiglipReference, "images"), "*.png").Where(f => !f.EndsWith("rgb_tiny_9x7.png", StringComparison.Ordinal))];

    private static double Cosine(float[] a, float[] b)
    {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.Length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
        return dot / Math.Sqrt(na * nb);
    }

    private static Dictionary<string, int> OptimizedOps(string path)
    {
        var optimized = path + ".optimized.onnx";
        using (var options = new SessionOptions { OptimizedModelFilePath = optimized })
        using (new InferenceSession(path, options)) { }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node
            .GroupBy(n => (n.Domain is "" or "ai.onnx" ? "" : n.Domain + ".") + n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }

    [Fact]
    public void ResNet18_convolutions_run_as_fused_int8_and_its_features_stay_close_to_the_float_ones()
    {
        using var encoder = FrozenImageEncoder.ResNet18(ResNet18Directory);
        var model = ModelProto.Parser.ParseFrom(encoder.GraphBytes);
        var quantized = StaticInt8Quantization.Apply(model, new Int8Calibration(CalibrationImages, encoder.Preprocess));
        // Its 22 convolutions but the stem's, over the 3-channel image, which stays float.
        Assert.Equal(21, quantized);
        Assert.Equal(13, model.OpsetImport.Single(o => o.Domain == "").Version);
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "BatchNormalization");
        Assert.Equal(21, model.Graph.Node.Count(n => n.OpType == "Conv" && n.Input[1].EndsWith("_dequantized", StringComparison.Ordinal)));
        // Per-channel weights: one scale per output channel (a per-tensor weight would cost accuracy silently).
        var initializers = model.Graph.Initializer.ToDictionary(t => t.Name);
        Assert.All(model.Graph.Node.Where(n => n.OpType == "DequantizeLinear" && initializers.TryGetValue(n.Input[0], out var w) && w.Dims.Count == 4),
            dq => Assert.Equal(initializers[dq.Input[0]].Dims[0], initializers[dq.Input[1]].Dims.Single()));

        var dir = Fixtures.NewTempDir("clip-static-int8");
        var path = Path.Combine(dir, "resnet18.int8.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var ops = OptimizedOps(path);
        output.WriteLine(string.Join(", ", ops.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        Assert.Equal(21, ops.GetValueOrDefault("com.microsoft.QLinearConv"));
        Assert.Equal(9, ops.GetValueOrDefault("com.microsoft.QLinearAdd"));
        Assert.Equal(1, ops.Where(p => p.Key.EndsWith("Conv", StringComparison.Ordinal) && !p.Key.EndsWith("QLinearConv", StringComparison.Ordinal)).Sum(p => p.Value));

        using var int8 = FrozenImageEncoder.FromOnnx(path, encoder.Preprocess);
        var expected = encoder.FeaturizeFiles(HeldOutImages);
        var actual = int8.FeaturizeFiles(HeldOutImages);
        for (int i = 0; i < HeldOutImages.Length; i++)
        {
            var cosine = Cosine(expected[i], actual[i]);
            output.WriteLine($"{Path.GetFileName(HeldOutImages[i])}: cosine to the float features {cosine:F5}");
            Assert.True(cosine >= 0.99, $"{HeldOutImages[i]}: cosine {cosine}");
            Assert.True(cosine < 0.99999, "the features did not change: nothing was quantized");
        }
    }

    [Fact]
    public void Conversion_with_calibration_images_quantizes_a_ResNet_CLIP_image_tower()
    {
        var folder = Path.Combine(Fixtures.NewTempDir("clip-static-int8-rn"), "model");
        ClipModelConverter.ConvertToOnnx(Fixtures.Reference("models", "rn.openai.pt"), folder,
            new ClipConversionOptions { WeightsAsInt8 = true, Int8CalibrationImages = CalibrationImages });
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "image.onnx")));
        Assert.Contains(model.Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Contains(model.MetadataProps, p => p.Key == "activations" && p.Value == StaticInt8Quantization.MetadataValue);
        var image = OrtTestHelpers.Run(Path.Combine(folder, "image.onnx"), "pixel_values", "image_embeds", OrtTestHelpers.Images, out _);
        var reference = Npy.ReadFloat32(Fixtures.Reference("cases", "rn.image_features.npy")).Data;
        var d = reference.Length / OrtTestHelpers.Images.Shape[0];
        for (int r = 0; r < reference.Length / d; r++)
        {
            var cosine = Cosine(image.AsSpan(r * d, d).ToArray(), reference.AsSpan(r * d, d).ToArray());
            output.WriteLine($"rn image {r}: cosine to openai/CLIP's features {cosine:F5}");
            Assert.True(cosine >= 0.99, $"image {r}: cosine {cosine}");
        }
        // The text tower has no convolutions: quantized dynamically as without calibration images.
        var text = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "text.onnx")));
        Assert.DoesNotContain(text.Graph.Node, n => n.OpType == "QuantizeLinear");
        Assert.Contains(text.Graph.Node, n => n.OpType == "MatMulInteger");
    }

    // The refusals found before any work (calibration images without WeightsAsInt8, none, a missing one, with safetensors)
    // are tested in ClipModelConverterTests.Bad_options_and_a_missing_source_are_refused_before_the_output_folder_is_touched;
    // clip convert checks its --int8-calibration source itself, and its messages and exit code (for those and for this
    // refusal) are tested in Cli.Tests' ConvertRefusesCalibrationInputThatCannotWork.
    [Fact]
    public void A_calibration_image_that_does_not_decode_fails_the_conversion_by_name_and_leaves_nothing_behind()
    {
        var checkpoint = Fixtures.Reference("models", "rn.openai.pt");
        var dir = Fixtures.NewTempDir("clip-static-int8-bad");
        var target = Path.Combine(dir, "model");
        // Found only when calibration decodes it, with the conversion staged beside the target.
        var truncated = Path.Combine(Fixtures.Root, "images", "truncated.png");
        var unreadable = Assert.Throws<InvalidDataException>(() => ClipModelConverter.ConvertToOnnx(checkpoint, target,
            new ClipConversionOptions { WeightsAsInt8 = true, Int8CalibrationImages = [CalibrationImages[0], truncated] }));
        Assert.Contains("truncated.png", unreadable.Message);
        // Nothing was left behind: the folder is written whole or not at all. The writer stages beside the target
        // ('.model.clip-staging-…', its lock '.model.clip-lock', '<file>.p…tmp' temporaries in the staging folder), so the
        // check looks at the target's parent, where a leaked staging folder or lock file would be; the target itself may at
        // most exist empty.
        var left = Directory.GetFileSystemEntries(dir)
            .Where(e => !(e == target && Directory.Exists(e) && !Directory.EnumerateFileSystemEntries(e).Any()))
            .Select(Path.GetFileName).ToList();
        Assert.True(left.Count == 0, $"left beside or in the failed target: {string.Join(", ", left)}");
    }

    [Fact]
    public void A_calibration_image_that_makes_an_activation_not_finite_is_named_with_the_tensor()
    {
        // A graph whose first step is the log of the normalised pixels: finite on a white image (every value > 0), NaN on a
        // black one (every value < 0). The black image is the third of four in one batch, then the ninth (second batch).
        var dir = Fixtures.NewTempDir("clip-static-int8-nan");
        string Png(string name, byte level)
        {
            var path = Path.Combine(dir, name);
            using var bitmap = new SkiaSharp.SKBitmap(new SkiaSharp.SKImageInfo(16, 16, SkiaSharp.SKColorType.Rgba8888, SkiaSharp.SKAlphaType.Unpremul));
            bitmap.Erase(new SkiaSharp.SKColor(level, level, level));
            using var data = bitmap.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
            File.WriteAllBytes(path, data.ToArray());
            return path;
        }
        var white = Png("white.png", 255);
        var black = Png("black.png", 0);
        static ValueInfoProto Float(string name, params string[] dims) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto { Dim = { dims.Select(d => int.TryParse(d, out var v) ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d }) } } } },
        };
        var model = new ModelProto
        {
            IrVersion = 8,
            OpsetImport = { new OperatorSetIdProto { Domain = "", Version = 13 } },
            Graph = new GraphProto
            {
                Name = "log-stem",
                Node =
                {
                    new NodeProto { OpType = "Log", Input = { "pixel_values" }, Output = { "stem_log" } },
                    new NodeProto { OpType = "Relu", Input = { "stem_log" }, Output = { "features" } },
                },
                Input = { Float("pixel_values", "N", "3", "8", "8") },
                Output = { Float("features", "N", "3", "8", "8") },
            },
        };
        var preprocess = ClipPreprocessSettings.OpenAI(8);
        Assert.NotEmpty(ActivationRanges.Measure(model, ["stem_log"], new Int8Calibration([white, white], preprocess)));

        foreach (string[] images in new[] { new[] { white, white, black, white }, [.. Enumerable.Repeat(white, 8), black] })
        {
            // Before: "Tensor 'stem_log' holds NaN on a calibration image", which one not said.
            var error = Assert.Throws<InvalidDataException>(() => ActivationRanges.Measure(model, ["stem_log"], new Int8Calibration(images, preprocess)));
            output.WriteLine(error.Message);
            Assert.Contains($"calibration image '{black}'", error.Message);
            Assert.Contains("Tensor 'stem_log' holds NaN", error.Message);
            Assert.DoesNotContain(white, error.Message);
        }
    }
}
