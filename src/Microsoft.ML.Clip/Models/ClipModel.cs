using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// A loaded CLIP model: the image and text encoder ONNX files and <c>clip_model.json</c> of one folder,
/// with an ONNX Runtime session each. Embeds batches of images and texts; thread-safe; dispose it to free
/// the sessions.
/// </summary>
/// <remarks>
/// Embeddings are the encoders' raw outputs unless a method says it normalises. Each batch of up to
/// <see cref="BatchSize"/> items is one ONNX Runtime call.
/// </remarks>
public sealed partial class ClipModel : IDisposable
{
    private readonly InferenceSession _image;
    private readonly InferenceSession _text;
    private readonly Action<string>? _log;
    private readonly ContextEncoder _encode;
    private bool _disposed;

    private ClipModel(string folder, ClipModelInfo info, InferenceSession image, InferenceSession text, ContextEncoder encode, string provider, ClipModelOptions options)
    {
        _encode = encode;
        Folder = folder;
        Info = info;
        _image = image;
        _text = text;
        ExecutionProvider = provider;
        BatchSize = options.BatchSize;
        GpuDeviceId = options.GpuDeviceId;
        FallbackToCpu = options.FallbackToCpu;
        _log = options.Log;
        _imageDecodeOptions = options.ImageDecodeOptions;
    }

    /// <summary>The model folder.</summary>
    public string Folder { get; }

    /// <summary>The model description read from <c>clip_model.json</c>.</summary>
    public ClipModelInfo Info { get; }

    /// <summary>Size D of the embeddings.</summary>
    public int EmbeddingSize => Info.EmbedDim;

    /// <summary>Side of the square image input.</summary>
    public int Resolution => Info.ImageResolution;

    /// <summary>Number of floats of one preprocessed image: 3 · R · R.</summary>
    public int PixelCount => 3 * Info.ImageResolution * Info.ImageResolution;

    /// <summary>Token context length of the text encoder.</summary>
    public int ContextLength => Info.Tokenizer.ContextLength;

    /// <summary>The model's learned logit scale, <c>exp(logit_scale)</c>.</summary>
    public float LogitScale => MathF.Exp(Info.LogitScale);

    /// <summary>The learned bias of a sigmoid model (SigLIP), added to each scaled cosine; null for a softmax (CLIP) model.</summary>
    public float? LogitBias => Info.LogitBias;

    /// <summary>Where the sessions run: <c>CPU</c> or <c>CUDA:n</c>.</summary>
    public string ExecutionProvider { get; }

    /// <summary>Items per ONNX Runtime call.</summary>
    public int BatchSize { get; }

    /// <summary>The CUDA device asked for (null: CPU).</summary>
    public int? GpuDeviceId { get; }

    /// <summary>Whether a CUDA failure falls back to the CPU.</summary>
    public bool FallbackToCpu { get; }

    /// <summary>Path of the image encoder ONNX.</summary>
    public string ImageModelPath => Path.Combine(Folder, Info.ImageModelFile);

    /// <summary>Path of the text encoder ONNX.</summary>
    public string TextModelPath => Path.Combine(Folder, Info.TextModelFile);

    /// <summary>
    /// Loads <c>clip_model.json</c> and both encoders from <paramref name="folder"/> and checks their inputs and outputs.
    /// When <c>clip_model.json</c> records the files' hashes (every folder this library writes), each file is checked
    /// against them as it is opened, so a folder whose files come from different models is refused.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">The JSON or an ONNX file is missing.</exception>
    /// <exception cref="InvalidDataException">The JSON is invalid, an encoder's signature differs from what it describes, or the
    /// folder's files do not belong together.</exception>
    public static ClipModel Load(string folder, ClipModelOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        options ??= new ClipModelOptions();
        if (options.BatchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be positive.");
        // A writer killed in the middle of a two-step swap (platforms without an atomic exchange) left the old folder aside.
        DirectorySwap.RecoverInterrupted(folder);
        if (!Directory.Exists(folder))
            throw new DirectoryNotFoundException($"CLIP model folder '{folder}' does not exist.");
        try
        {
            return LoadOnce(folder, options);
        }
        catch (InvalidDataException e) when (ModelFolderFiles.IsMismatch(e))
        {
            // A writer may have swapped in a new folder between reading clip_model.json and opening a file: once more from the
            // JSON. A second mismatch is a folder that really mixes files.
            return LoadOnce(folder, options);
        }
    }

    private static ClipModel LoadOnce(string folder, ClipModelOptions options)
    {
        var jsonPath = Path.Combine(folder, ClipModelInfo.FileName);
        if (!File.Exists(jsonPath))
            throw new FileNotFoundException($"'{folder}' holds no {ClipModelInfo.FileName}: not a CLIP model folder.", jsonPath);
        var info = ClipModelInfo.Load(jsonPath);
        // The tokenizer first: a missing or broken vocabulary file fails before any session is created.
        var encode = ClipTokenizerSpec.CreateEncoder(info.Tokenizer.Kind,
            info.Tokenizer.File is { } file ? ModelFolderFiles.ReadAllBytesVerified(folder, info, file, "Tokenizer file") : null, info.Tokenizer.File, info.Tokenizer.Lowercase);

        var imagePath = Path.Combine(folder, info.ImageModelFile);
        var textPath = Path.Combine(folder, info.TextModelFile);
        InferenceSession? image = null, text = null;
        try
        {
            image = OpenSession(folder, info, info.ImageModelFile, options, out var provider);
            EncoderSignature.Check(image, imagePath, "image",
                EncoderSignature.PixelValues, TensorElementType.Float, [-1, 3, info.ImageResolution, info.ImageResolution],
                EncoderSignature.ImageEmbeds, [-1, info.EmbedDim]);
            text = OpenSession(folder, info, info.TextModelFile, options, out _);
            EncoderSignature.Check(text, textPath, "text",
                EncoderSignature.InputIds, TensorElementType.Int64, [-1, info.TextSequence == ClipModelInfo.DynamicSequence ? -1 : info.Tokenizer.ContextLength],
                EncoderSignature.TextEmbeds, [-1, info.EmbedDim]);
            // A fixed-length graph under text_sequence: dynamic would fail at the first cut batch: refuse it here, named.
            if (info.TextSequence == ClipModelInfo.DynamicSequence && text.InputMetadata[EncoderSignature.InputIds].Dimensions is [_, > 0 and var fixedLength])
                throw new InvalidDataException(
                    $"'{textPath}' takes input_ids of length {fixedLength} only, but {ClipModelInfo.FileName} says text_sequence '{ClipModelInfo.DynamicSequence}' (rows of any length): set it to '{ClipModelInfo.FixedSequence}'.");
            options.Log?.Invoke($"Loaded CLIP model '{folder}' (D={info.EmbedDim}, R={info.ImageResolution}) on {provider}.");
            return new ClipModel(folder, info, image, text, encode, provider, options);
        }
        catch
        {
            image?.Dispose();
            text?.Dispose();
            throw;
        }
    }

    // ONNX Runtime reads the very file that was checked (ModelFolderFiles.OpenVerified).
    private static InferenceSession OpenSession(string folder, ClipModelInfo info, string fileName, ClipModelOptions options, out string provider)
    {
        using var file = ModelFolderFiles.OpenVerified(folder, info, fileName, "Encoder");
        try
        {
            return OrtSessions.Create(file.RuntimePath, options.IntraOpNumThreads, options.GpuDeviceId, options.FallbackToCpu, options.Log, out provider, file.Path);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"'{file.Path}' is not a loadable ONNX model: {e.Message}", e);
        }
    }

    /// <summary>
    /// Embeds <paramref name="count"/> preprocessed images (<paramref name="pixels"/>: [count, 3, R, R] float32, CHW).
    /// </summary>
    /// <returns>One raw embedding of <see cref="EmbeddingSize"/> floats per image.</returns>
    public float[][] EmbedImages(ReadOnlySpan<float> pixels, int count)
    {
        if (count < 0 || pixels.Length != (long)count * PixelCount)
            throw new ArgumentException($"Expected {count} x 3 x {Resolution} x {Resolution} = {(long)count * PixelCount} floats, got {pixels.Length}.", nameof(pixels));
        return Batched(pixels, count, PixelCount, RunImages);
    }

    /// <summary>Embeds token rows (<paramref name="inputIds"/>: [count, L] int64, as <c>clip.tokenize</c>).</summary>
    /// <remarks>
    /// With a text encoder that takes any length (<c>text_sequence: dynamic</c>), rows are grouped by length and each
    /// ONNX Runtime call gets its rows cut after the longest one's text (<see cref="EmbedTokenRows"/>); the embeddings
    /// come back in the order of the rows.
    /// </remarks>
    /// <returns>One raw embedding per row.</returns>
    public float[][] EmbedTokens(ReadOnlySpan<long> inputIds, int count)
    {
        if (count < 0 || inputIds.Length != (long)count * ContextLength)
            throw new ArgumentException($"Expected {count} x {ContextLength} token ids, got {inputIds.Length}.", nameof(inputIds));
        var result = new float[count * EmbeddingSize];
        EmbedTokenRows(inputIds, count, result);
        return Split(result, count);
    }

    /// <summary>Runs <paramref name="count"/> rows of <paramref name="rowLength"/> items through <paramref name="run"/>, <see cref="BatchSize"/> at a time.</summary>
    private float[][] Batched<T>(ReadOnlySpan<T> rows, int count, int rowLength, Action<T[], int, Span<float>> run)
    {
        var result = new float[count * EmbeddingSize];
        var buffer = new T[Math.Min(BatchSize, count) * rowLength];
        for (int start = 0; start < count; start += BatchSize)
        {
            int n = Math.Min(BatchSize, count - start);
            rows.Slice(start * rowLength, n * rowLength).CopyTo(buffer);
            run(buffer, n, result.AsSpan(start * EmbeddingSize, n * EmbeddingSize));
        }
        return Split(result, count);
    }

    /// <summary>Tokenizes and embeds <paramref name="texts"/>.</summary>
    /// <param name="texts">The texts.</param>
    /// <param name="truncation">Texts longer than the context are cut (default, the number is logged) or rejected.</param>
    /// <returns>One raw embedding per text.</returns>
    public float[][] EmbedTexts(IReadOnlyList<string> texts, ClipTruncation truncation = ClipTruncation.Truncate)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var ids = Tokenize(texts, truncation, out var truncated);
        if (truncated > 0)
            _log?.Invoke($"{truncated} of {texts.Count} texts were longer than {ContextLength} tokens and were truncated.");
        return EmbedTokens(ids, texts.Count);
    }

    /// <summary>
    /// Token rows of <paramref name="texts"/> with the model's own tokenizer (<c>clip_model.json</c>'s <c>tokenizer</c>):
    /// [texts.Count, <see cref="ContextLength"/>] int64, row-major, as the text encoder takes them.
    /// </summary>
    /// <param name="texts">The texts.</param>
    /// <param name="truncation">Texts longer than the context are cut (default) or rejected.</param>
    /// <exception cref="ArgumentException">A text is null, or does not fit and <paramref name="truncation"/> is <see cref="ClipTruncation.Throw"/>.</exception>
    public long[] Tokenize(IReadOnlyList<string> texts, ClipTruncation truncation = ClipTruncation.Truncate)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Tokenize(texts, truncation, out _);
    }

    /// <summary>Writes one token row of <paramref name="text"/> with the model's tokenizer; returns whether it was cut.</summary>
    internal bool EncodeToContext(string text, Span<long> row, ClipTruncation truncation) => _encode(text, row, truncation);

    /// <summary>Token rows for <paramref name="texts"/>; <paramref name="truncated"/> counts the cut ones.</summary>
    internal long[] Tokenize(IReadOnlyList<string> texts, ClipTruncation truncation, out int truncated)
    {
        var ids = new long[texts.Count * ContextLength];
        truncated = 0;
        for (int i = 0; i < texts.Count; i++)
        {
            var text = texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts));
            if (_encode(text, ids.AsSpan(i * ContextLength, ContextLength), truncation))
                truncated++;
        }
        return ids;
    }

    /// <summary>One ONNX Runtime call on the first <paramref name="n"/> images of <paramref name="pixels"/>; writes [n, D].</summary>
    internal void RunImages(float[] pixels, int n, Span<float> destination)
        => Run(_image, EncoderSignature.PixelValues, EncoderSignature.ImageEmbeds, new Memory<float>(pixels, 0, n * PixelCount),
            [n, 3, Resolution, Resolution], destination);

    /// <summary>
    /// One ONNX Runtime call on the first <paramref name="n"/> token rows of <paramref name="length"/> ids each in
    /// <paramref name="ids"/> (the context length, or less for a text encoder that takes any length); writes [n, D].
    /// </summary>
    internal void RunTokens(long[] ids, int n, int length, Span<float> destination)
    {
        Interlocked.Add(ref _textIdsRun, (long)n * length);
        Run(_text, EncoderSignature.InputIds, EncoderSignature.TextEmbeds, new Memory<long>(ids, 0, n * length), [n, length], destination);
    }

    private long _textIdsRun;

    /// <summary>Token ids given to the text encoder so far (rows × length of every call): how tests see that batches are cut.</summary>
    internal long TextIdsRun => Interlocked.Read(ref _textIdsRun);

    private void Run<T>(InferenceSession session, string input, string output, Memory<T> data, long[] shape, Span<float> destination)
        where T : unmanaged
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (shape[0] == 0)
            return;
        OrtSessions.RunInto(session, input == EncoderSignature.PixelValues ? ImageModelPath : TextModelPath, input, output, data, shape, destination);
    }

    internal static float[][] Split(float[] flat, int count)
    {
        var rows = new float[count][];
        int d = count == 0 ? 0 : flat.Length / count;
        for (int i = 0; i < count; i++)
            rows[i] = flat.AsSpan(i * d, d).ToArray();
        return rows;
    }

    /// <summary>Scales <paramref name="vector"/> to unit L2 norm in place (left as is when its norm is 0 or NaN).</summary>
    public static void Normalize(Span<float> vector)
    {
        double sum = 0;
        foreach (var v in vector)
            sum += (double)v * v;
        var norm = (float)Math.Sqrt(sum);
        if (norm > 0 && float.IsFinite(norm))
            foreach (ref var v in vector)
                v /= norm;
    }

    /// <summary>Frees both ONNX Runtime sessions.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _image.Dispose();
        _text.Dispose();
    }
}
