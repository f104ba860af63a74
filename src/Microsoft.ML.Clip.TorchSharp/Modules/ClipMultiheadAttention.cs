using Microsoft.ML.Clip.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// Self-attention with the parameters of PyTorch's <c>nn.MultiheadAttention</c> (<c>in_proj_weight</c>,
/// <c>in_proj_bias</c>, <c>out_proj</c>) so that state-dict names match OpenAI's. Input is batch first [N, L, E].
/// </summary>
internal sealed class ClipMultiheadAttention : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly Parameter in_proj_weight;
    private readonly Parameter in_proj_bias;
    private readonly Linear out_proj;
#pragma warning restore IDE1006
    private readonly int _heads;

    /// <summary>Creates the layer for <paramref name="width"/>-wide tokens and <paramref name="heads"/> heads. Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public ClipMultiheadAttention(int width, int heads, Generator? generator = null) : base("MultiheadAttention")
    {
        if (heads <= 0 || width % heads != 0)
            throw new ArgumentException($"Width {width} is not a multiple of the head count {heads}.", nameof(heads));
        _heads = heads;
        in_proj_weight = Parameter(empty(3 * width, width));
        in_proj_bias = Parameter(zeros(3 * width));
        out_proj = ParameterInit.Drawn(Linear(width, width), generator);
        using (no_grad())
        {
            ParameterInit.XavierUniform(in_proj_weight, generator);
            out_proj.bias!.zero_();
        }
        RegisterComponents();
    }

    /// <summary>The packed q, k, v projection [3E, E].</summary>
    public Parameter InProjWeight => in_proj_weight;

    /// <summary>The output projection.</summary>
    public Linear OutProj => out_proj;

    /// <summary>
    /// Attention of <paramref name="query"/> [N, Lq, E] to <paramref name="source"/> [N, Lk, E] (keys and values), as
    /// <c>nn.MultiheadAttention(query, source, source)</c>: SigLIP's attention-pool head, whose query is its learned probe.
    /// </summary>
    public Tensor Attend(Tensor query, Tensor source)
    {
        var width = in_proj_weight.shape[1];
        var q = nn.functional.linear(query, in_proj_weight.narrow(0, 0, width), in_proj_bias.narrow(0, 0, width));
        var kv = nn.functional.linear(source, in_proj_weight.narrow(0, width, 2 * width), in_proj_bias.narrow(0, width, 2 * width)).chunk(2, -1);
        return out_proj.forward(AttentionMath.Attend(q, kv[0], kv[1], _heads));
    }

    /// <summary>Attention of <paramref name="x"/> [N, L, E] to itself, with an optional additive mask [L, L].</summary>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        var qkv = nn.functional.linear(x, in_proj_weight, in_proj_bias).chunk(3, -1);
        return out_proj.forward(AttentionMath.Attend(qkv[0], qkv[1], qkv[2], _heads, mask));
    }
}
