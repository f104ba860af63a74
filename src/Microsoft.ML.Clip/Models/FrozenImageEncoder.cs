using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// A frozen, pretrained image feature extractor run by ONNX Runtime: the image tower of locked-image tuning (LiT,
/// Zhai et al. 2022), where only a projection on top of it and the text side are trained. Its graph is kept in the
/// normalised form <c>pixel_values</c> [batch, 3, R, R] → <c>image_features</c> [batch, F] together with the
/// preprocessing it expects, so that training (features computed once, cached) and the exported CLIP image encoder
/// (this graph followed by the trained projection) see exactly the same numbers.
/// </summary>
public sealed class FrozenImageEncoder : IDisposable
{
    /// <summary>The name that selects the ResNet-18 of <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>.</summary>
    public const string ResNet18Name = "resnet18";

    /// <summary>Images per ONNX Runtime call.</summary>
    public const int BatchSize = 32;

    private readonly InferenceSession _session;
    private readonly object _sync = new();
    private readonly object _batchSync = new();
    private float[]? _batchPixels;
    private bool _disposed;

    /// <summary>Preprocesses one image into its slot of a batch: 3 × R × R floats as <see cref="Preprocess"/> says.</summary>
    /// <typeparam name="T">The image's form (a path, encoded bytes, a decoded image…).</typeparam>
    internal delegate void ImagePreprocessing<in T>(T image, Span<float> destination);

    private FrozenImageEncoder(string name, byte[] graph, int featureSize, ClipPreprocessSettings preprocess, int? intraOpThreads,
        int? gpuDeviceId = null, Action<string>? log = null)
    {
        Name = name;
        GraphBytes = graph;
        FeatureSize = featureSize;
        Preprocess = preprocess;
        Id = ComputeId(graph, preprocess);
        try
        {
            _session = OrtSessions.Create(graph, name, intraOpThreads, gpuDeviceId, fallbackToCpu: true, log, out var provider);
            Provider = provider;
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"Image encoder '{name}' is not a loadable ONNX model: {e.Message}", e);
        }
    }

    /// <summary><see cref="ResNet18Name"/>, or the file name of a user's ONNX encoder.</summary>
    public string Name { get; }

    /// <summary>Size F of the feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>The preprocessing the encoder expects (resolution, resize mode, mean and std).</summary>
    public ClipPreprocessSettings Preprocess { get; }

    /// <summary>Identity of the encoder: a SHA-256 (hex) over its graph and preprocessing; keys the feature cache.</summary>
    public string Id { get; }

    /// <summary>The normalised graph (serialised ONNX).</summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer saves the encoder's graph with the model)
    internal byte[] GraphBytes { get; }

    /// <summary>Where ONNX Runtime runs the encoder: <c>CPU</c> or <c>CUDA:n</c>.</summary>
    public string Provider { get; } = "CPU";

    /// <summary>The normalised graph, parsed anew on each call (tens of MB for ResNet-18: keep the result).</summary>
    internal ModelProto ParseGraph() => ModelProto.Parser.ParseFrom(GraphBytes);

    /// <summary>
    /// The ResNet-18 of the NuGet package <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c> (ImageNet-trained; 512 pooled
    /// features): its preprocessing graph and network chained into one graph with a symbolic batch. It expects RGB
    /// 0–255 at 224×224; images get CLIP's resize (shorter side, PIL bicubic) and centre crop, then ×255.
    /// </summary>
    /// <param name="modelDirectory">Folder holding <c>ResNetPrepOnnx/</c> and <c>ResNet18Onnx/</c>; null: <c>DnnImageModels</c> next to the application, else the restored NuGet package in the global packages folder.</param>
    /// <param name="intraOpThreads">ONNX Runtime threads; null for its default.</param>
    /// <param name="resolution">
    /// Input side; the network's native 224 by default. A smaller side costs quadratically less (128: a third) for images
    /// that are small anyway; the mean image is resampled and the final pool made global.
    /// </param>
    /// <exception cref="FileNotFoundException">A file is missing (the message names it and the package).</exception>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    public static FrozenImageEncoder ResNet18(string? modelDirectory = null, int? intraOpThreads = null, int resolution = FrozenEncoderGraphs.NativeResNet18Resolution,
        int? gpuDeviceId = null, Action<string>? log = null)
    {
        var (prep, net) = ResNet18Files.Locate(modelDirectory);
        var graph = FrozenEncoderGraphs.ResNet18(prep, net, resolution).ToByteArray();
        var preprocess = new ClipPreprocessSettings
        {
            Resolution = resolution,
            Mean = [0f, 0f, 0f],
            Std = [1f / 255, 1f / 255, 1f / 255],
        };
        return new FrozenImageEncoder(ResNet18Name, graph, ResNet18Files.FeatureSize, preprocess, intraOpThreads, gpuDeviceId, log);
    }

    /// <summary>
    /// A user's ONNX feature extractor: one float input [N, 3, R, R] and one float output [N, F] (or a pooled
    /// [N, F, 1, 1]); a batch fixed at 1 is made symbolic.
    /// </summary>
    /// <param name="path">The ONNX file.</param>
    /// <param name="preprocess">Its preprocessing; null: CLIP's OpenAI preset at the input's resolution.</param>
    /// <param name="intraOpThreads">ONNX Runtime threads; null for its default.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">It is not ONNX, or its signature differs (the message names the file).</exception>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    public static FrozenImageEncoder FromOnnx(string path, ClipPreprocessSettings? preprocess = null, int? intraOpThreads = null,
        int? gpuDeviceId = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Image encoder '{path}' does not exist.", path);
        var (model, resolution, featureSize) = FrozenEncoderGraphs.Normalize(File.ReadAllBytes(path), path);
        if (preprocess is null)
        {
            if (resolution is not int r)
                throw new InvalidDataException($"Image encoder '{path}' leaves its input size symbolic: pass the preprocessing (its resolution) explicitly.");
            preprocess = ClipPreprocessSettings.OpenAI(r);
        }
        else if (resolution is int fixedSize && fixedSize != preprocess.Resolution)
            throw new ArgumentException($"Image encoder '{path}' takes {fixedSize}×{fixedSize} images; the preprocessing asks for {preprocess.Resolution}.", nameof(preprocess));
        return new FrozenImageEncoder(Path.GetFileName(path), model.ToByteArray(), featureSize, preprocess, intraOpThreads, gpuDeviceId, log);
    }

    /// <summary><see cref="ResNet18"/> for <c>"resnet18"</c>, otherwise <see cref="FromOnnx"/> of the path.</summary>
    /// <param name="encoder"><c>resnet18</c> or the path of an ONNX file.</param>
    /// <param name="resNet18Directory">Where the ResNet-18 files are (see <see cref="ResNet18"/>).</param>
    /// <param name="resolution">Input side; null: the encoder's own (224 for ResNet-18). A user's file with a fixed size must match it.</param>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    public static FrozenImageEncoder Create(string encoder, string? resNet18Directory = null, int? resolution = null, int? gpuDeviceId = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(encoder);
        return string.Equals(encoder, ResNet18Name, StringComparison.OrdinalIgnoreCase)
            ? ResNet18(resNet18Directory, resolution: resolution ?? FrozenEncoderGraphs.NativeResNet18Resolution, gpuDeviceId: gpuDeviceId, log: log)
            : FromOnnx(encoder, resolution is int r ? ClipPreprocessSettings.OpenAI(r) : null, gpuDeviceId: gpuDeviceId, log: log);
    }

    /// <summary>
    /// Rebuilds an encoder from the graph a saved model carries (<see cref="GraphBytes"/>). The bytes are used as they are
    /// (only their signature is checked), so the id stays the hash of exactly what was saved.
    /// </summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer rebuilds the encoder of a saved model)
    internal static FrozenImageEncoder FromGraph(string name, byte[] graph, ClipPreprocessSettings preprocess)
    {
        var (_, resolution, featureSize) = FrozenEncoderGraphs.Normalize(graph, name);
        if (resolution is int r && r != preprocess.Resolution)
            throw new InvalidDataException($"Image encoder '{name}' takes {r}×{r} images; its saved preprocessing says {preprocess.Resolution}.");
        return new FrozenImageEncoder(name, graph, featureSize, preprocess, null);
    }

    /// <summary>Features [count × F] (row-major) of preprocessed images [count, 3, R, R] (see <see cref="Preprocess"/>), read in place.</summary>
    /// <param name="pixels">Exactly <paramref name="count"/> preprocessed images, back to back.</param>
    /// <param name="count">Images to encode.</param>
    public float[] Featurize(float[] pixels, int count)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (count < 0 || pixels.Length != (long)count * 3 * Preprocess.Resolution * Preprocess.Resolution)
            throw new ArgumentException($"Expected {count} x 3 x {Preprocess.Resolution} x {Preprocess.Resolution} floats, got {pixels.Length}.", nameof(pixels));
        var result = new float[count * FeatureSize];
        Featurize(pixels, count, result);
        return result;
    }

    /// <summary>Writes the features of the first <paramref name="count"/> images of <paramref name="pixels"/> to <paramref name="destination"/>, without copying the pixels.</summary>
    /// <param name="pixels">At least <paramref name="count"/> preprocessed images [3, R, R], back to back (read in place).</param>
    /// <param name="count">Images to encode.</param>
    /// <param name="destination">At least count × F floats.</param>
    public void Featurize(float[] pixels, int count, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        var pixelCount = 3 * Preprocess.Resolution * Preprocess.Resolution;
        if (count < 0 || pixels.Length < (long)count * pixelCount || destination.Length < count * FeatureSize)
            throw new ArgumentException($"Expected {count} images of 3 x {Preprocess.Resolution} x {Preprocess.Resolution} floats (got {pixels.Length}) and room for {count} x {FeatureSize} features (got {destination.Length}).", nameof(pixels));
        for (var start = 0; start < count; start += BatchSize)
        {
            var n = Math.Min(BatchSize, count - start);
            Run(new Memory<float>(pixels, start * pixelCount, n * pixelCount), n, destination.Slice(start * FeatureSize, n * FeatureSize));
        }
    }

    /// <summary>
    /// Features [images.Count × F] of <paramref name="images"/>, each preprocessed by <paramref name="preprocess"/> into a
    /// batch buffer the encoder reuses, <see cref="BatchSize"/> images per ONNX Runtime call.
    /// </summary>
    /// <param name="images">The images.</param>
    /// <param name="preprocess">Writes one image's pixels; its exceptions pass through (name the image in them).</param>
    /// <param name="destination">At least images.Count × F floats.</param>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/LockedImageFeatures preprocesses its own image values)
    internal void Featurize<T>(IReadOnlyList<T> images, ImagePreprocessing<T> preprocess, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(preprocess);
        if (destination.Length < (long)images.Count * FeatureSize)
            throw new ArgumentException($"Room for {images.Count} x {FeatureSize} features is needed, got {destination.Length}.", nameof(destination));
        var pixelCount = 3 * Preprocess.Resolution * Preprocess.Resolution;
        lock (_batchSync)
        {
            _batchPixels ??= new float[BatchSize * pixelCount];
            for (var start = 0; start < images.Count; start += BatchSize)
            {
                var n = Math.Min(BatchSize, images.Count - start);
                for (var i = 0; i < n; i++)
                    preprocess(images[start + i], _batchPixels.AsSpan(i * pixelCount, pixelCount));
                Featurize(_batchPixels, n, destination.Slice(start * FeatureSize, n * FeatureSize));
            }
        }
    }

    /// <summary>Features of image files, decoded and preprocessed as <see cref="Preprocess"/> says: one array of F per file.</summary>
    /// <exception cref="FileNotFoundException">A file is missing (the message names it).</exception>
    /// <exception cref="InvalidDataException">A file is not a readable image (the message names it).</exception>
    public float[][] FeaturizeFiles(IReadOnlyList<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var preprocessor = new ClipImagePreprocessor(Preprocess);
        var features = new float[paths.Count * FeatureSize];
        Featurize(paths, (path, destination) => preprocessor.PreprocessFile(path, destination), features);
        return [.. Enumerable.Range(0, paths.Count).Select(i => features.AsSpan(i * FeatureSize, FeatureSize).ToArray())];
    }

    private void Run(Memory<float> pixels, int n, Span<float> destination)
    {
        var r = Preprocess.Resolution;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            OrtSessions.RunInto(_session, $"image encoder {Name}", FrozenEncoderGraphs.InputName, FrozenEncoderGraphs.FeaturesName, pixels, [n, 3, r, r], destination);
        }
    }

    // Internal: the checkpoint converter checks a saved model's encoder with it, without starting a session.
    internal static string ComputeId(byte[] graph, ClipPreprocessSettings preprocess)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(graph);
        var settings = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{preprocess.Resolution}|{preprocess.ResizeMode}|{string.Join(",", preprocess.Mean.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}|{string.Join(",", preprocess.Std.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}");
        if (preprocess.ConvertRgbFirst)
            settings += "|rgb-first"; // only when set, so the ids (and feature caches) of existing encoders stay
        sha.AppendData(Encoding.UTF8.GetBytes(settings));
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>Frees the ONNX Runtime session.</summary>
    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed) return;
            _disposed = true;
            _session.Dispose();
        }
    }
}
