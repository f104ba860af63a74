using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The calibration set of <see cref="StaticInt8Quantization"/>: images that stand for what the model will see (the
/// activation ranges are measured on them), preprocessed as the image graph expects, and how a tensor's range is read
/// from its values.
/// </summary>
internal sealed class Int8Calibration
{
    /// <summary>Images run through the float graph per ONNX Runtime call while measuring.</summary>
    public const int BatchSize = 8;

    /// <param name="imagePaths">The calibration images (files any decoder of this package reads).</param>
    /// <param name="preprocess">The image graph's preprocessing (its <c>clip_model.json</c> or frozen encoder's).</param>
    public Int8Calibration(IReadOnlyList<string> imagePaths, ClipPreprocessSettings preprocess)
    {
        ArgumentNullException.ThrowIfNull(imagePaths);
        ArgumentNullException.ThrowIfNull(preprocess);
        if (imagePaths.Count == 0)
            throw new ArgumentException("Calibration needs at least one image.", nameof(imagePaths));
        ImagePaths = imagePaths;
        Preprocess = preprocess;
    }

    /// <summary>The calibration images.</summary>
    public IReadOnlyList<string> ImagePaths { get; }

    /// <summary>How the images are turned into the graph's input.</summary>
    public ClipPreprocessSettings Preprocess { get; }

    /// <summary>How a tensor's range is read from its calibration values; the default was measured best on the NuGet ResNet-18.</summary>
    public Int8RangeMethod Method { get; init; } = Int8RangeMethod.MeanSquaredError;

    /// <summary>
    /// <see cref="Int8RangeMethod.Percentile"/>: the share of a tensor's calibration values its range keeps at each end (the
    /// range runs from quantile 1 − p to quantile p), trading a few saturated values for a finer step on all the others.
    /// </summary>
    public double Percentile { get; init; } = 0.9999;

    private ClipImagePreprocessor? _preprocessor;

    private ClipImagePreprocessor Preprocessor => _preprocessor ??= new ClipImagePreprocessor(Preprocess);

    /// <summary>Image <paramref name="index"/> of <see cref="ImagePaths"/>, preprocessed into <paramref name="destination"/> [3, R, R].</summary>
    internal void PreprocessImage(int index, Span<float> destination) => Preprocessor.PreprocessFile(ImagePaths[index], destination);

    /// <summary>The images, preprocessed, in batches of at most <see cref="BatchSize"/>: pixels [n, 3, R, R] and n.</summary>
    internal IEnumerable<(float[] Pixels, int Count)> Batches()
    {
        var preprocessor = Preprocessor;
        var pixelCount = 3 * Preprocess.Resolution * Preprocess.Resolution;
        for (int start = 0; start < ImagePaths.Count; start += BatchSize)
        {
            var n = Math.Min(BatchSize, ImagePaths.Count - start);
            var pixels = new float[n * pixelCount];
            for (int i = 0; i < n; i++)
                preprocessor.PreprocessFile(ImagePaths[start + i], pixels.AsSpan(i * pixelCount, pixelCount));
            yield return (pixels, n);
        }
    }
}

/// <summary>How <see cref="ActivationRanges"/> reads a tensor's range from its calibration values.</summary>
internal enum Int8RangeMethod
{
    /// <summary>The smallest and largest value seen.</summary>
    MinMax,

    /// <summary>Quantiles 1 − p and p (<see cref="Int8Calibration.Percentile"/>).</summary>
    Percentile,

    /// <summary>The range, among shrinkings of the min–max one, whose uint8 quantization has the least expected squared error.</summary>
    MeanSquaredError,
}
