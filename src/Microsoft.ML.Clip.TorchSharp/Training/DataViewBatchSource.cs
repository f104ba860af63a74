using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Data;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Streams (image, text) pairs from an <see cref="IDataView"/> through a seeded shuffle buffer: the view is read
/// once per epoch with one cursor and never loaded whole (an <see cref="IDataView"/> is not seekable in general).
/// Only the raw values sit in the buffer (encoded bytes, paths or copied pixels); images are preprocessed and texts
/// tokenized per batch. The order of an epoch depends only on the seed and the epoch number, so a resumed run
/// replays the buffer, skipping the batches already trained on without preprocessing them.
/// </summary>
internal sealed class DataViewBatchSource : IClipBatchSource
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _imageColumn;
    private readonly DataViewSchema.Column _textColumn;
    private readonly ClipImagePreprocessor _preprocessor;
    private readonly Func<IReadOnlyList<string>, int, long[]> _tokenize;
    private readonly int _contextLength;
    private readonly int _shuffleBufferSize;
    private readonly int _seed;
    private readonly RandomResizedCrop? _crop;
    // For locked-image training: batches carry frozen-encoder features [B, F] instead of pixels.
    private readonly LockedImageFeatures? _lockedFeatures;
    // For locked-text training: batches carry frozen-encoder text features [B, F] instead of token ids.
    private readonly LockedTextFeatures? _lockedText;
    // With one caption per image: the rows of each image, in order of first appearance (null: every row is its own pair).
    private readonly List<long[]>? _captionSets;

    // CLIP's rows are cut after the batch's longest caption (exact: causal, read at the end token); a SigLIP reads the last
    // of its full-context positions, so its rows are never cut.
    private readonly bool _cutToLongest;

    public DataViewBatchSource(IDataView data, string imageColumn, string textColumn, ClipImagePreprocessor preprocessor,
        Func<IReadOnlyList<string>, int, long[]> tokenize, int contextLength, int shuffleBufferSize, int seed, double randomCropMinScale = 0,
        LockedImageFeatures? lockedFeatures = null, LockedTextFeatures? lockedText = null, bool oneCaptionPerImage = false, bool cutToLongest = true)
    {
        _cutToLongest = cutToLongest;
        _lockedFeatures = lockedFeatures;
        _lockedText = lockedText;
        _crop = randomCropMinScale > 0 ? new RandomResizedCrop(preprocessor.Settings, randomCropMinScale) : null;
        _data = data;
        _imageColumn = ClipImageColumn.Find(data.Schema, imageColumn);
        _textColumn = ClipImageColumn.FindText(data.Schema, textColumn);
        _preprocessor = preprocessor;
        _tokenize = tokenize;
        _contextLength = contextLength;
        _shuffleBufferSize = Math.Max(1, shuffleBufferSize);
        _seed = seed;
        if (oneCaptionPerImage)
        {
            _captionSets = CaptionSets(data, _imageColumn);
            RowCount = _captionSets.Count;
        }
        else RowCount = data.GetRowCount() ?? CountRows(data);
        _fingerprint = new Lazy<string>(() => Fingerprint(data, _imageColumn, _textColumn));
    }

    /// <summary>Pairs per epoch: the rows, or with one caption per image the distinct images.</summary>
    public long RowCount { get; }

    private readonly Lazy<string> _fingerprint;

    /// <summary>
    /// SHA-256 over every row's text and image in order — the path of a path column, the bytes of a byte column; an in-memory
    /// image column is not read (it would decode every image) and only its texts count. One extra pass, computed when asked.
    /// </summary>
    public string DataFingerprint => _fingerprint.Value;

    private static string Fingerprint(IDataView data, DataViewSchema.Column imageColumn, DataViewSchema.Column textColumn)
    {
        using var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var readImages = imageColumn.Type is not Microsoft.ML.Transforms.Image.ImageDataViewType;
        using var cursor = data.GetRowCursor(readImages ? [imageColumn, textColumn] : [textColumn]);
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(textColumn);
        var image = readImages ? ClipImageColumn.CreateGetter(cursor, imageColumn) : null;
        ReadOnlyMemory<char> value = default;
        var length = new byte[8];
        void Append(ReadOnlySpan<byte> bytes)
        {
            // Length-prefixed, so that row boundaries cannot be shifted between fields.
            System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(length, bytes.Length);
            sha.AppendData(length);
            sha.AppendData(bytes);
        }
        while (cursor.MoveNext())
        {
            text(ref value);
            Append(System.Text.Encoding.UTF8.GetBytes(value.ToString()));
            switch (image?.Invoke())
            {
                case ClipImageColumn.ImagePath path: Append(System.Text.Encoding.UTF8.GetBytes(path.Path)); break;
                case byte[] bytes: Append(bytes); break;
            }
        }
        return Convert.ToHexStringLower(sha.GetHashAndReset());
    }

    /// <summary>With one caption per image: how many rows (captions) the images have in all; otherwise <see cref="RowCount"/>.</summary>
    public long CaptionCount => _captionSets?.Sum(set => (long)set.Length) ?? RowCount;

    /// <summary>
    /// The rows of each distinct image: a path column groups by the path as written, a byte or image column by content
    /// (SHA-256 of the bytes or pixels), read once here — a pass that holds row numbers and keys, never the images.
    /// </summary>
    private static List<long[]> CaptionSets(IDataView data, DataViewSchema.Column imageColumn)
    {
        var sets = new Dictionary<string, List<long>>(StringComparer.Ordinal);
        var order = new List<List<long>>();
        using var cursor = data.GetRowCursor([imageColumn]);
        var image = ClipImageColumn.CreateGetter(cursor, imageColumn);
        while (cursor.MoveNext())
        {
            var key = image() switch
            {
                ClipImageColumn.ImagePath path => "path:" + path.Path,
                byte[] bytes => "bytes:" + FeatureCache.Key(bytes),
                DecodedImage decoded => $"pixels:{decoded.Width}x{decoded.Height}:{(int)decoded.Format}:{FeatureCache.Key(decoded.Pixels)}",
                var other => throw new InvalidOperationException($"Unexpected image value {other?.GetType().Name ?? "null"}."),
            };
            if (!sets.TryGetValue(key, out var rows))
            {
                sets[key] = rows = [];
                order.Add(rows);
            }
            rows.Add(cursor.Position);
        }
        return [.. order.Select(rows => rows.ToArray())];
    }

    // The rows an epoch trains on with one caption per image: one row of each image's set, drawn from a generator
    // seeded by (seed, epoch) alone, so a resumed run draws the same captions.
    private HashSet<long>? ChosenRows(int epoch)
    {
        if (_captionSets is null) return null;
        var random = new Random(unchecked(_seed * 7_919 + epoch * 104_729 + 1));
        var chosen = new HashSet<long>(_captionSets.Count);
        foreach (var rows in _captionSets) chosen.Add(rows[random.Next(rows.Length)]);
        return chosen;
    }

    public IEnumerable<ClipTrainingBatch> ReadEpoch(int epoch, int batchSize, long skipBatches, CancellationToken cancellationToken)
    {
        // Not HashCode.Combine: it is randomised per process, and the order must be reproducible across runs.
        var random = new Random(unchecked(_seed * 1_000_003 + epoch));
        var batchesInEpoch = RowCount / batchSize;
        var toSkip = skipBatches * batchSize;
        long emitted = 0, batches = skipBatches;
        var pending = new List<RawPair>(batchSize);
        foreach (var pair in Shuffled(random, ChosenRows(epoch), cancellationToken))
        {
            if (batches >= batchesInEpoch) yield break;
            if (emitted++ < toSkip) continue;
            pending.Add(pair);
            if (pending.Count < batchSize) continue;
            yield return Assemble(pending, epoch, batches);
            pending.Clear();
            batches++;
        }
    }

    // Reservoir-style shuffle buffer: fill, then each new row replaces a random slot whose row is emitted; drain at the end.
    // Rows outside chosenRows (one caption per image) are skipped before their values are read.
    private IEnumerable<RawPair> Shuffled(Random random, HashSet<long>? chosenRows, CancellationToken cancellationToken)
    {
        var buffer = new List<RawPair>(_shuffleBufferSize);
        using (var cursor = _data.GetRowCursor([_imageColumn, _textColumn]))
        {
            var image = ClipImageColumn.CreateGetter(cursor, _imageColumn);
            var textGetter = cursor.GetGetter<ReadOnlyMemory<char>>(_textColumn);
            ReadOnlyMemory<char> text = default;
            while (cursor.MoveNext())
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (chosenRows is not null && !chosenRows.Contains(cursor.Position)) continue;
                textGetter(ref text);
                var pair = new RawPair(image(), text.ToString(), cursor.Position);
                if (buffer.Count < _shuffleBufferSize)
                {
                    buffer.Add(pair);
                    continue;
                }
                var slot = random.Next(buffer.Count);
                yield return buffer[slot];
                buffer[slot] = pair;
            }
        }
        while (buffer.Count > 0)
        {
            var slot = random.Next(buffer.Count);
            yield return buffer[slot];
            buffer[slot] = buffer[^1];
            buffer.RemoveAt(buffer.Count - 1);
        }
    }

    private ClipTrainingBatch Assemble(List<RawPair> pairs, int epoch, long batchIndex)
    {
        // The augmentation's randomness derives from (seed, epoch, batch), so a resumed run crops identically.
        var texts = pairs.Select(p => p.Text).ToArray();
        Tensor tokens;
        if (_lockedText is not null) tokens = _lockedText.Featurize(texts).DetachFromDisposeScope();
        else
        {
            var ids = _tokenize(texts, _contextLength);
            var used = _cutToLongest ? UsedLength(ids, pairs.Count, _contextLength) : _contextLength;
            tokens = tensor(Narrow(ids, pairs.Count, _contextLength, used), [pairs.Count, used]).DetachFromDisposeScope();
        }
        if (_lockedFeatures is not null)
        {
            try
            {
                // Its errors name the column and row already (ClipImageRowError).
                var features = _lockedFeatures.Featurize(pairs.Select(p => p.Image).ToList(), pairs.Select(p => p.Row).ToList(),
                    _imageColumn.Name, epoch);
                return new ClipTrainingBatch(features.DetachFromDisposeScope(), tokens);
            }
            catch
            {
                tokens.Dispose();
                throw;
            }
        }
        var random = _crop is null ? null : new Random(unchecked((_seed * 1_000_003 + epoch) * 7_919 + (int)batchIndex));
        var length = _preprocessor.OutputLength;
        var pixels = new float[pairs.Count * length];
        for (var i = 0; i < pairs.Count; i++)
        {
            var row = pairs[i].Row;
            try
            {
                var name = $"column '{_imageColumn.Name}', row {row}";
                if (_crop is null) ClipImageColumn.Preprocess(_preprocessor, pairs[i].Image, pixels.AsSpan(i * length, length), name);
                else _crop.Preprocess(pairs[i].Image, pixels.AsSpan(i * length, length), random!, name);
            }
            catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
            {
                tokens.Dispose();
                throw ClipImageRowError.Naming(_imageColumn.Name, row, e.Message, e);
            }
        }
        var resolution = _preprocessor.Resolution;
        return new ClipTrainingBatch(tensor(pixels, [pairs.Count, 3, resolution, resolution]).DetachFromDisposeScope(), tokens);
    }

    /// <summary>
    /// The batch's token rows cut after the longest one's end token. Exact, not an approximation: the text tower is
    /// causal, so the feature at a row's end token never sees the padding after it, and the positional embeddings are
    /// taken per position. Captions are short, so this saves most of the text tower's work at context 77.
    /// </summary>
    internal static int UsedLength(long[] ids, int rows, int contextLength)
    {
        var used = 1;
        for (var r = 0; r < rows; r++)
        {
            var row = ids.AsSpan(r * contextLength, contextLength);
            var last = row.LastIndexOfAnyExcept(0L);
            used = Math.Max(used, last + 1);
        }
        return used;
    }

    private static long[] Narrow(long[] ids, int rows, int contextLength, int length)
    {
        if (length == contextLength) return ids;
        var narrow = new long[rows * length];
        for (var r = 0; r < rows; r++)
            ids.AsSpan(r * contextLength, length).CopyTo(narrow.AsSpan(r * length, length));
        return narrow;
    }

    private static long CountRows(IDataView data)
    {
        long count = 0;
        using var cursor = data.GetRowCursor([]);
        while (cursor.MoveNext()) count++;
        return count;
    }

    private sealed record RawPair(object Image, string Text, long Row);
}
