using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace ClipCli.Commands;

/// <summary>
/// The <c>--model</c> argument as an exported ONNX folder: used as is when it holds <c>clip_model.json</c>,
/// otherwise the checkpoint (<c>.pt</c>, <c>.safetensors</c>, Hugging Face folder) is converted into a
/// temporary folder that is deleted on dispose.
/// </summary>
internal sealed class ClipModelFolder : IDisposable
{
    private readonly bool _temporary;

    private ClipModelFolder(string path, bool temporary)
    {
        Path = path;
        _temporary = temporary;
        Info = ClipModelInfo.Load(System.IO.Path.Combine(path, ClipModelInfo.FileName));
    }

    /// <summary>The folder holding <c>clip_model.json</c>, <c>image.onnx</c> and <c>text.onnx</c>.</summary>
    public string Path { get; }

    /// <summary>Its <c>clip_model.json</c>.</summary>
    public ClipModelInfo Info { get; }

    /// <summary>Resolves <paramref name="model"/>; throws <see cref="FileNotFoundException"/> naming it when it does not exist.</summary>
    public static ClipModelFolder Open(string model, ClipActivation activation)
    {
        if (Directory.Exists(model) && File.Exists(System.IO.Path.Combine(model, ClipModelInfo.FileName)))
            return new ClipModelFolder(model, temporary: false);
        if (!Directory.Exists(model) && !File.Exists(model))
            throw new FileNotFoundException($"Model '{model}' does not exist (expected an exported ONNX folder, a .pt checkpoint, or safetensors).", model);
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"clip-onnx-{Guid.NewGuid():N}");
        try
        {
            Convert(model, temp, activation);
            return new ClipModelFolder(temp, temporary: true);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    /// <summary>Loads a checkpoint and writes the ONNX pair and <c>clip_model.json</c> to <paramref name="outDir"/>.</summary>
    public static ClipModelInfo Convert(string checkpoint, string outDir, ClipActivation activation) => Convert(checkpoint, outDir, activation, false).Info;

    /// <summary>
    /// <see cref="Convert(string, string, ClipActivation)"/>, optionally storing the weight matrices as float16; then
    /// <c>RoundedToFloat16</c> says whether that changed any value (some weight is not float16-representable).
    /// </summary>
    public static (ClipModelInfo Info, bool RoundedToFloat16) Convert(string checkpoint, string outDir, ClipActivation activation, bool weightsAsFloat16)
    {
        // A model trained by this library (model.clipmodel) may carry a frozen image encoder that only it knows how to export.
        if (File.Exists(checkpoint) && ClipTrainerTransformer.IsSavedModel(checkpoint))
        {
            using var trained = ClipTrainerTransformer.Load(new Microsoft.ML.MLContext(), checkpoint);
            return (trained.ExportOnnx(outDir, weightsAsFloat16), weightsAsFloat16);
        }
        using var weights = ClipWeights.Load(checkpoint, activation);
        var info = ClipOnnxExporter.Export(weights.Config, weights.StateDict, weights.LogitScale, outDir,
            System.IO.Path.GetFileName(System.IO.Path.TrimEndingDirectorySeparator(checkpoint)), new ClipOnnxExportOptions { WeightsAsFloat16 = weightsAsFloat16 });
        var rounded = weightsAsFloat16 && weights.StateDict.Values.Any(t => t.dim() >= 2 && !HoldsFloat16Values(t));
        return (info, rounded);
    }

    // True when storing the tensor as float16 changes no value (float16 checkpoints, or float32 ones saved from them).
    private static bool HoldsFloat16Values(TorchSharp.torch.Tensor tensor)
    {
        if (tensor.dtype == TorchSharp.torch.ScalarType.Float16) return true;
        using var half = tensor.to(TorchSharp.torch.ScalarType.Float16);
        using var back = half.to(tensor.dtype);
        return tensor.allclose(back, rtol: 0, atol: 0);
    }

    public void Dispose()
    {
        if (_temporary && Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
