using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The ONNX form of openai/CLIP's <c>ResidualAttentionBlock</c> and of multi-head attention, shared by the text tower, the
/// ViT and the ResNet attention pool.
/// </summary>
/// <remarks>
/// The residual stream of a tower is one matrix of token rows [T·N, W] in sequence-first order (row t·N + n is token t of
/// item n), as PyTorch's <c>nn.MultiheadAttention</c> lays its input out. That makes every linear layer a single
/// <c>Gemm</c> with its bias (ONNX Runtime does not fuse MatMul + Add on rank-3 inputs), and lets ONNX Runtime fold the
/// head transposes of q, k and v into its fused MatMul (a transpose that keeps the heads' batch dimensions contiguous
/// becomes a strided GEMM, <c>FusedMatMul</c> with <c>transBatch</c>): one real Transpose per block is left, the merge
/// of the heads' outputs. Batch-first [N, T, W] cannot do that: splitting W into heads puts T between N and H.
/// </remarks>
internal static class ClipOnnxTransformer
{
    /// <summary>
    /// The int64 shape [-1, N·H, W/H] that splits a [T·N, W] projection into heads (one tensor per graph, shared by its
    /// blocks); <paramref name="batch"/> is the 1-d int64 [N].
    /// </summary>
    public static string HeadShape(OnnxGraphBuilder g, string batch, int width, int heads)
        => g.Concat(0, g.Int64s("minus_one", [-1]), g.Mul(batch, g.Int64s("heads", [heads])), g.Int64s("head_dim", [width / heads]));

    /// <summary>
    /// <c>x + attn(ln_1(x)); x + mlp(ln_2(x))</c> on sequence-first token rows <paramref name="x"/> [T·N, W], with the
    /// state dict tensors under <paramref name="prefix"/> (e.g. <c>transformer.resblocks.0.</c>); <paramref name="mask"/>
    /// [T, T] is added to the attention scores. With <paramref name="firstRows"/> (a 1-d int64 [R]) only the block's first
    /// R output rows are computed, [R, W]: their queries still attend to every token, but the other rows' queries, output
    /// projection and MLP are skipped — what a tower's last block needs when only token 0 (rows 0..N-1) is read after it.
    /// </summary>
    public static string ResidualBlock(OnnxGraphBuilder g, string x, IReadOnlyDictionary<string, StateTensor> sd, string prefix,
        int width, int heads, ClipConfig config, string headShape, string? mask, string? firstRows = null)
    {
        // The [T, T] mask has a row per query position; with fewer query rows it would broadcast to the wrong ones.
        if (firstRows is not null && mask is not null)
            throw new ArgumentException("A block that computes only its first rows takes no attention mask.", nameof(mask));
        var h = g.LayerNorm(x, sd[prefix + "ln_1.weight"], sd[prefix + "ln_1.bias"], config.LayerNormEps, prefix + "ln_1");
        // LayerNorm works row by row, so slicing after it is the same as slicing before.
        var queries = firstRows is null ? h : g.Slice(h, [0], firstRows, 0);
        if (firstRows is not null)
            x = g.Slice(x, [0], firstRows, 0);
        var attended = SelfAttention(g, h, queries, sd, prefix + "attn.", width, heads, headShape, mask);
        x = g.Add(x, g.Gemm(attended, sd[prefix + "attn.out_proj.weight"], sd[prefix + "attn.out_proj.bias"], prefix + "attn.out_proj"));

        h = g.LayerNorm(x, sd[prefix + "ln_2.weight"], sd[prefix + "ln_2.bias"], config.LayerNormEps, prefix + "ln_2");
        h = g.Gemm(h, sd[prefix + "mlp.c_fc.weight"], sd[prefix + "mlp.c_fc.bias"], prefix + "mlp.c_fc");
        h = Activation(g, h, config.Activation);
        h = g.Gemm(h, sd[prefix + "mlp.c_proj.weight"], sd[prefix + "mlp.c_proj.bias"], prefix + "mlp.c_proj");
        return g.Add(x, h);
    }

    /// <summary>
    /// Multi-head self-attention of sequence-first rows <paramref name="h"/> [T·N, W] with <c>nn.MultiheadAttention</c>'s
    /// packed <c>in_proj</c> under <paramref name="prefix"/>, for the query rows <paramref name="queries"/> [Tq·N, W] (all
    /// of <paramref name="h"/>, or its first rows); returns the heads' merged outputs [Tq·N, W] (before
    /// <c>out_proj</c>). q, k and v are three Gemms (one packed Gemm would need a Split, a copy of all three). PyTorch
    /// divides q by √(head dim) before the product; here the product is scaled, which ONNX Runtime folds into the fused
    /// MatMul (its <c>alpha</c>) — the same values when √(head dim) is a power of two (CLIP's head dimension is 64), and
    /// the weights stay as the checkpoint has them (float16 storage, int8 quantization).
    /// </summary>
    private static string SelfAttention(OnnxGraphBuilder g, string h, string queries, IReadOnlyDictionary<string, StateTensor> sd,
        string prefix, int width, int heads, string headShape, string? mask)
    {
        var weights = sd[prefix + "in_proj_weight"].Split(3);
        var biases = sd[prefix + "in_proj_bias"].Split(3);
        var q = g.Gemm(queries, weights[0], biases[0], prefix + "q_proj");
        var k = g.Gemm(h, weights[1], biases[1], prefix + "k_proj");
        var v = g.Gemm(h, weights[2], biases[2], prefix + "v_proj");
        var qh = g.Transpose(g.Reshape(q, headShape), 1, 0, 2);          // [N·H, Tq, hd]  (folded into the MatMul)
        var kh = g.Transpose(g.Reshape(k, headShape), 1, 2, 0);          // [N·H, hd, T]   (folded)
        var vh = g.Transpose(g.Reshape(v, headShape), 1, 0, 2);          // [N·H, T, hd]   (folded)
        var scores = g.Mul(g.MatMul(qh, kh), g.Scalar(1 / MathF.Sqrt(width / heads)));
        if (mask != null)
            scores = g.Add(scores, mask);
        var output = g.MatMul(g.Softmax(scores), vh);                   // [N·H, Tq, hd]
        return g.Reshape(g.Transpose(output, 1, 0, 2), -1, width);      // [Tq, N·H, hd] → [Tq·N, W]
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
