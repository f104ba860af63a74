using Microsoft.ML.Clip.Checkpoints;

namespace Microsoft.ML.Clip.TorchSharp.Training;

internal static partial class ClipModelFactory
{
    /// <summary>
    /// The architecture of the checkpoint at <paramref name="path"/>, read without its tensor data (see
    /// <see cref="CheckpointWeights.ReadConfig"/>: a file of this package gives its JSON header, safetensors their header
    /// and the config beside them, a PyTorch archive the shapes in its pickle). A checkpoint whose data is damaged
    /// therefore still has a schema; <see cref="Create"/> then fails on it, naming the file.
    /// </summary>
    internal static ClipConfig ReadCheckpointConfig(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"Initial checkpoint '{path}' does not exist.", path);
        return CheckpointWeights.ReadConfig(path);
    }
}
