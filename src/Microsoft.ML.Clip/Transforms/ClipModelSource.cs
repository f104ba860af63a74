using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>
/// Where an estimator gets its model: a caller-owned <see cref="ClipModel"/>, or a folder loaded for the
/// duration of one use and disposed again (the fitted pipeline keeps only ONNX bytes, never the sessions).
/// </summary>
internal sealed class ClipModelSource
{
    private readonly ClipModel? _model;
    private readonly string? _folder;
    private readonly ClipModelOptions? _options;

    public ClipModelSource(ClipModel model) => _model = model ?? throw new ArgumentNullException(nameof(model));

    public ClipModelSource(string folder, ClipModelOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        _folder = folder;
        _options = options;
    }

    /// <summary>The model folder (the loaded model's, or the one given).</summary>
    public string Folder => _model?.Folder ?? _folder!;

    /// <summary>The model description; for a folder, read from its JSON without creating sessions.</summary>
    public ClipModelInfo Info()
        => _model?.Info ?? ClipModelInfo.Load(Path.Combine(_folder!, ClipModelInfo.FileName));

    public T Use<T>(Func<ClipModel, T> action)
    {
        if (_model != null)
            return action(_model);
        using var model = ClipModel.Load(_folder!, _options);
        return action(model);
    }
}
