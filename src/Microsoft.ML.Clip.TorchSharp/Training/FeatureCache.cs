using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Features of a frozen encoder kept on disk: a <see cref="FrozenImageEncoder"/>'s keyed by the SHA-256 of each image's
/// content, a <see cref="FrozenTextEncoder"/>'s by the SHA-256 of each caption's UTF-8 text. An image or caption is run
/// through the encoder once, however many epochs, runs or data sets see it; one whose bytes change gets a new key and is
/// encoded again, and another encoder (or preprocessing) uses another file.
/// </summary>
/// <remarks>
/// One append-only file per encoder, <c>{first 32 hex of the encoder id}.features</c>: a header (magic, version, feature
/// size) and records of a 32-byte key followed by F float32s (docs/formats.md; FeatureCacheFormatTests pins the bytes,
/// so that caches written by earlier builds stay valid). The whole file is read into memory when opened (F = 512 costs 2 KiB an image);
/// a torn last record — a run killed mid-write — is cut off and recomputed. The file is held exclusively while open:
/// a second run on the same cache folder at the same time gets a clear error instead of interleaved records.
/// </remarks>
internal sealed class FeatureCache : IDisposable
{
    private static readonly byte[] Magic = "CLIPFEAT"u8.ToArray();
    private const int Version = 1;
    private const int KeySize = 32;
    private readonly Dictionary<string, float[]> _features = new(StringComparer.Ordinal);
    private readonly FileStream _file;
    private readonly int _featureSize;

    /// <summary>Opens (or creates) the cache file of <paramref name="encoder"/> in <paramref name="directory"/>.</summary>
    public FeatureCache(string directory, FrozenImageEncoder encoder)
        : this(directory, (encoder ?? throw new ArgumentNullException(nameof(encoder))).Id, encoder.FeatureSize)
    {
    }

    /// <summary>
    /// Opens (or creates) the cache file of the encoder with id <paramref name="encoderId"/> (F = <paramref name="featureSize"/>)
    /// in <paramref name="directory"/>. The same file format holds a frozen text encoder's features, keyed by the text
    /// (<see cref="Key(string)"/>); encoders have distinct ids, so an image and a text encoder never share a file.
    /// </summary>
    public FeatureCache(string directory, string encoderId, int featureSize)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentException.ThrowIfNullOrEmpty(encoderId);
        Directory.CreateDirectory(directory);
        _featureSize = featureSize;
        FilePath = Path.Combine(directory, encoderId[..32] + ".features");
        try
        {
            _file = new FileStream(FilePath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
        {
            throw new IOException($"Feature cache '{FilePath}' cannot be opened for writing ({e.Message}); another run may be using it — give this one another cache folder.", e);
        }
        try
        {
            Load();
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>The cache file.</summary>
    public string FilePath { get; }

    /// <summary>Features held (read from the file or added since).</summary>
    public int Count => _features.Count;

    /// <summary>Look-ups answered from the cache.</summary>
    public long Hits { get; private set; }

    /// <summary>Look-ups that found nothing (the caller encodes and <see cref="Add"/>s).</summary>
    public long Misses { get; private set; }

    /// <summary>The key of an image's content: its SHA-256, hex.</summary>
    public static string Key(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>The key of a text: the SHA-256 of its UTF-8 bytes, hex.</summary>
    public static string Key(string text) => Key(Encoding.UTF8.GetBytes(text));

    /// <summary>Whether features are stored under <paramref name="key"/> (not counted).</summary>
    public bool Contains(string key) => _features.ContainsKey(key);

    /// <summary>The features stored under <paramref name="key"/>, or null (not counted).</summary>
    public float[]? Peek(string key) => _features.GetValueOrDefault(key);

    /// <summary>The features stored under <paramref name="key"/>, or null (counted as a hit or a miss).</summary>
    public float[]? TryGet(string key)
    {
        if (_features.TryGetValue(key, out var features))
        {
            Hits++;
            return features;
        }
        Misses++;
        return null;
    }

    /// <summary>Stores <paramref name="features"/> under <paramref name="key"/> in memory and appends them to the file.</summary>
    public void Add(string key, ReadOnlySpan<float> features)
    {
        if (features.Length != _featureSize)
            throw new ArgumentException($"Expected {_featureSize} features, got {features.Length}.", nameof(features));
        if (_features.ContainsKey(key)) return;
        var copy = features.ToArray();
        _features[key] = copy;
        // Only Load and Add move the position, and both leave it at the end of the file.
        _file.Write(Convert.FromHexString(key));
        _file.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(copy.AsSpan()));
    }

    /// <summary>Writes buffered records to the file.</summary>
    public void Flush() => _file.Flush();

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        _file.Flush();
        _file.Dispose();
    }

    private void Load()
    {
        var headerSize = Magic.Length + 8;
        if (_file.Length < headerSize)
        {
            // New (or torn before its header was complete): start over.
            _file.SetLength(0);
            _file.Write(Magic);
            _file.Write(BitConverter.GetBytes(Version));
            _file.Write(BitConverter.GetBytes(_featureSize));
            _file.Flush();
            return;
        }
        using var reader = new BinaryReader(_file, Encoding.UTF8, leaveOpen: true);
        _file.Position = 0;
        if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic) || reader.ReadInt32() != Version)
            throw new InvalidDataException($"'{FilePath}' is not a feature cache of this library's version {Version}; delete it to start a new one.");
        var size = reader.ReadInt32();
        if (size != _featureSize)
            throw new InvalidDataException($"'{FilePath}' holds {size} features per record; the encoder gives {_featureSize}. Delete it to start a new one.");
        var recordSize = KeySize + 4L * _featureSize;
        var records = (_file.Length - headerSize) / recordSize;
        for (long i = 0; i < records; i++)
        {
            var key = Convert.ToHexStringLower(reader.ReadBytes(KeySize));
            var features = new float[_featureSize];
            _file.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(features.AsSpan()));
            _features[key] = features;
        }
        var end = headerSize + records * recordSize;
        if (_file.Length != end) _file.SetLength(end);  // a torn last record
    }
}
