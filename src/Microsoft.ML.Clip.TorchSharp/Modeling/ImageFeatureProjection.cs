using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modeling;

/// <summary>
/// The trainable part of a locked-image (LiT) image tower: a linear map <c>proj</c> [F, EmbedDim] (no bias, like
/// CLIP's own <c>visual.proj</c>) from the features of a frozen external encoder, which run outside TorchSharp
/// (ONNX Runtime) and reach this module precomputed.
/// </summary>
internal sealed class ImageFeatureProjection : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the state-dict names.
    private readonly Parameter proj;
#pragma warning restore IDE1006

    public ImageFeatureProjection(ClipConfig config) : base("visual")
    {
        var features = config.ImageFeatureSize ?? throw new ArgumentException("An ImageFeatureProjection needs ClipConfig.ImageFeatureSize.", nameof(config));
        // The scale of CLIP's projections (width^-0.5): unit-variance features give embeddings of unit-order norm.
        proj = Parameter(randn(features, config.EmbedDim).mul_(Math.Pow(features, -0.5)));
        RegisterComponents();
    }

    /// <summary>Projects features [N, F] to embeddings [N, EmbedDim].</summary>
    public override Tensor forward(Tensor features) => features.matmul(proj);
}
