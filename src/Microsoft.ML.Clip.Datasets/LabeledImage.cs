namespace Microsoft.ML.Clip.Datasets;

/// <summary>An image–label row of the classification sets (MNIST, Fashion-MNIST).</summary>
public sealed class LabeledImage
{
    /// <summary>The image, PNG-encoded (8-bit greyscale, 28×28 for MNIST and Fashion-MNIST).</summary>
    public byte[] Image { get; set; } = [];

    /// <summary>The class name: <c>0</c>–<c>9</c> for MNIST, e.g. <c>Ankle boot</c> for Fashion-MNIST.</summary>
    public string Label { get; set; } = "";

    /// <summary>The class index in the data set's class list (the raw label byte).</summary>
    public int LabelIndex { get; set; }

    /// <summary>The data set: <c>mnist</c> or <c>fashion-mnist</c>.</summary>
    public string Source { get; set; } = "";

    /// <summary>The record's index in its IDX file (stable across subsamples).</summary>
    public int Index { get; set; }
}
