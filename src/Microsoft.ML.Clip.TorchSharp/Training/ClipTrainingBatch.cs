using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// One training batch: preprocessed images [B, 3, R, R] (or a frozen image encoder's features [B, F]) and token ids
/// [B, L] (int64; or a frozen text encoder's features [B, F]), row i matching row i.
/// </summary>
internal sealed class ClipTrainingBatch(Tensor images, Tensor tokens) : IDisposable
{
    public Tensor Images { get; } = images;

    public Tensor Tokens { get; } = tokens;

    public long Count => Images.shape[0];

    public void Dispose()
    {
        Images.Dispose();
        Tokens.Dispose();
    }
}

/// <summary>Where training batches come from: an epoch is a seeded, reproducible order of the rows.</summary>
internal interface IClipBatchSource
{
    /// <summary>Number of rows (pairs) in the data.</summary>
    long RowCount { get; }

    /// <summary>
    /// A SHA-256 of what the rows hold (texts, image paths or bytes), recorded in checkpoints so that a resumed run refuses
    /// other data of the same size; null when the source cannot tell.
    /// </summary>
    string? DataFingerprint => null;

    /// <summary>
    /// The full batches of <paramref name="epoch"/> (the last partial batch is dropped, as the reference does),
    /// starting after the first <paramref name="skipBatches"/> of them; the same epoch always gives the same batches.
    /// </summary>
    IEnumerable<ClipTrainingBatch> ReadEpoch(int epoch, int batchSize, long skipBatches, CancellationToken cancellationToken);
}
