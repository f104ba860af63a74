namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// A checkpoint as plain data: its architecture, its state dict under OpenAI key names and the learned temperature
/// <c>logit_scale</c> (natural log, as stored). What every reader gives and the exporters take; the TorchSharp
/// package's <c>ClipWeights</c> is the same thing as tensors.
/// </summary>
/// <param name="Config">The architecture.</param>
/// <param name="StateDict">OpenAI-named tensors (including <c>logit_scale</c>), in the dtype the reader says.</param>
/// <param name="LogitScale">The stored <c>logit_scale</c>; logits use <c>exp(LogitScale)</c>.</param>
/// <remarks>Friend: used by Microsoft.ML.Clip.TorchSharp.</remarks>
internal sealed record CheckpointWeights(ClipConfig Config, IReadOnlyDictionary<string, StateTensor> StateDict, float LogitScale)
{
    /// <summary>
    /// Reads any supported checkpoint: a safetensors file or folder (Hugging Face or OpenAI names, see
    /// <see cref="HuggingFaceClip.Load"/>) or a PyTorch <c>.pt</c> file (see <see cref="PyTorchCheckpoint.Load"/>).
    /// Tensors come in the dtype the reader gives: Hugging Face weights as float32, the others as stored.
    /// </summary>
    /// <param name="path">The checkpoint file or folder.</param>
    /// <param name="activation">For <c>.pt</c> files, whose weights cannot tell: the MLP activation (OpenAI: QuickGELU).</param>
    public static CheckpointWeights Load(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? HuggingFaceClip.Load(path)
            : PyTorchCheckpoint.Load(path, activation);
    }

    /// <summary>The same weights with every floating tensor in float32 (integer tensors such as BatchNorm counters as they are).</summary>
    public CheckpointWeights WithFloat32() => this with
    {
        StateDict = StateDict.ToDictionary(kv => kv.Key, kv => kv.Value.IsFloatingPoint ? kv.Value.ToFloat32() : kv.Value, StringComparer.Ordinal),
    };
}
