using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>Pre-norm transformer block: <c>x + attn(ln_1(x))</c>, then <c>x + mlp(ln_2(x))</c>; MLP width 4×.</summary>
internal sealed class ResidualAttentionBlock : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly ClipMultiheadAttention attn;
    private readonly LayerNorm ln_1;
    private readonly Sequential mlp;
    private readonly LayerNorm ln_2;
#pragma warning restore IDE1006

    /// <summary>Creates a block of <paramref name="width"/> with <paramref name="heads"/> heads. Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public ResidualAttentionBlock(int width, int heads, ClipActivation activation, double layerNormEps, Generator? generator = null) : base(nameof(ResidualAttentionBlock))
    {
        attn = new ClipMultiheadAttention(width, heads, generator);
        ln_1 = LayerNorm(width, layerNormEps);
        mlp = Sequential(
            ("c_fc", ParameterInit.Drawn(Linear(width, width * 4), generator)),
            ("gelu", activation switch
            {
                ClipActivation.QuickGelu => new QuickGelu(),
                ClipActivation.GeluTanh => GELU(global::TorchSharp.Modules.GELU.Approximate.tanh),
                _ => (Module<Tensor, Tensor>)GELU(),
            }),
            ("c_proj", ParameterInit.Drawn(Linear(width * 4, width), generator)));
        ln_2 = LayerNorm(width, layerNormEps);
        RegisterComponents();
    }

    /// <summary>The attention layer.</summary>
    public ClipMultiheadAttention Attention => attn;

    /// <summary>The MLP's input layer (<c>mlp.c_fc</c>).</summary>
    public Linear MlpIn => (Linear)mlp[0];

    /// <summary>The MLP's output layer (<c>mlp.c_proj</c>).</summary>
    public Linear MlpOut => (Linear)mlp[2];

    /// <summary>Runs the block on <paramref name="x"/> [N, L, E] with an optional additive attention mask [L, L].</summary>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        x = x.Plus(attn.forward(ln_1.forward(x), mask));
        return x.Plus(mlp.forward(ln_2.forward(x)));
    }
}
