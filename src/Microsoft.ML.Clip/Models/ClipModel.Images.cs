using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.Models;

public sealed partial class ClipModel
{
    private readonly ClipImageDecodeOptions? _imageDecodeOptions;
    private ClipImagePreprocessor? _preprocessor;

    /// <summary>The image preprocessing this model expects (from <c>clip_model.json</c>), decoding as <see cref="ClipModelOptions.ImageDecodeOptions"/> says.</summary>
    public ClipImagePreprocessor Preprocessor => _preprocessor ??= new ClipImagePreprocessor(Info.ToPreprocessSettings(), _imageDecodeOptions);

    /// <summary>Reads, preprocesses and embeds image files, <see cref="BatchSize"/> per ONNX Runtime call.</summary>
    /// <param name="paths">The files.</param>
    /// <param name="skipBadRows">
    /// A missing, empty or unreadable file gets a NaN embedding (the count is logged) instead of an
    /// <see cref="InvalidDataException"/> naming the file and its index.
    /// </param>
    /// <returns>One raw embedding per file.</returns>
    public float[][] EmbedImageFiles(IReadOnlyList<string> paths, bool skipBadRows = false)
    {
        ArgumentNullException.ThrowIfNull(paths);
        return EmbedPreprocessed(paths.Count, skipBadRows, (i, destination) => Preprocessor.PreprocessFile(paths[i], destination), i => paths[i]);
    }

    /// <summary>Decodes, preprocesses and embeds encoded images (PNG, JPEG, …).</summary>
    /// <param name="images">The encoded files' bytes.</param>
    /// <param name="skipBadRows">Corrupt or empty images get a NaN embedding instead of an error naming their index.</param>
    /// <returns>One raw embedding per image.</returns>
    public float[][] EmbedEncodedImages(IReadOnlyList<byte[]> images, bool skipBadRows = false)
    {
        ArgumentNullException.ThrowIfNull(images);
        return EmbedPreprocessed(images.Count, skipBadRows, (i, destination) => Preprocessor.Preprocess(images[i] ?? [], destination, $"image {i}"), i => $"image {i}");
    }

    /// <summary>
    /// Preprocesses items in parallel into batches and embeds each batch with one ONNX Runtime call.
    /// Items that fail become NaN rows when <paramref name="skipBadRows"/>, else the first failure is thrown
    /// with the item's index and name.
    /// </summary>
    internal float[][] EmbedPreprocessed(int count, bool skipBadRows, Action<int, Span<float>> preprocess, Func<int, string> describe)
    {
        var result = new float[count * EmbeddingSize];
        var buffer = new float[Math.Min(BatchSize, Math.Max(count, 1)) * PixelCount];
        var bad = new bool[Math.Min(BatchSize, Math.Max(count, 1))];
        int skipped = 0;
        for (int start = 0; start < count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, count - start);
            Array.Clear(bad);
            var errors = new Exception?[n];
            Parallel.For(0, n, j =>
            {
                try
                {
                    preprocess(start + j, buffer.AsSpan(j * PixelCount, PixelCount));
                }
                catch (Exception e) when (IsBadInput(e))
                {
                    errors[j] = e;
                }
            });
            for (int j = 0; j < n; j++)
            {
                if (errors[j] is not { } e)
                    continue;
                if (!skipBadRows)
                    throw BadRow(start + j, describe(start + j), e);
                bad[j] = true;
                skipped++;
                buffer.AsSpan(j * PixelCount, PixelCount).Clear();
            }
            var destination = result.AsSpan(start * EmbeddingSize, n * EmbeddingSize);
            RunImages(buffer, n, destination);
            for (int j = 0; j < n; j++)
                if (bad[j])
                    destination.Slice(j * EmbeddingSize, EmbeddingSize).Fill(float.NaN);
        }
        if (skipped > 0)
            _log?.Invoke($"Skipped {skipped} of {count} images that could not be read (their embeddings are NaN).");
        return Split(result, count);
    }

    internal static bool IsBadInput(Exception e)
        => e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException;

    internal static InvalidDataException BadRow(long row, string source, Exception e)
        => new($"Row {row} ('{source}'): {e.Message}", e);
}
