namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// A checkpoint as plain data: its architecture, its state dict under OpenAI key names (Hugging Face's for a SigLIP,
/// whose own names they are) and the learned temperature <c>logit_scale</c> (natural log, as stored). What every reader
/// gives and the exporters take; the TorchSharp package's <c>ClipWeights</c> is the same thing as tensors.
/// </summary>
/// <param name="Config">The architecture.</param>
/// <param name="StateDict">The model's tensors (including <c>logit_scale</c>, and <c>logit_bias</c> for a SigLIP), in the dtype the reader says.</param>
/// <param name="LogitScale">The stored <c>logit_scale</c>; logits use <c>exp(LogitScale)</c>.</param>
// friend: used by Microsoft.ML.Clip.TorchSharp (ClipWeights and ClipTorchModel.FromCheckpoint load through it; the
// trainer reads a checkpoint's architecture with ReadConfig)
internal sealed record CheckpointWeights(ClipConfig Config, IReadOnlyDictionary<string, StateTensor> StateDict, float LogitScale)
{
    /// <summary>The learned bias of a SigLIP (its state dict's <c>logit_bias</c>); null for a CLIP.</summary>
    public float? LogitBias => Config.IsSiglip && StateDict.TryGetValue("logit_bias", out var bias) ? bias.SingleValue() : null;

    /// <summary>The tokenizer file a SigLIP folder brings; null for CLIP's built-in BPE (or a folder without one).</summary>
    public CheckpointTokenizer? Tokenizer { get; init; }

    /// <summary>The image preprocessing the checkpoint records (a SigLIP's <c>preprocessor_config.json</c>); null for the family's default.</summary>
    public Imaging.ClipPreprocessSettings? Preprocess { get; init; }

    /// <summary>
    /// Reads any supported checkpoint: a Hugging Face SigLIP folder (see <see cref="HuggingFaceSiglip.Load"/>), a
    /// safetensors file or folder (Hugging Face or OpenAI names, see <see cref="HuggingFaceClip.Load"/>) or a PyTorch
    /// <c>.pt</c> file (see <see cref="PyTorchCheckpoint.Load"/>). Tensors come in the dtype the reader gives: Hugging
    /// Face CLIP weights as float32, the others as stored.
    /// </summary>
    /// <param name="path">The checkpoint file or folder.</param>
    /// <param name="activation">For <c>.pt</c> files, whose weights cannot tell: the MLP activation (OpenAI: QuickGELU).</param>
    public static CheckpointWeights Load(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (HuggingFaceSiglip.IsSiglip(path))
            return HuggingFaceSiglip.Load(path);
        return Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)
            ? HuggingFaceClip.Load(path)
            : PyTorchCheckpoint.Load(path, activation);
    }

    /// <summary>
    /// The architecture of the checkpoint at <paramref name="path"/>, read without its tensor data: a file of the trainer
    /// gives its JSON header; safetensors their header (to tell Hugging Face from OpenAI names) and the config file
    /// beside them; a PyTorch archive the shapes in its pickle. A checkpoint whose data is damaged therefore still tells
    /// it; loading it then fails, naming the file.
    /// </summary>
    /// <inheritdoc cref="Load"/>
    public static ClipConfig ReadConfig(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (File.Exists(path) && ClipPackageFile.IsPackageFile(path))
            return ClipPackageFile.ReadHeader(path).Config;
        if (HuggingFaceSiglip.IsSiglip(path))
            return HuggingFaceSiglip.ReadConfig(path);
        if (Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return HuggingFaceClip.ReadConfig(path);
        return PyTorchCheckpoint.ReadConfig(path, activation);
    }

    /// <summary>The same weights with every floating tensor in float32 (integer tensors such as BatchNorm counters as they are).</summary>
    public CheckpointWeights WithFloat32() => this with
    {
        StateDict = StateDict.ToDictionary(kv => kv.Key, kv => kv.Value.IsFloatingPoint ? kv.Value.ToFloat32() : kv.Value, StringComparer.Ordinal),
    };
}
