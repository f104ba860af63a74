namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// CLIP weights as safetensors under openai/CLIP key names, with the architecture in
/// <c>clip_config.json</c> beside them. Unlike the Hugging Face format this holds any CLIP,
/// ModifiedResNet vision towers included. <see cref="HuggingFaceClip.Load"/> reads both layouts.
/// </summary>
internal static class ClipSafetensors
{
    /// <summary>
    /// Writes <c>model.safetensors</c> (OpenAI names, dtypes kept: float16 stays float16) and
    /// <c>clip_config.json</c> into <paramref name="folder"/>.
    /// </summary>
    /// <param name="folder">The folder to write (created when missing; files are overwritten).</param>
    /// <param name="config">The architecture.</param>
    /// <param name="stateDict">OpenAI-named tensors.</param>
    /// <exception cref="InvalidDataException">The state dict does not match the config (every problem listed).</exception>
    public static void Save(string folder, ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict)
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
    public static CheckpointWeights Load(string safetensorsFileOrFolder) => HuggingFaceClip.Load(safetensorsFileOrFolder);

    /// <summary>The weights of an OpenAI-named file, in their stored dtypes; a <c>logit_scale</c> of shape [1] becomes 0-d.</summary>
    internal static CheckpointWeights FromOpenAINames(Dictionary<string, StateTensor> tensors, string folder, string weightsPath)
    {
        var configPath = HuggingFaceClip.FindBeside(weightsPath, folder, ClipConfigJson.FileName, "OpenAI");
        var config = ClipConfigJson.Load(configPath);
        ClipStateDictLayout.Validate(config, tensors, $"'{weightsPath}'");
        var logitScale = tensors["logit_scale"];
        if (logitScale.Rank != 0)
            tensors["logit_scale"] = logitScale = logitScale.Reshape();
        return new CheckpointWeights(config, tensors, logitScale.SingleValue());
    }
}
