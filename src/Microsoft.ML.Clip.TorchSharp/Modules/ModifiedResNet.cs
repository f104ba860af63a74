using Microsoft.ML.Clip.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// CLIP's ResNet image tower: a three-conv stem with an average pool instead of a max pool,
/// four stages of <see cref="Bottleneck"/>s with anti-aliased strides, and an <see cref="AttentionPool2d"/> head.
/// </summary>
internal sealed class ModifiedResNet : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly Conv2d conv1;
    private readonly BatchNorm2d bn1;
    private readonly Conv2d conv2;
    private readonly BatchNorm2d bn2;
    private readonly Conv2d conv3;
    private readonly BatchNorm2d bn3;
    private readonly AvgPool2d avgpool;
    private readonly Sequential layer1;
    private readonly Sequential layer2;
    private readonly Sequential layer3;
    private readonly Sequential layer4;
    private readonly AttentionPool2d attnpool;
#pragma warning restore IDE1006

    /// <summary>Creates the tower described by <paramref name="config"/> (a ResNet config). Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public ModifiedResNet(ClipConfig config, Generator? generator = null) : base(nameof(ModifiedResNet))
    {
        var width = config.VisionWidth;
        var layers = config.VisionLayers;
        conv1 = ParameterInit.Drawn(Conv2d(3, width / 2, 3, stride: 2, padding: 1, bias: false), generator);
        bn1 = BatchNorm2d(width / 2);
        conv2 = ParameterInit.Drawn(Conv2d(width / 2, width / 2, 3, padding: 1, bias: false), generator);
        bn2 = BatchNorm2d(width / 2);
        conv3 = ParameterInit.Drawn(Conv2d(width / 2, width, 3, padding: 1, bias: false), generator);
        bn3 = BatchNorm2d(width);
        avgpool = AvgPool2d(2);

        var inplanes = width;
        Sequential Stage(int planes, int blocks, int stride)
        {
            var modules = new List<(string, Module<Tensor, Tensor>)> { ("0", new Bottleneck(inplanes, planes, stride, generator)) };
            inplanes = planes * Bottleneck.Expansion;
            for (var i = 1; i < blocks; i++) modules.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), new Bottleneck(inplanes, planes, generator: generator)));
            return Sequential(modules.ToArray());
        }
        layer1 = Stage(width, layers[0], 1);
        layer2 = Stage(width * 2, layers[1], 2);
        layer3 = Stage(width * 4, layers[2], 2);
        layer4 = Stage(width * 8, layers[3], 2);

        var embedDim = width * 32; // the ResNet feature width
        attnpool = new AttentionPool2d(config.ImageResolution / 32, embedDim, config.VisionHeads, config.EmbedDim, generator);
        RegisterComponents();
        InitializeParameters(generator);
    }

    /// <summary>Image embeddings [N, EmbedDim] of normalised images [N, 3, R, R].</summary>
    public override Tensor forward(Tensor images)
    {
        var x = functional.relu(bn1.forward(conv1.forward(images)));
        x = functional.relu(bn2.forward(conv2.forward(x)));
        x = functional.relu(bn3.forward(conv3.forward(x)));
        x = avgpool.forward(x);
        x = layer4.forward(layer3.forward(layer2.forward(layer1.forward(x))));
        return attnpool.forward(x);
    }

    // The reference initialisation: attention-pool projections ~ N(0, 1/√C), and the last BN of every
    // residual branch zeroed so each block starts as the identity.
    private void InitializeParameters(Generator? generator)
    {
        using var _ = no_grad();
        foreach (var linear in attnpool.Projections)
            ParameterInit.Normal(linear.weight!, Math.Pow(linear.weight!.shape[1], -0.5), generator);
        foreach (var stage in new[] { layer1, layer2, layer3, layer4 })
            foreach (var block in stage.children().OfType<Bottleneck>())
                init.zeros_(block.LastNorm.weight!);
    }
}
