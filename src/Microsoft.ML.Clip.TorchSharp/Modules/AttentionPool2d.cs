using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// ModifiedResNet's head: the mean of the feature map is prepended as a query token, positional
/// embeddings added, and that token attends to all positions (<c>q_proj</c>, <c>k_proj</c>, <c>v_proj</c>,
/// output projection <c>c_proj</c>).
/// </summary>
internal sealed class AttentionPool2d : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly Parameter positional_embedding;
    private readonly Linear k_proj;
    private readonly Linear q_proj;
    private readonly Linear v_proj;
    private readonly Linear c_proj;
#pragma warning restore IDE1006
    private readonly int _heads;

    /// <summary>Creates the pool for a <paramref name="spatialDim"/>² map of <paramref name="embedDim"/> channels. Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public AttentionPool2d(int spatialDim, int embedDim, int heads, int outputDim, Generator? generator = null) : base(nameof(AttentionPool2d))
    {
        _heads = heads;
        positional_embedding = Parameter(ParameterInit.Randn(generator, spatialDim * spatialDim + 1, embedDim).DividedByInPlace(Math.Sqrt(embedDim)));
        k_proj = ParameterInit.Drawn(Linear(embedDim, embedDim), generator);
        q_proj = ParameterInit.Drawn(Linear(embedDim, embedDim), generator);
        v_proj = ParameterInit.Drawn(Linear(embedDim, embedDim), generator);
        c_proj = ParameterInit.Drawn(Linear(embedDim, outputDim), generator);
        RegisterComponents();
    }

    /// <summary>The four projections, for initialisation.</summary>
    internal IEnumerable<Linear> Projections => [q_proj, k_proj, v_proj, c_proj];

    /// <summary>Pools a feature map [N, C, H, W] into [N, outputDim].</summary>
    public override Tensor forward(Tensor x)
    {
        x = x.flatten(2).permute(0, 2, 1);                              // [N, HW, C]
        x = cat([x.mean([1], keepdim: true), x], 1);                    // [N, HW+1, C]
        x = x.Plus(positional_embedding.to(x.dtype));
        var query = q_proj.forward(x.narrow(1, 0, 1));
        var pooled = AttentionMath.Attend(query, k_proj.forward(x), v_proj.forward(x), _heads);
        return c_proj.forward(pooled).squeeze(1);
    }
}
