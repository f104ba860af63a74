using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// ModifiedResNet bottleneck (expansion 4). Strides are done by an average pool after the 3×3 conv
/// (anti-aliasing) and, on the shortcut, by <c>downsample</c> = AvgPool (<c>-1</c>), 1×1 conv (<c>0</c>), BN (<c>1</c>).
/// </summary>
internal sealed class Bottleneck : Module<Tensor, Tensor>
{
    /// <summary>Output channels per input "plane".</summary>
    public const int Expansion = 4;

#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly AvgPool2d? avgpool;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly Sequential? downsample;
#pragma warning restore IDE1006

    /// <summary>Creates a block from <paramref name="inplanes"/> channels to <paramref name="planes"/> × 4. Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public Bottleneck(int inplanes, int planes, int stride = 1, Generator? generator = null) : base(nameof(Bottleneck))
    {
        conv1 = ParameterInit.Drawn(Conv2d(inplanes, planes, 1, bias: false), generator);
        bn1 = BatchNorm2d(planes);
        conv2 = ParameterInit.Drawn(Conv2d(planes, planes, 3, padding: 1, bias: false), generator);
        bn2 = BatchNorm2d(planes);
        avgpool = stride > 1 ? AvgPool2d(stride) : null;
        conv3 = ParameterInit.Drawn(Conv2d(planes, planes * Expansion, 1, bias: false), generator);
        bn3 = BatchNorm2d(planes * Expansion);
        if (stride > 1 || inplanes != planes * Expansion)
            downsample = Sequential(
                ("-1", AvgPool2d(stride)),
                ("0", ParameterInit.Drawn(Conv2d(inplanes, planes * Expansion, 1, stride: 1, bias: false), generator)),
                ("1", BatchNorm2d(planes * Expansion)));
        RegisterComponents();
    }

    /// <summary>The last BatchNorm of the residual branch (zero-initialised by CLIP's initialisation).</summary>
    internal BatchNorm2d LastNorm => bn3;

    /// <inheritdoc/>
    public override Tensor forward(Tensor x)
    {
        var identity = downsample is null ? x : downsample.forward(x);
        var output = functional.relu(bn1.forward(conv1.forward(x)));
        output = functional.relu(bn2.forward(conv2.forward(output)));
        if (avgpool is not null) output = avgpool.forward(output);
        output = bn3.forward(conv3.forward(output));
        return functional.relu(output.Plus(identity));
    }
}
