namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>The contrastive objective of <see cref="ClipTrainerEstimator"/>.</summary>
public enum ClipLossKind
{
    /// <summary>CLIP's symmetric InfoNCE: mean of the cross-entropies over rows and over columns of the scaled similarities.</summary>
    InfoNce = 0,

    /// <summary>SigLIP's pairwise sigmoid loss with a learnable bias (temperature init ln 10, bias init −10).</summary>
    Sigmoid = 1,
}
