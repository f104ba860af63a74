using Microsoft.ML.Clip.TorchSharp.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>Scaled dot-product attention over already projected queries, keys and values (batch first).</summary>
internal static class AttentionMath
{
    /// <summary>
    /// softmax(q·kᵀ/√d + mask)·v per head. <paramref name="q"/> is [N, Lq, E], <paramref name="k"/> and
    /// <paramref name="v"/> [N, Lk, E]; the result is [N, Lq, E] with the heads merged back.
    /// </summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, int heads, Tensor? mask = null)
    {
        var (n, lq, e) = (q.shape[0], q.shape[1], q.shape[2]);
        var lk = k.shape[1];
        var d = e / heads;
        var qh = q.view(n, lq, heads, d).transpose(1, 2);
        var kh = k.view(n, lk, heads, d).transpose(1, 2);
        var vh = v.view(n, lk, heads, d).transpose(1, 2);
        // Scale q before the product, as PyTorch's multi-head attention does.
        var scores = qh.Times(1.0 / Math.Sqrt(d)).matmul(kh.transpose(-2, -1));
        if (mask is not null) scores = scores.Plus(mask);
        var weights = scores.softmax(-1);
        return weights.matmul(vh).transpose(1, 2).reshape(n, lq, e);
    }
}
