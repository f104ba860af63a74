using Microsoft.ML.Clip.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// An imported checkpoint as TorchSharp tensors: its architecture, its state dict under OpenAI key names (floating
/// tensors in float32, on the CPU) and the learned temperature <c>logit_scale</c> (natural log, as stored).
/// Deconstructs as <c>var (config, stateDict, logitScale) = ...</c>. For conversion to ONNX or safetensors, which needs
/// no tensors, see <see cref="ClipModelConverter"/> in the inference package.
/// </summary>
/// <param name="Config">The architecture.</param>
/// <param name="StateDict">OpenAI-named tensors (including <c>logit_scale</c>).</param>
/// <param name="LogitScale">The stored <c>logit_scale</c>; logits use <c>exp(LogitScale)</c>.</param>
public sealed record ClipWeights(ClipConfig Config, IReadOnlyDictionary<string, Tensor> StateDict, float LogitScale) : IDisposable
{
    /// <summary>
    /// Loads any supported checkpoint: a safetensors file or folder (Hugging Face names with <c>config.json</c>, or
    /// OpenAI names with <c>clip_config.json</c>, beside the weights) or a PyTorch <c>.pt</c> file (OpenAI's TorchScript
    /// releases, <c>torch.save</c> state dicts, open_clip checkpoints; read by a restricted unpickler that runs no code).
    /// Floating tensors come back as float32.
    /// </summary>
    /// <param name="path">The checkpoint file or folder.</param>
    /// <param name="activation">For <c>.pt</c> files, whose weights cannot tell: the MLP activation (OpenAI: QuickGELU).</param>
    /// <exception cref="FileNotFoundException">The checkpoint, or the config beside safetensors weights, is missing.</exception>
    /// <exception cref="InvalidDataException">The file is damaged or holds no CLIP weights (the message names it).</exception>
    /// <exception cref="UnsafePickleException">A <c>.pt</c> file asks for Python code; nothing was run.</exception>
    public static ClipWeights Load(string path, ClipActivation activation = ClipActivation.QuickGelu) =>
        FromPlain(CheckpointWeights.Load(path, activation), floatingAsFloat32: true);

    /// <summary>Plain weights as tensors (floating ones in float32 when <paramref name="floatingAsFloat32"/>, else as stored).</summary>
    internal static ClipWeights FromPlain(CheckpointWeights weights, bool floatingAsFloat32) =>
        new(weights.Config, StateTensorConversion.ToTensors(weights.StateDict, floatingAsFloat32), weights.LogitScale);

    /// <summary>Disposes every tensor of <see cref="StateDict"/>.</summary>
    public void Dispose()
    {
        foreach (var tensor in StateDict.Values)
            tensor.Dispose();
    }
}
