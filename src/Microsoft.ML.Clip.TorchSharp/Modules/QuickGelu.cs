using Microsoft.ML.Clip.TorchSharp.Modeling;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>OpenAI's GELU approximation <c>x·σ(1.702x)</c>, which their released weights were trained with.</summary>
internal sealed class QuickGelu : Module<Tensor, Tensor>
{
    /// <summary>Creates the activation.</summary>
    public QuickGelu() : base(nameof(QuickGelu))
    {
    }

    /// <inheritdoc/>
    public override Tensor forward(Tensor x) => x.mul(x.Times(1.702).sigmoid());
}
