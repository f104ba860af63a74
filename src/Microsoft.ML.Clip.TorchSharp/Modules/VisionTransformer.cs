using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// CLIP's ViT image tower: patch embedding (<c>conv1</c>, no bias), class token, positional embedding,
/// <c>ln_pre</c>, transformer, <c>ln_post</c> on the class token, projection <c>proj</c> to the embedding.
/// </summary>
internal sealed class VisionTransformer : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly Conv2d conv1;
    private readonly Parameter class_embedding;
    private readonly Parameter positional_embedding;
    private readonly LayerNorm ln_pre;
    private readonly ResidualAttentionStack transformer;
    private readonly LayerNorm ln_post;
    private readonly Parameter proj;
#pragma warning restore IDE1006
    private readonly int _width;

    /// <summary>Creates the tower described by <paramref name="config"/> (a ViT config). Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public VisionTransformer(ClipConfig config, Generator? generator = null) : base(nameof(VisionTransformer))
    {
        var patch = config.VisionPatchSize ?? throw new ArgumentException("A VisionTransformer needs ClipConfig.VisionPatchSize.", nameof(config));
        var width = _width = config.VisionWidth;
        var grid = config.ImageResolution / patch;
        var scale = Math.Pow(width, -0.5);
        conv1 = ParameterInit.Drawn(Conv2d(3, width, kernel_size: patch, stride: patch, bias: false), generator);
        class_embedding = Parameter(ParameterInit.Randn(generator, width).TimesInPlace(scale));
        positional_embedding = Parameter(ParameterInit.Randn(generator, grid * grid + 1, width).TimesInPlace(scale));
        ln_pre = LayerNorm(width, config.LayerNormEps);
        transformer = new ResidualAttentionStack(width, config.VisionLayers[0], config.VisionHeads, config.Activation, config.LayerNormEps, generator);
        ln_post = LayerNorm(width, config.LayerNormEps);
        proj = Parameter(ParameterInit.Randn(generator, width, config.EmbedDim).TimesInPlace(scale));
        RegisterComponents();
    }

    /// <summary>Image embeddings [N, EmbedDim] of normalised images [N, 3, R, R].</summary>
    public override Tensor forward(Tensor images)
    {
        var x = conv1.forward(images);                                  // [N, W, g, g]
        var n = x.shape[0];
        x = x.reshape(n, _width, -1).permute(0, 2, 1);                  // [N, g², W]
        var cls = class_embedding.to(x.dtype).expand(n, 1, _width);
        x = cat([cls, x], 1).Plus(positional_embedding.to(x.dtype));     // [N, g²+1, W]
        x = ln_pre.forward(x);
        x = transformer.forward(x, null);
        x = ln_post.forward(x.select(1, 0));
        return x.matmul(proj);
    }
}
