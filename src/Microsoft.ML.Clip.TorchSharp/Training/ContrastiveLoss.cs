using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The two contrastive losses over a batch of N matching (image, text) pairs, computed on raw (unnormalised)
/// embeddings: both sides are L2-normalised here, so the same code serves the plain and the gradient-cached step.
/// </summary>
internal static class ContrastiveLoss
{
    /// <summary>Initial temperature of InfoNCE (natural log): ln(1/0.07), as the reference.</summary>
    public static readonly double InfoNceInitialLogitScale = Math.Log(1 / 0.07);

    /// <summary>Initial temperature of the sigmoid loss (natural log): ln 10.</summary>
    public static readonly double SigmoidInitialLogitScale = Math.Log(10);

    /// <summary>Initial bias of the sigmoid loss.</summary>
    public const double SigmoidInitialBias = -10;

    /// <summary>Largest temperature (natural log): exp(t) is clamped to 100, as the reference does after each step.</summary>
    public static readonly double MaxLogitScale = Math.Log(100);

    /// <summary>
    /// Symmetric InfoNCE: <c>logits = exp(t)·norm(I)·norm(T)ᵀ</c>, loss = (CE(logits, diag) + CE(logitsᵀ, diag)) / 2.
    /// </summary>
    /// <param name="imageFeatures">Image embeddings [N, D].</param>
    /// <param name="textFeatures">Text embeddings [N, D]; row i matches image row i.</param>
    /// <param name="logitScale">The log temperature t (a scalar).</param>
    /// <returns>The scalar loss.</returns>
    public static Tensor InfoNce(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale)
    {
        CheckPairs(imageFeatures, textFeatures);
        using var scope = NewDisposeScope();
        var logits = Similarities(imageFeatures, textFeatures, logitScale);
        var labels = KeptScalars.Range(logits.shape[0], ScalarType.Int64, logits.device);
        var loss = functional.cross_entropy(logits, labels).Plus(functional.cross_entropy(logits.t(), labels)).DividedBy(2);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// SigLIP's sigmoid loss: <c>logits = exp(t)·norm(I)·norm(T)ᵀ + b</c>, labels +1 on the diagonal and −1 elsewhere,
    /// loss = −Σ log σ(label·logit) / N.
    /// </summary>
    /// <param name="imageFeatures">Image embeddings [N, D].</param>
    /// <param name="textFeatures">Text embeddings [N, D]; row i matches image row i.</param>
    /// <param name="logitScale">The log temperature t (a scalar).</param>
    /// <param name="bias">The learnable bias b (a scalar).</param>
    /// <returns>The scalar loss.</returns>
    public static Tensor Sigmoid(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, Tensor bias)
    {
        CheckPairs(imageFeatures, textFeatures);
        ArgumentNullException.ThrowIfNull(bias);
        using var scope = NewDisposeScope();
        var logits = Similarities(imageFeatures, textFeatures, logitScale).Plus(bias);
        var n = logits.shape[0];
        var labels = eye(n, dtype: logits.dtype, device: logits.device).Times(2).Minus(1);
        var loss = functional.logsigmoid(labels.mul(logits)).sum().neg().DividedBy(n);
        return loss.MoveToOuterDisposeScope();
    }

    /// <summary>The loss of <paramref name="kind"/>; <paramref name="bias"/> is used by <see cref="ClipLossKind.Sigmoid"/> only.</summary>
    public static Tensor Compute(ClipLossKind kind, Tensor imageFeatures, Tensor textFeatures, Tensor logitScale, Tensor? bias) => kind switch
    {
        ClipLossKind.InfoNce => InfoNce(imageFeatures, textFeatures, logitScale),
        ClipLossKind.Sigmoid => Sigmoid(imageFeatures, textFeatures, logitScale,
            bias ?? throw new ArgumentNullException(nameof(bias), "The sigmoid loss needs its bias parameter.")),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown loss."),
    };

    /// <summary>Clamps the log temperature in place to [0, ln 100], as the reference does after every optimiser step.</summary>
    public static void ClampLogitScale(Tensor logitScale)
    {
        ArgumentNullException.ThrowIfNull(logitScale);
        using var _ = no_grad();
        logitScale.ClampInPlace(0, MaxLogitScale);
    }

    private static Tensor Similarities(Tensor imageFeatures, Tensor textFeatures, Tensor logitScale)
    {
        ArgumentNullException.ThrowIfNull(logitScale);
        return ClipTorchModel.ScaledCosines(imageFeatures, textFeatures, logitScale);
    }

    private static void CheckPairs(Tensor imageFeatures, Tensor textFeatures)
    {
        ArgumentNullException.ThrowIfNull(imageFeatures);
        ArgumentNullException.ThrowIfNull(textFeatures);
        if (imageFeatures.dim() != 2 || textFeatures.dim() != 2 || !imageFeatures.shape.SequenceEqual(textFeatures.shape))
            throw new ArgumentException(
                $"Image and text features must both be [N, D] with the same shape, got [{string.Join(", ", imageFeatures.shape)}] and [{string.Join(", ", textFeatures.shape)}].",
                nameof(textFeatures));
    }
}
