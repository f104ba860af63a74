using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// The <c>--model</c> argument as an exported ONNX folder: used as is when it holds <c>clip_model.json</c>,
/// otherwise the checkpoint (<c>.pt</c>, <c>.safetensors</c>, Hugging Face folder, <c>model.clipmodel</c>) is converted
/// by <see cref="ClipModelConverter"/> (no libtorch) into a temporary folder that is deleted on dispose.
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
            ClipModelConverter.ConvertToOnnx(model, temp, new ClipConversionOptions { Activation = activation });
            return new ClipModelFolder(temp, temporary: true);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
            throw;
        }
    }

    public void Dispose()
    {
        if (_temporary && Directory.Exists(Path))
            Directory.Delete(Path, recursive: true);
    }
}
