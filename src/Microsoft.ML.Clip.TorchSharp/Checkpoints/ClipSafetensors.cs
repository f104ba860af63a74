using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// CLIP weights as safetensors under openai/CLIP key names, with the architecture in
/// <c>clip_config.json</c> beside them. Unlike the Hugging Face format this holds any CLIP,
/// ModifiedResNet vision towers included. <see cref="HuggingFaceClip.Load"/> reads both layouts.
/// </summary>
public static class ClipSafetensors
{
    /// <summary>
    /// Writes <c>model.safetensors</c> (OpenAI names, dtypes kept: float16 stays float16) and
    /// <c>clip_config.json</c> into <paramref name="folder"/>.
    /// </summary>
    /// <param name="folder">The folder to write (created when missing; files are overwritten).</param>
    /// <param name="config">The architecture.</param>
    /// <param name="stateDict">OpenAI-named tensors.</param>
    /// <exception cref="InvalidDataException">The state dict does not match the config (every problem listed).</exception>
    public static void Save(string folder, ClipConfig config, IReadOnlyDictionary<string, Tensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        ClipStateDictLayout.Validate(config, stateDict, "state dict to save");
        Directory.CreateDirectory(folder);
        SafetensorsWriter.Write(Path.Combine(folder, HuggingFaceClip.WeightsFileName), stateDict,
            new Dictionary<string, string> { ["clip_key_names"] = "openai" });
        ClipConfigJson.Save(config, Path.Combine(folder, ClipConfigJson.FileName));
    }

    /// <summary>Loads a folder or <c>.safetensors</c> file written by <see cref="Save"/> (same as <see cref="HuggingFaceClip.Load"/>).</summary>
    public static ClipWeights Load(string safetensorsFileOrFolder) => HuggingFaceClip.Load(safetensorsFileOrFolder);

    internal static ClipWeights FromOpenAINames(IReadOnlyDictionary<string, Tensor> tensors, string folder, string weightsPath)
    {
        var configPath = HuggingFaceClip.FindBeside(weightsPath, folder, ClipConfigJson.FileName, "OpenAI");
        var config = ClipConfigJson.Load(configPath);
        ClipStateDictLayout.Validate(config, tensors, $"'{weightsPath}'");
        var stateDict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
            stateDict[name] = tensor.is_floating_point() ? tensor.to(ScalarType.Float32).clone() : tensor.clone();
        if (stateDict["logit_scale"].numel() == 1 && stateDict["logit_scale"].dim() != 0)
        {
            var scalar = stateDict["logit_scale"].reshape([]).clone();
            stateDict["logit_scale"].Dispose();
            stateDict["logit_scale"] = scalar;
        }
        return new ClipWeights(config, stateDict, stateDict["logit_scale"].item<float>());
    }
}
