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
    /// <summary>Disposes every tensor of <see cref="StateDict"/>.</summary>
    public void Dispose()
    {
        foreach (var tensor in StateDict.Values)
            tensor.Dispose();
    }
}
