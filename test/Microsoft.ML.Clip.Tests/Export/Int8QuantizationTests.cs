using Google.Protobuf;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Xunit;
using Xunit.Abstractions;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>
/// <see cref="ClipConversionOptions.WeightsAsInt8"/> (<see cref="DynamicInt8Quantization"/>): int8 weights per output
/// channel in the plain-ONNX form ONNX Runtime fuses into its int8 GEMM, embeddings close to the float ones.
/// </summary>
public class Int8QuantizationTests(ITestOutputHelper output)
{
    private static string Convert(string kind, ClipConversionOptions? options = null)
    {
        var folder = Path.Combine(Fixtures.NewTempDir($"clip-int8-{kind}"), "model");
        ClipModelConverter.ConvertToOnnx(Fixtures.Reference("models", $"{kind}.openai.pt"), folder, options);
        return folder;
    }

    private static double MinCosine(float[] a, float[] b, int d)
    {
        double min = 1;
        for (int r = 0; r < a.Length / d; r++)
        {
            double dot = 0, na = 0, nb = 0;
            for (int i = r * d; i < (r + 1) * d; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
            min = Math.Min(min, dot / Math.Sqrt(na * nb));
        }
        return min;
    }

    [Theory]
    [InlineData("vit")]
    [InlineData("rn")]
    public void Int8_embeddings_stay_close_to_the_float_ones(string kind)
    {
        var int8 = Convert(kind, new ClipConversionOptions { WeightsAsInt8 = true });
        var image = OrtTestHelpers.Run(Path.Combine(int8, "image.onnx"), "pixel_values", "image_embeds", OrtTestHelpers.Images, out _);
        var text = OrtTestHelpers.Run(Path.Combine(int8, "text.onnx"), "input_ids", "text_embeds", OrtTestHelpers.Tokens, out _);
        var imageCosine = MinCosine(image, Npy.ReadFloat32(Fixtures.Reference("cases", $"{kind}.image_features.npy")).Data, 64);
        var textCosine = MinCosine(text, Npy.ReadFloat32(Fixtures.Reference("cases", $"{kind}.text_features.npy")).Data, 64);
        output.WriteLine($"{kind} int8: image cosine to openai/CLIP's features ≥ {imageCosine:F5}, text ≥ {textCosine:F5}");
        Assert.True(imageCosine >= 0.99, $"image cosine {imageCosine}");
        Assert.True(textCosine >= 0.99, $"text cosine {textCosine}");
        // And they are not the float features: the weights really changed.
        Assert.True(imageCosine < 0.9999999 || textCosine < 0.9999999);
    }

    [Fact]
    public void Linear_layers_become_int8_in_the_form_ONNX_Runtime_fuses()
    {
        var folder = Convert("vit", new ClipConversionOptions { WeightsAsInt8 = true });
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "image.onnx")));
        Assert.Contains(graph.MetadataProps, p => p.Key == "weights" && p.Value.Contains("int8", StringComparison.Ordinal));
        var ops = graph.Graph.Node.GroupBy(n => n.OpType).ToDictionary(g => g.Key, g => g.Count());
        // 2 blocks × (q, k, v, out_proj, c_fc, c_proj) + the final projection; the patch convolution stays float.
        Assert.Equal(13, ops["MatMulInteger"]);
        Assert.Equal(13, ops["DynamicQuantizeLinear"]);
        Assert.False(ops.ContainsKey("Gemm"));
        Assert.Equal(1, ops["Conv"]);
        var int8Weights = graph.Graph.Initializer.Where(t => t.DataType == (int)DataType.Int8).ToList();
        Assert.Equal(13, int8Weights.Count);
        // Per output channel: one scale per column of each [in, out] weight.
        foreach (var w in int8Weights)
            Assert.Equal(w.Dims[1], graph.Graph.Initializer.Single(t => t.Name == w.Name + "_scale").Dims.Single());
        // No float matrix is left for the quantized layers (only the embeddings, the patch kernel and the mask-free rest).
        Assert.DoesNotContain(graph.Graph.Initializer, t => t.DataType == (int)DataType.Float && t.Name.EndsWith(".weight_t", StringComparison.Ordinal));

        // ONNX Runtime's CPU optimiser turns every layer into its int8 GEMM: no MatMulInteger / Cast / scale Mul is left.
        var optimized = OptimizedGraphTests.OptimizedOps(Path.Combine(folder, "image.onnx"));
        output.WriteLine(string.Join(", ", optimized.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}")));
        Assert.False(optimized.ContainsKey("MatMulInteger"));
        Assert.False(optimized.ContainsKey("Cast"));
        Assert.Equal(13, optimized.GetValueOrDefault("com.microsoft.DynamicQuantizeMatMul") + optimized.GetValueOrDefault("com.microsoft.MatMulIntegerToFloat"));
    }

    [Fact]
    public void Int8_and_float16_storage_combine_and_the_ML_NET_row_path_runs_the_result()
    {
        var folder = Convert("vit", new ClipConversionOptions { WeightsAsInt8 = true, WeightsAsFloat16 = true });
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "text.onnx"))).Graph;
        Assert.Contains(graph.Initializer, t => t.DataType == (int)DataType.Int8);
        Assert.DoesNotContain(graph.Initializer, t => t.DataType == (int)DataType.Float && t.Dims.Count >= 2);

        // Activations are quantized per call (one scale per batch), so an int8 embedding depends a little on the rest of its
        // batch: ML.NET's row path (one row per call) equals ClipModel given one text at a time, and is close to both texts
        // in one call. (Not ClipModel at BatchSize 1: a call holds BatchSize full-context rows' worth of ids, so two short
        // prompts still share a call there.)
        using var model = ClipModel.Load(folder);
        float[][] expected = [model.EmbedTexts(["a diagram"])[0], model.EmbedTexts(["a dog"])[0]];
        var together = model.EmbedTexts(["a diagram", "a dog"]);
        var ml = new MLContext(seed: 1);
        var texts = ml.Data.LoadFromEnumerable(new[] { new Inference.TextRow { Text = "a diagram" }, new Inference.TextRow { Text = "a dog" } });
        var rows = ml.Transforms.ClipTextEmbedding("Embedding", folder, "Text", normalize: false).Fit(texts).Transform(texts).GetColumn<float[]>("Embedding").ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            Assert.True(OrtTestHelpers.MaxAbsDiff(expected[r], rows[r]) <= 1e-5f, $"row {r}");
            Assert.True(MinCosine(together[r], rows[r], 64) >= 0.999, $"row {r} batched");
        }
    }

    [Fact]
    public void Convolutions_quantize_after_their_batch_norm_is_folded_in()
    {
        var folder = Convert("rn");
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "image.onnx")));
        int convolutions = model.Graph.Node.Count(n => n.OpType == "Conv");
        var quantized = DynamicInt8Quantization.Apply(model, new Int8QuantizationOptions { Convolutions = true });
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "BatchNormalization" or "Conv");
        Assert.Equal(convolutions, model.Graph.Node.Count(n => n.OpType == "ConvInteger"));
        Assert.Equal(convolutions + 3, quantized); // + the attention pool's q, kv and c_proj layers
        var path = Path.Combine(folder, "image.int8conv.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        var image = OrtTestHelpers.Run(path, "pixel_values", "image_embeds", OrtTestHelpers.Images, out _);
        var cosine = MinCosine(image, Npy.ReadFloat32(Fixtures.Reference("cases", "rn.image_features.npy")).Data, 64);
        output.WriteLine($"rn with int8 convolutions: image cosine ≥ {cosine:F5}");
        Assert.True(cosine >= 0.99, $"{cosine}");
    }

    [Fact]
    public void An_older_opset_is_raised_when_its_operators_mean_the_same()
    {
        // Opset 8, as the NuGet ResNet-18: Conv → BatchNormalization (spatial = 1) → Relu → Flatten → MatMul.
        var random = new Random(3);
        float[] Values(int n, float scale, float offset = 0) => Enumerable.Range(0, n).Select(_ => offset + scale * (float)(random.NextDouble() * 2 - 1)).ToArray();
        var g = new GraphProto { Name = "old" };
        g.Input.Add(OnnxGraphBuilder.Value("x", DataType.Float, "batch", 3, 8, 8));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("w", [4, 3, 3, 3], Values(108, 0.5f)));
        foreach (var (name, values) in new[] { ("gamma", Values(4, 0.2f, 1)), ("beta", Values(4, 0.1f)), ("mean", Values(4, 0.1f)), ("var", Values(4, 0.2f, 1)) })
            g.Initializer.Add(OnnxGraphBuilder.FloatTensor(name, [4], values));
        g.Initializer.Add(OnnxGraphBuilder.FloatTensor("proj", [256, 16], Values(256 * 16, 0.1f)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Conv", "c", ["x", "w"], OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("BatchNormalization", "b", ["c", "gamma", "beta", "mean", "var"], OnnxGraphBuilder.Int("spatial", 1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Relu", "r", ["b"]));
        g.Node.Add(OnnxGraphBuilder.CreateNode("Flatten", "f", ["r"], OnnxGraphBuilder.Int("axis", 1)));
        g.Node.Add(OnnxGraphBuilder.CreateNode("MatMul", "y", ["f", "proj"]));
        g.Output.Add(OnnxGraphBuilder.Value("y", DataType.Float, "batch", 16));
        var old = OnnxGraphBuilder.CreateModel(g, 8);
        old.IrVersion = 3;
        var oldBytes = old.ToByteArray();

        var linear = ModelProto.Parser.ParseFrom(oldBytes);
        Assert.Equal(1, DynamicInt8Quantization.Apply(linear));
        Assert.Equal(11, linear.OpsetImport.Single().Version);
        Assert.DoesNotContain(linear.Graph.Node.Single(n => n.OpType == "BatchNormalization").Attribute, a => a.Name == "spatial");
        var withConvolutions = ModelProto.Parser.ParseFrom(oldBytes);
        Assert.Equal(2, DynamicInt8Quantization.Apply(withConvolutions, new Int8QuantizationOptions { Convolutions = true }));

        var x = Values(2 * 3 * 8 * 8, 1);
        float[] Run(ModelProto model)
        {
            using var session = new InferenceSession(model.ToByteArray());
            using var input = OrtValue.CreateTensorValueFromMemory(x, [2, 3, 8, 8]);
            using var result = session.Run(new RunOptions(), ["x"], [input], ["y"]);
            return result[0].GetTensorDataAsSpan<float>().ToArray();
        }
        var reference = Run(ModelProto.Parser.ParseFrom(oldBytes));
        Assert.True(MinCosine(Run(linear), reference, 16) >= 0.99);
        Assert.True(MinCosine(Run(withConvolutions), reference, 16) >= 0.99);

        // An operator whose meaning changed by opset 11 (Slice took attributes until opset 10) refuses the upgrade, named.
        var sliced = ModelProto.Parser.ParseFrom(oldBytes);
        sliced.Graph.Node.Insert(0, OnnxGraphBuilder.CreateNode("Slice", "s", ["x"], OnnxGraphBuilder.Ints("starts", 0), OnnxGraphBuilder.Ints("ends", 1)));
        var e = Assert.Throws<NotSupportedException>(() => DynamicInt8Quantization.Apply(sliced));
        Assert.Contains("Slice", e.Message);
    }

    [Fact]
    public void Safetensors_conversion_refuses_int8()
    {
        var e = Assert.Throws<ArgumentException>(() => ClipModelConverter.ConvertToSafetensors(Fixtures.Reference("models", "vit.openai.pt"),
            Fixtures.NewTempDir("clip-int8-st"), new ClipConversionOptions { WeightsAsInt8 = true }));
        Assert.Contains(nameof(ClipConversionOptions.WeightsAsInt8), e.Message);
    }
}
