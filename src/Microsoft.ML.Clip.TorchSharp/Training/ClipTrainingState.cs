using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using TorchSharp.Modules;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// What a run trains and where it stands: the state the step loop (<see cref="ClipTrainingLoop"/>) advances and a
/// checkpoint (<see cref="ClipTrainingCheckpoint"/>) saves and restores. Owned, and disposed, by <see cref="ClipTrainingSession"/>.
/// </summary>
internal sealed class ClipTrainingState(ClipTorchModel model, Parameter? bias, FrozenImageEncoder? imageEncoder, ClipAdamW optimizer,
    FrozenTextEncoder? textEncoder = null)
{
    /// <summary>The model, on the training device.</summary>
    public ClipTorchModel Model { get; } = model;

    /// <summary>The sigmoid loss's learnable bias; null for InfoNCE.</summary>
    public Parameter? Bias { get; } = bias;

    /// <summary>The frozen image encoder of a locked-image run (its identity goes into checkpoints), else null.</summary>
    public FrozenImageEncoder? ImageEncoder { get; } = imageEncoder;

    /// <summary>The frozen text encoder of a locked-text run (its identity goes into checkpoints), else null.</summary>
    public FrozenTextEncoder? TextEncoder { get; } = textEncoder;

    /// <summary>AdamW over the trainable parameters (and the bias).</summary>
    public ClipAdamW Optimizer { get; } = optimizer;

    /// <summary>Steps completed. The data position is derived from it: each epoch's order depends only on (seed, epoch).</summary>
    public long Step { get; set; }

    /// <summary>The newest checkpoint written or resumed from: the last good state, named when the loss diverges.</summary>
    public string? LastCheckpoint { get; set; }

    /// <summary>Batch size and row count of the run a resumed checkpoint came from; null for a fresh run.</summary>
    public (int BatchSize, long RowCount)? ResumedFrom { get; set; }

    /// <summary>The fingerprint of the data this run trains on (<see cref="IClipBatchSource.DataFingerprint"/>), saved in checkpoints.</summary>
    public string? DataFingerprint { get; set; }

    /// <summary>The data fingerprint a resumed checkpoint recorded; null for a fresh run or an older checkpoint.</summary>
    public string? ResumedDataFingerprint { get; set; }
}
