using Microsoft.ML.Clip.TorchSharp.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// An imported checkpoint: its architecture, its state dict under OpenAI key names (floating tensors
/// in float32, on the CPU) and the learned temperature <c>logit_scale</c> (natural log, as stored).
/// Deconstructs as <c>var (config, stateDict, logitScale) = ...</c>.
/// </summary>
/// <param name="Config">The architecture.</param>
/// <param name="StateDict">OpenAI-named tensors (including <c>logit_scale</c>).</param>
/// <param name="LogitScale">The stored <c>logit_scale</c>; logits use <c>exp(LogitScale)</c>.</param>
public sealed record ClipWeights(ClipConfig Config, IReadOnlyDictionary<string, Tensor> StateDict, float LogitScale) : IDisposable
{
    /// <summary>
    /// Loads any supported checkpoint: a safetensors file or folder (Hugging Face or OpenAI names, see
    /// <see cref="HuggingFaceClip.Load"/>) or a PyTorch <c>.pt</c> file (see <see cref="ClipCheckpoint.Load"/>).
    /// Floating tensors come back as float32.
    /// </summary>
    /// <param name="path">The checkpoint file or folder.</param>
    /// <param name="activation">For <c>.pt</c> files, whose weights cannot tell: the MLP activation (OpenAI: QuickGELU).</param>
    public static ClipWeights Load(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return HuggingFaceClip.Load(path);
        using var checkpoint = ClipCheckpoint.Load(path, activation);
        var stateDict = checkpoint.StateDict.ToDictionary(
            kv => kv.Key,
            kv => kv.Value.is_floating_point() ? kv.Value.to(ScalarType.Float32).clone() : kv.Value.clone(),
            StringComparer.Ordinal);
        return new ClipWeights(checkpoint.Config, stateDict, stateDict["logit_scale"].item<float>());
    }

    /// <summary>Disposes every tensor of <see cref="StateDict"/>.</summary>
    public void Dispose()
    {
        foreach (var tensor in StateDict.Values)
            tensor.Dispose();
    }
}
