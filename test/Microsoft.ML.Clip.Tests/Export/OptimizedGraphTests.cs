using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.OnnxRuntime;
using Onnx;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Export;

/// <summary>
/// What ONNX Runtime actually runs for the exported graphs: the optimised graph it writes with
/// <see cref="SessionOptions.OptimizedModelFilePath"/> (CPU, all optimisations). These counts are the layout's point —
/// every linear layer one Gemm with its bias, the head transposes of q, k and v folded into fused MatMuls, one real
/// Transpose per block (the merge of the heads) — so a change that loses a fusion fails here, with the counts of the
/// fixture's torch.onnx export (same model) beside ours.
/// </summary>
public class OptimizedGraphTests(ITestOutputHelper output)
{
    /// <summary>Operator → node count of ONNX Runtime's optimised graph for <paramref name="path"/>.</summary>
    internal static Dictionary<string, int> OptimizedOps(string path)
    {
        var optimized = Path.Combine(Fixtures.NewTempDir("clip-optimized"), "optimized.onnx");
        using (var options = new SessionOptions { IntraOpNumThreads = 1, OptimizedModelFilePath = optimized })
        using (new InferenceSession(path, options)) { }
        return ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph.Node
            .GroupBy(n => (n.Domain is "" or "ai.onnx" ? "" : n.Domain + ".") + n.OpType).ToDictionary(g => g.Key, g => g.Count());
    }

    private static string Describe(Dictionary<string, int> ops)
        => $"{ops.Values.Sum()} nodes: " + string.Join(", ", ops.OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value}"));

    private string Convert(string kind)
    {
        var folder = Path.Combine(Fixtures.NewTempDir($"clip-optimized-{kind}"), "model");
        ClipModelConverter.ConvertToOnnx(Fixtures.Reference("models", $"{kind}.openai.pt"), folder);
        return folder;
    }

    [Fact]
    public void Vit_image_graph_keeps_one_transpose_per_block_and_fuses_every_linear_layer()
    {
        // The fixture ViT: 2 blocks, width 128, 2 heads.
        var ours = OptimizedOps(Path.Combine(Convert("vit"), "image.onnx"));
        var torch = OptimizedOps(Fixtures.Reference("models", "vit.image.onnx"));
        output.WriteLine($"ours:  {Describe(ours)}");
        output.WriteLine($"torch: {Describe(torch)}");
        const int blocks = 2;
        // One Transpose per block (the heads' merge) and one for the patch tokens; torch.onnx's export has as many or more.
        Assert.True(ours.GetValueOrDefault("Transpose") <= blocks + 1, $"Transpose: {ours.GetValueOrDefault("Transpose")}");
        Assert.True(ours.GetValueOrDefault("Transpose") <= torch.GetValueOrDefault("Transpose"));
        // q, k, v, out_proj, c_fc, c_proj: a Gemm each, bias included (no MatMul + Add left for them).
        Assert.Equal(6 * blocks, ours.GetValueOrDefault("Gemm"));
        Assert.Equal(1, ours.GetValueOrDefault("MatMul")); // the final projection (no bias)
        Assert.Equal(2 * blocks, ours.GetValueOrDefault("com.microsoft.FusedMatMul"));
        Assert.Equal(2 * blocks + 1, ours.GetValueOrDefault("Add")); // the residuals and the position embedding
        Assert.Equal(2 * blocks + 2, ours.GetValueOrDefault("LayerNormalization"));
        Assert.Equal(blocks, ours.GetValueOrDefault("com.microsoft.QuickGelu"));
        Assert.True(ours.Values.Sum() < torch.Values.Sum(), $"{ours.Values.Sum()} nodes vs torch.onnx's {torch.Values.Sum()}");
    }

    [Fact]
    public void Vit_last_block_computes_only_the_class_token_rows()
    {
        // The fixture ViT: 2 blocks; the MLP input of each block exposed as an extra output and run on 3 images. Every
        // block but the last sees all T·N token rows; the last one only the N class tokens (its other rows are unused).
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(Convert("vit"), "image.onnx")));
        string MlpInput(int block) => model.Graph.Node.Single(n => n.OpType == "Gemm"
            && n.Input[1] == $"visual.transformer.resblocks.{block}.mlp.c_fc.weight_t").Input[0];
        foreach (var name in new[] { MlpInput(0), MlpInput(1) })
            model.Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } } });
        var path = Path.Combine(Fixtures.NewTempDir("clip-optimized-rows"), "image.onnx");
        File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(model));

        using var session = new InferenceSession(path);
        var dims = session.InputMetadata.Values.Single().Dimensions;
        int side = dims[^1], batch = 3;
        var pixels = new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(
            Enumerable.Range(0, batch * 3 * side * side).Select(i => MathF.Sin(i * 0.37f)).ToArray(), [batch, 3, side, side]);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(session.InputMetadata.Keys.Single(), pixels)]);
        var rows = results.Skip(1).Select(r => r.AsTensor<float>().Dimensions[0]).ToArray();
        var tokens = rows[0] / batch;
        Assert.True(tokens > 1 && rows[0] == tokens * batch, $"block 0 rows {rows[0]}");
        Assert.Equal(batch, rows[1]);
    }

    [Fact]
    public void Text_graph_of_any_length_is_fused_the_same_way()
    {
        var ours = OptimizedOps(Path.Combine(Convert("vit"), "text.onnx"));
        output.WriteLine($"ours:  {Describe(ours)}");
        output.WriteLine($"torch: {Describe(OptimizedOps(Fixtures.Reference("models", "vit.text.onnx")))}");
        const int blocks = 2;
        Assert.True(ours.GetValueOrDefault("Transpose") <= blocks + 1, $"Transpose: {ours.GetValueOrDefault("Transpose")}"); // + the ids' [S, N]
        Assert.Equal(6 * blocks, ours.GetValueOrDefault("Gemm"));
        Assert.Equal(2 * blocks, ours.GetValueOrDefault("com.microsoft.FusedMatMul"));
    }
}
