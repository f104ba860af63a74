using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// The trainer's files (<see cref="ClipPackageFile"/>, read and written on plain arrays in the inference package) with
/// TorchSharp tensors: each tensor is copied to plain bytes as it is written, and back into a tensor as it is read.
/// </summary>
internal static class ClipPackageTensors
{
    /// <summary>Writes <paramref name="tensors"/> (float32, int64 or uint8; any device), converting one at a time.</summary>
    /// <inheritdoc cref="ClipPackageFile.Write" path="/param"/>
    public static void Write(Stream stream, JsonObject header, IEnumerable<(string Name, Tensor Tensor)> tensors, Action<int>? afterTensor = null)
    {
        var list = tensors.ToList();
        ClipPackageFile.Write(stream, header, list.Count, list.Select(t => (t.Name, t.Tensor.ToStateTensor(t.Name))), afterTensor);
    }

    /// <summary>Reads a file written by <see cref="Write"/>; the tensors are on the CPU and owned by the caller.</summary>
    /// <exception cref="InvalidDataException">The stream is not such a file, or is truncated (the message names <paramref name="source"/>).</exception>
    public static (ClipPackageHeader Header, Dictionary<string, Tensor> Tensors) Read(Stream stream, string source)
    {
        var (header, tensors) = ClipPackageFile.Read(stream, source);
        return (header, StateTensorConversion.ToTensors(tensors, floatingAsFloat32: false));
    }
}
