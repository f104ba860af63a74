using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// SigLIP's transformer (Hugging Face <c>SiglipEncoder</c>): <c>layers.N</c> of <see cref="SiglipEncoderLayer"/>, shared by
/// both towers. No mask of its own: the text tower is bidirectional (SigLIP was trained without a causal mask).
/// </summary>
internal sealed class SiglipEncoder : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly ModuleList<SiglipEncoderLayer> layers;
#pragma warning restore IDE1006

    /// <summary>Creates <paramref name="count"/> layers (see <see cref="SiglipEncoderLayer"/> for the arguments).</summary>
    public SiglipEncoder(int count, int width, int heads, int mlpWidth, double layerNormEps, ClipActivation activation, Generator? generator) : base(nameof(SiglipEncoder))
    {
        layers = new ModuleList<SiglipEncoderLayer>(
            Enumerable.Range(0, count).Select(_ => new SiglipEncoderLayer(width, heads, mlpWidth, layerNormEps, activation, generator)).ToArray());
        RegisterComponents();
    }

    /// <summary>Runs every layer on <paramref name="x"/> [N, L, W] with an optional additive mask broadcast to [N, heads, L, L].</summary>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        foreach (var layer in layers)
            x = layer.forward(x, mask);
        return x;
    }
}

/// <summary>
/// One pre-LN SigLIP layer (<c>SiglipEncoderLayer</c>): <c>x + self_attn(layer_norm1(x))</c>, then
/// <c>x + mlp(layer_norm2(x))</c>, LayerNorm epsilon from the config (1e-6 in SigLIP's).
/// </summary>
internal sealed class SiglipEncoderLayer : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly SiglipAttention self_attn;
    private readonly LayerNorm layer_norm1;
    private readonly SiglipMlp mlp;
    private readonly LayerNorm layer_norm2;
#pragma warning restore IDE1006

    /// <summary>A layer of <paramref name="width"/> with <paramref name="heads"/> heads and an MLP of <paramref name="mlpWidth"/>.</summary>
    public SiglipEncoderLayer(int width, int heads, int mlpWidth, double layerNormEps, ClipActivation activation, Generator? generator) : base(nameof(SiglipEncoderLayer))
    {
        self_attn = new SiglipAttention(width, heads, generator);
        layer_norm1 = LayerNorm(width, layerNormEps);
        mlp = new SiglipMlp(width, mlpWidth, activation, generator);
        layer_norm2 = LayerNorm(width, layerNormEps);
        RegisterComponents();
    }

    /// <inheritdoc cref="SiglipEncoder.forward"/>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        x = x.Plus(self_attn.forward(layer_norm1.forward(x), mask));
        return x.Plus(mlp.forward(layer_norm2.forward(x)));
    }
}

/// <summary>
/// SigLIP's self-attention (<c>SiglipAttention</c>): separate <c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c> and
/// <c>out_proj</c> (all with bias), softmax(q·kᵀ / √head_dim [+ mask])·v per head.
/// </summary>
internal sealed class SiglipAttention : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
#pragma warning restore IDE1006
    private readonly int _heads;

    /// <summary>Attention over <paramref name="width"/>-wide tokens with <paramref name="heads"/> heads.</summary>
    public SiglipAttention(int width, int heads, Generator? generator) : base(nameof(SiglipAttention))
    {
        if (heads <= 0 || width % heads != 0)
            throw new ArgumentException($"Width {width} is not a multiple of the head count {heads}.", nameof(heads));
        _heads = heads;
        q_proj = SiglipInit.Xavier(Linear(width, width), generator);
        k_proj = SiglipInit.Xavier(Linear(width, width), generator);
        v_proj = SiglipInit.Xavier(Linear(width, width), generator);
        out_proj = SiglipInit.Xavier(Linear(width, width), generator);
        RegisterComponents();
    }

    /// <inheritdoc cref="SiglipEncoder.forward"/>
    public override Tensor forward(Tensor x, Tensor? mask)
        => out_proj.forward(AttentionMath.Attend(q_proj.forward(x), k_proj.forward(x), v_proj.forward(x), _heads, mask));
}

/// <summary>SigLIP's MLP (<c>SiglipMLP</c>): <c>fc2(act(fc1(x)))</c>, the activation SigLIP's configs name being
/// <c>gelu_pytorch_tanh</c>, GELU's tanh approximation.</summary>
internal sealed class SiglipMlp : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly Linear fc1;
    private readonly Linear fc2;
#pragma warning restore IDE1006
    private readonly ClipActivation _activation;

    /// <summary>An MLP from <paramref name="width"/> through <paramref name="hidden"/> back to <paramref name="width"/>.</summary>
    public SiglipMlp(int width, int hidden, ClipActivation activation, Generator? generator) : base(nameof(SiglipMlp))
    {
        _activation = activation;
        fc1 = SiglipInit.Xavier(Linear(width, hidden), generator, biasStd: 1e-6);
        fc2 = SiglipInit.Xavier(Linear(hidden, width), generator, biasStd: 1e-6);
        RegisterComponents();
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => fc2.forward(Activate(fc1.forward(x), _activation));

    /// <summary><paramref name="x"/> through <paramref name="activation"/>: GELU's tanh approximation, exact GELU or QuickGELU.</summary>
    internal static Tensor Activate(Tensor x, ClipActivation activation) => activation switch
    {
        ClipActivation.GeluTanh => functional.gelu(x, global::TorchSharp.Modules.GELU.Approximate.tanh),
        ClipActivation.Gelu => functional.gelu(x),
        _ => x.mul(x.Times(1.702).sigmoid()),
    };
}

/// <summary>
/// The initialisation Hugging Face's <c>SiglipPreTrainedModel</c> gives a new model (a training start point; loading
/// weights overwrites it): Xavier-uniform projections, zero or tiny biases, normal embeddings of std 1/√width.
/// Random values come from the generator when one is given (see <see cref="ParameterInit"/>).
/// </summary>
internal static class SiglipInit
{
    /// <summary><paramref name="layer"/> with a Xavier-uniform weight and a zero (or N(0, <paramref name="biasStd"/>²)) bias.</summary>
    public static Linear Xavier(Linear layer, Generator? generator, double biasStd = 0)
    {
        ParameterInit.XavierUniform(layer.weight!, generator);
        using var _ = no_grad();
        if (biasStd > 0)
            ParameterInit.Normal(layer.bias!, biasStd, generator);
        else
            layer.bias!.zero_();
        return layer;
    }

    /// <summary>A LeCun-normal (std 1/√fan_in) weight and zero bias, as big_vision's dense and convolution layers start.</summary>
    public static T LecunNormal<T>(T layer, Tensor weight, Tensor? bias, long fanIn, Generator? generator) where T : Module
    {
        ParameterInit.Normal(weight, 1 / Math.Sqrt(fanIn), generator);
        using var _ = no_grad();
        bias?.zero_();
        return layer;
    }
}
