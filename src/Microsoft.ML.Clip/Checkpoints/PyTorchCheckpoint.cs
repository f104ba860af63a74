namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Reads PyTorch CLIP checkpoints: <c>torch.save</c> zip archives (an OpenAI-named state dict, open_clip's
/// <c>{"state_dict": …}</c> / <c>{"model": …}</c> checkpoints, DDP <c>module.</c> prefixes) and OpenAI's released
/// TorchScript archives, giving the weights under OpenAI's state-dict names with the architecture inferred from them.
/// Pickles are read by a restricted reader that never runs code. Tensors keep the file's dtype (often float16).
/// </summary>
internal static class PyTorchCheckpoint
{
    /// <summary>
    /// Reads the checkpoint at <paramref name="path"/> and infers its <see cref="ClipConfig"/>.
    /// </summary>
    /// <param name="path">A PyTorch <c>.pt</c>/<c>.pth</c>/<c>.bin</c> file (zip format, torch ≥ 1.6).</param>
    /// <param name="activation">MLP activation to record in the config: the weights cannot tell.
    /// OpenAI's models use <see cref="ClipActivation.QuickGelu"/>, most open_clip models <see cref="ClipActivation.Gelu"/>.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="NotSupportedException">A Hugging Face safetensors file or folder, or a pre-1.6 PyTorch file.</exception>
    /// <exception cref="InvalidDataException">A truncated, corrupt or unknown file, or weights that are not a CLIP's;
    /// the message names the file.</exception>
    /// <exception cref="UnsafePickleException">The pickle names a Python global that is not allowed (the
    /// message names it and the file); nothing was executed.</exception>
    public static CheckpointWeights Load(string path, ClipActivation activation = ClipActivation.QuickGelu)
    {
        var stateDict = ReadStateDict(path);
        var config = InferConfig(stateDict, path, activation);
        var logitScale = stateDict.TryGetValue("logit_scale", out var scale) && scale.ElementCount == 1 && scale.IsFloatingPoint
            ? scale.SingleValue()
            : throw new InvalidDataException($"'{path}' has no single-value 'logit_scale' tensor.");
        return new CheckpointWeights(config, stateDict, logitScale);
    }

    /// <summary>
    /// The architecture of <paramref name="path"/> from the names and shapes in its pickle alone: no tensor data is read,
    /// so a checkpoint whose data is damaged still tells it (loading it then fails, naming the damage).
    /// </summary>
    /// <inheritdoc cref="Load"/>
    public static ClipConfig ReadConfig(string path, ClipActivation activation = ClipActivation.QuickGelu) =>
        InferConfig(ReadStateDict(path, readData: false), path, activation);

    private static ClipConfig InferConfig(IReadOnlyDictionary<string, StateTensor> stateDict, string path, ClipActivation activation)
    {
        try
        {
            return ClipConfigInference.FromStateDict(stateDict) with { Activation = activation };
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}' does not hold CLIP weights under OpenAI's names: {e.Message}", e);
        }
    }

    /// <summary>Reads the weights of <paramref name="path"/> under OpenAI's names, without inferring a config.</summary>
    /// <param name="path">The file.</param>
    /// <param name="readData">False for names and shapes only (see <see cref="ReadConfig"/>).</param>
    /// <inheritdoc cref="Load" path="/exception"/>
    public static Dictionary<string, StateTensor> ReadStateDict(string path, bool readData = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            // Safetensors (Hugging Face or OpenAI names) take their own route: ClipCheckpointReader.Load dispatches.
            throw new NotSupportedException($"'{path}' is a safetensors checkpoint; the PyTorch reader reads .pt files. Use ClipWeights.Load or ClipModelConverter, which read both.");
        if (!File.Exists(path))
            throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);

        Span<byte> head = stackalloc byte[4];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        head = head[..read];
        if (TorchZipArchive.LooksLikeZip(head))
        {
            var content = TorchZipArchive.Read(path, readData);
            return StateDictExtraction.FromRoot(content.Root, path, content.StateNames);
        }
        if (head.Length >= 2 && head[0] == 0x80 && head[1] <= 5)
            throw new NotSupportedException($"'{path}' is in PyTorch's legacy (pre-1.6, non-zip) format; re-save it with torch.save from torch >= 1.6.");
        throw new InvalidDataException($"'{path}' is not a PyTorch checkpoint (no zip signature); it is empty, truncated or of another format.");
    }
}
