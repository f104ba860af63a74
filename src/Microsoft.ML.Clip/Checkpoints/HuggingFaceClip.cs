namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Imports and exports CLIP weights in Hugging Face <c>transformers</c> <c>CLIPModel</c> format
/// (<c>model.safetensors</c> + <c>config.json</c>). The in-memory currency is an openai/CLIP state dict:
/// imported tensors are renamed to OpenAI keys and converted to float32.
/// </summary>
internal static class HuggingFaceClip
{
    /// <summary>File name of the weights in a Hugging Face or OpenAI-named safetensors folder.</summary>
    public const string WeightsFileName = "model.safetensors";

    /// <summary>
    /// Loads a safetensors checkpoint: a folder holding <c>model.safetensors</c>, or a <c>.safetensors</c>
    /// file. Hugging Face names need <c>config.json</c> beside the weights; OpenAI names (as written by
    /// <see cref="ClipSafetensors.Save"/>, e.g. for ResNet models) need <c>clip_config.json</c>.
    /// Hugging Face weights come back as float32 (float16/bfloat16 files included), OpenAI-named ones in their stored
    /// dtype; Hugging Face <c>position_ids</c> are ignored.
    /// </summary>
    /// <param name="safetensorsFileOrFolder">The file or folder.</param>
    /// <returns>Config, OpenAI-named state dict and logit scale.</returns>
    /// <exception cref="FileNotFoundException">The weights or the config beside them are missing.</exception>
    /// <exception cref="InvalidDataException">The file is damaged, or keys/shapes do not match the config (all listed).</exception>
    public static CheckpointWeights Load(string safetensorsFileOrFolder)
    {
        var (weightsPath, folder) = ResolveWeights(safetensorsFileOrFolder);
        var tensors = SafetensorsReader.Read(weightsPath);
        if (!HuggingFaceClipNames.LooksLikeHuggingFace(tensors.Keys))
            return ClipSafetensors.FromOpenAINames(tensors, folder, weightsPath);

        var configPath = FindBeside(weightsPath, folder, HuggingFaceClipConfig.FileName, "Hugging Face");
        var (config, _) = HuggingFaceClipConfig.Load(configPath);
        var stateDict = HuggingFaceClipNames.ToOpenAI(config, tensors, weightsPath);
        return new CheckpointWeights(config, stateDict, stateDict["logit_scale"].SingleValue());
    }

    /// <summary>The architecture of a safetensors checkpoint from its header (Hugging Face or OpenAI names) and the config beside it.</summary>
    /// <inheritdoc cref="Load" path="/exception"/>
    public static ClipConfig ReadConfig(string safetensorsFileOrFolder)
    {
        var (weightsPath, folder) = ResolveWeights(safetensorsFileOrFolder);
        var names = SafetensorsReader.ReadHeader(weightsPath).Entries.Select(e => e.Name).ToList();
        return HuggingFaceClipNames.LooksLikeHuggingFace(names)
            ? HuggingFaceClipConfig.Load(FindBeside(weightsPath, folder, HuggingFaceClipConfig.FileName, "Hugging Face")).Config
            : ClipConfigJson.Load(FindBeside(weightsPath, folder, ClipConfigJson.FileName, "OpenAI"));
    }

    /// <summary>
    /// Writes <paramref name="stateDict"/> (OpenAI names, float16 or float32) as a Hugging Face
    /// <c>CLIPModel</c> folder: <c>model.safetensors</c> (float32, with the <c>position_ids</c> buffers)
    /// and <c>config.json</c>. The logit scale is the state dict's <c>logit_scale</c>.
    /// </summary>
    /// <param name="folder">The folder to write (created when missing; files are overwritten).</param>
    /// <param name="config">The architecture; must have a ViT vision tower.</param>
    /// <param name="stateDict">OpenAI-named tensors.</param>
    /// <exception cref="NotSupportedException">The model has a ModifiedResNet vision tower (use <see cref="ClipSafetensors.Save"/>).</exception>
    /// <exception cref="InvalidDataException">The state dict does not match the config (every problem listed).</exception>
    public static void Save(string folder, ClipConfig config, IReadOnlyDictionary<string, StateTensor> stateDict)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(stateDict);
        HuggingFaceClipConfig.RequireVisionTransformer(config);
        ClipStateDictLayout.Validate(config, stateDict, "state dict to save");
        Directory.CreateDirectory(folder);
        var hf = HuggingFaceClipNames.FromOpenAI(config, stateDict);
        var logitScale = hf["logit_scale"].SingleValue();
        SafetensorsWriter.Write(Path.Combine(folder, WeightsFileName), hf);
        File.WriteAllText(Path.Combine(folder, HuggingFaceClipConfig.FileName), HuggingFaceClipConfig.Serialize(config, logitScale));
    }

    /// <summary>
    /// The config beside a weights file: <c>&lt;stem&gt;.&lt;fileName&gt;</c> (e.g. <c>vit.hf.config.json</c> for
    /// <c>vit.hf.safetensors</c>) when present, else <c>fileName</c> in the same folder.
    /// </summary>
    internal static string FindBeside(string weightsPath, string folder, string fileName, string kind)
    {
        var stem = Path.GetFileNameWithoutExtension(weightsPath);
        var specific = Path.Combine(folder, stem + "." + fileName);
        if (File.Exists(specific))
            return specific;
        var shared = Path.Combine(folder, fileName);
        if (File.Exists(shared))
            return shared;
        throw new FileNotFoundException($"'{weightsPath}' holds {kind}-named CLIP weights but there is no {fileName} (or {stem}.{fileName}) beside it.", shared);
    }

    /// <summary>The weights file and the folder where its config is looked for.</summary>
    internal static (string WeightsPath, string Folder) ResolveWeights(string fileOrFolder)
    {
        ArgumentException.ThrowIfNullOrEmpty(fileOrFolder);
        if (Directory.Exists(fileOrFolder))
        {
            var weights = Path.Combine(fileOrFolder, WeightsFileName);
            if (!File.Exists(weights))
                throw new FileNotFoundException($"The folder '{fileOrFolder}' has no {WeightsFileName}.", weights);
            return (weights, fileOrFolder);
        }
        if (!File.Exists(fileOrFolder))
            throw new FileNotFoundException($"The safetensors file or folder '{fileOrFolder}' does not exist.", fileOrFolder);
        return (fileOrFolder, Path.GetDirectoryName(Path.GetFullPath(fileOrFolder))!);
    }
}
