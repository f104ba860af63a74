using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// The trainable part of a locked-image (LiT) image tower, on the features of a frozen external encoder (run outside
/// TorchSharp, by ONNX Runtime, and passed in precomputed): a LayerNorm <c>ln_post</c> over the F features, then a linear
/// map <c>proj</c> [F, EmbedDim] without bias — the head of CLIP's own ViT (<c>visual.ln_post</c>, <c>visual.proj</c>).
/// The norm matters here: pooled CNN features are non-negative with a large shared component, which a bias-free
/// projection would carry into every embedding and so squeeze all cosine similarities together.
/// </summary>
internal sealed class ImageFeatureProjection : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the state-dict names.
    private readonly LayerNorm ln_post;
    private readonly Parameter proj;
#pragma warning restore IDE1006

    public ImageFeatureProjection(ClipConfig config, Generator? generator = null) : base("visual")
    {
        var features = config.ImageFeatureSize ?? throw new ArgumentException("An ImageFeatureProjection needs ClipConfig.ImageFeatureSize.", nameof(config));
        ln_post = LayerNorm(features, config.LayerNormEps);
        // The scale of CLIP's projections (width^-0.5): unit-variance features give embeddings of unit-order norm.
        proj = Parameter(ParameterInit.Randn(generator, features, config.EmbedDim).TimesInPlace(Math.Pow(features, -0.5)));
        RegisterComponents();
    }

    /// <summary>Projects features [N, F] to embeddings [N, EmbedDim].</summary>
    public override Tensor forward(Tensor features) => ln_post.forward(features).matmul(proj);
}
