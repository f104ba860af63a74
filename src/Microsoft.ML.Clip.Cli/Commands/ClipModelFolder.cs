using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// The <c>--model</c> argument as an exported ONNX folder: used as is when it holds <c>clip_model.json</c>,
/// otherwise the checkpoint (<c>.pt</c>, <c>.safetensors</c>, Hugging Face folder, <c>model.clipmodel</c>) is converted
/// by <see cref="ClipModelConverter"/> (no libtorch) into a temporary folder (<c>clip-onnx-&lt;owner token&gt;-…</c> in the
/// temp folder) that is deleted on dispose, at exit and on Ctrl-C or SIGTERM (<see cref="TemporaryPaths"/>); one left by a
/// killed run is removed by the next run once its process provably no longer runs.
/// </summary>
internal sealed class ClipModelFolder : IDisposable
{
    /// <summary>Prefix of the temporary folders' names.</summary>
    public const string TemporaryPrefix = "clip-onnx-";

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
        if (Directory.Exists(model) && !Directory.EnumerateFiles(model, "*.safetensors").Any())
            throw new FileNotFoundException(
                $"Model folder '{model}' holds no {ClipModelInfo.FileName} (an exported ONNX model) and no .safetensors weights (a Hugging Face or OpenAI-named checkpoint): it is not a model folder.",
                System.IO.Path.Combine(model, ClipModelInfo.FileName));
        // Conversions of killed runs: the folders, and the staging folders and lock files the converter made beside them.
        TemporaryPaths.SweepAbandoned(System.IO.Path.GetTempPath(), TemporaryPrefix);
        TemporaryPaths.SweepAbandoned(System.IO.Path.GetTempPath(), "." + TemporaryPrefix);
        // Not created here: the converter builds it beside its name and renames it into place.
        var temp = System.IO.Path.Combine(System.IO.Path.GetTempPath(), TemporaryPaths.NewName(TemporaryPrefix));
        TemporaryPaths.Register(temp);
        try
        {
            ClipModelConverter.ConvertToOnnx(model, temp, new ClipConversionOptions { Activation = activation });
            return new ClipModelFolder(temp, temporary: true);
        }
        catch
        {
            TemporaryPaths.Delete(temp);
            throw;
        }
    }

    public void Dispose()
    {
        if (_temporary)
            TemporaryPaths.Delete(Path);
    }
}
