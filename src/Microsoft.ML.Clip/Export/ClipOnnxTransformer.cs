using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The ONNX form of openai/CLIP's <c>ResidualAttentionBlock</c> and of multi-head attention, shared by
/// the text tower, the ViT and the ResNet attention pool. Activations are [N, T, W] (batch first).
/// </summary>
internal static class ClipOnnxTransformer
{
    /// <summary>
    /// <c>x + attn(ln_1(x)); x + mlp(ln_2(x))</c> with the state dict tensors under <paramref name="prefix"/>
    /// (e.g. <c>transformer.resblocks.0.</c>); <paramref name="mask"/> is added to the attention scores.
    /// </summary>
    public static string ResidualBlock(OnnxGraphBuilder g, string x, IReadOnlyDictionary<string, StateTensor> sd, string prefix,
        int width, int heads, ClipConfig config, string? mask)
    {
        var h = g.LayerNorm(x, sd[prefix + "ln_1.weight"], sd[prefix + "ln_1.bias"], config.LayerNormEps, prefix + "ln_1");
        var qkv = g.Linear(h, sd[prefix + "attn.in_proj_weight"], sd[prefix + "attn.in_proj_bias"], prefix + "attn.in_proj");
        var parts = g.Node("Split", [qkv, g.Int64s("split", [width, width, width])], 3, null, OnnxGraphBuilder.Int("axis", -1));
        var attended = Attend(g, parts[0], parts[1], parts[2], width, heads, mask);
        var a = g.Linear(attended, sd[prefix + "attn.out_proj.weight"], sd[prefix + "attn.out_proj.bias"], prefix + "attn.out_proj");
        x = g.Add(x, a);

        h = g.LayerNorm(x, sd[prefix + "ln_2.weight"], sd[prefix + "ln_2.bias"], config.LayerNormEps, prefix + "ln_2");
        h = g.Linear(h, sd[prefix + "mlp.c_fc.weight"], sd[prefix + "mlp.c_fc.bias"], prefix + "mlp.c_fc");
        h = Activation(g, h, config.Activation);
        h = g.Linear(h, sd[prefix + "mlp.c_proj.weight"], sd[prefix + "mlp.c_proj.bias"], prefix + "mlp.c_proj");
        return g.Add(x, h);
    }

    /// <summary>
    /// Scaled dot-product attention over heads: q [N, Tq, W], k and v [N, T, W] (already projected) →
    /// [N, Tq, W]. Like PyTorch, q is divided by √(head dim) before the product.
    /// </summary>
    public static string Attend(OnnxGraphBuilder g, string q, string k, string v, int width, int heads, string? mask)
    {
        var headDim = width / heads;
        q = g.Div(q, g.Scalar(MathF.Sqrt(headDim)));
        var qh = g.Transpose(g.Reshape(q, 0, 0, heads, headDim), 0, 2, 1, 3);   // [N, H, Tq, hd]
        var kh = g.Transpose(g.Reshape(k, 0, 0, heads, headDim), 0, 2, 3, 1);   // [N, H, hd, T]
        var vh = g.Transpose(g.Reshape(v, 0, 0, heads, headDim), 0, 2, 1, 3);   // [N, H, T, hd]
        var scores = g.MatMul(qh, kh);
        if (mask != null)
            scores = g.Add(scores, mask);
        var output = g.MatMul(g.Softmax(scores), vh);                           // [N, H, Tq, hd]
        return g.Reshape(g.Transpose(output, 0, 2, 1, 3), 0, 0, width);
    }

    /// <summary>
    /// QuickGELU <c>x·σ(1.702x)</c>, exact GELU <c>0.5·x·(1 + erf(x/√2))</c> or its tanh approximation
    /// <c>0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))</c> (PyTorch's <c>gelu(approximate="tanh")</c>; opset 17 has no Gelu).
    /// </summary>
    public static string Activation(OnnxGraphBuilder g, string x, ClipActivation activation) => activation switch
    {
        ClipActivation.GeluTanh => g.Mul(g.Mul(x, g.Scalar(0.5f)), g.Add(g.Node("Tanh", [g.Mul(
            g.Add(x, g.Mul(g.Mul(g.Mul(x, x), x), g.Scalar(0.044715f))), g.Scalar((float)Math.Sqrt(2 / Math.PI)))]), g.Scalar(1f))),
        ClipActivation.QuickGelu => g.Mul(x, g.Sigmoid(g.Mul(x, g.Scalar(1.702f)))),
        ClipActivation.Gelu => g.Mul(g.Mul(x, g.Scalar(0.5f)),
            g.Add(g.Node("Erf", [g.Mul(x, g.Scalar((float)(1 / Math.Sqrt(2))))]), g.Scalar(1f))),
        _ => throw new NotSupportedException($"Activation {activation} has no ONNX form."),
    };
}
