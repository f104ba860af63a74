using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Bulk;

/// <summary>
/// The bulk embedding path: a lazy <see cref="IDataView"/> over an input view that adds an embedding column,
/// computed with one ONNX Runtime call per batch of rows. Each cursor reads ahead one batch of the input column
/// with a second cursor over the same data, so the pass-through columns stream from the first one untouched.
/// </summary>
/// <remarks>
/// Not usable by <c>PredictionEngine</c> or <c>mlContext.Model.Save</c> (it is not a transformer); use the catalog
/// methods for those. Cursors are sequential: the view cannot shuffle and gives one cursor per request.
/// </remarks>
public sealed class ClipEmbeddingDataView : IDataView
{
    private readonly IDataView _source;
    private readonly ClipModel _model;
    private readonly ClipInputKind _kind;
    private readonly int _inputIndex;
    private readonly bool _normalize;
    private readonly bool _skipBadRows;
    private readonly ClipTruncation _truncation;
    private readonly Action<string>? _log;

    internal ClipEmbeddingDataView(IDataView source, ClipModel model, string inputColumnName, string outputColumnName, bool images,
        bool normalize, int batchSize, bool skipBadRows, ClipTruncation truncation, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be positive.");
        _source = source;
        _model = model;
        _kind = images
            ? ClipInputs.Image(source.Schema, inputColumnName, model.PixelCount)
            : ClipInputs.Text(source.Schema, inputColumnName, model.ContextLength);
        _inputIndex = source.Schema[inputColumnName].Index;
        _normalize = normalize;
        _skipBadRows = skipBadRows;
        _truncation = truncation;
        _log = log;
        BatchSize = batchSize;
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(source.Schema);
        builder.AddColumn(outputColumnName, new VectorDataViewType(NumberDataViewType.Single, model.EmbeddingSize));
        Schema = builder.ToSchema();
    }

    /// <summary>Rows per ONNX Runtime call.</summary>
    public int BatchSize { get; }

    /// <inheritdoc/>
    public bool CanShuffle => false;

    /// <inheritdoc/>
    public DataViewSchema Schema { get; }

    private int OutputIndex => Schema.Count - 1;

    /// <inheritdoc/>
    public long? GetRowCount() => _source.GetRowCount();

    /// <inheritdoc/>
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        bool embed = needed.Contains(OutputIndex);
        var passThrough = _source.Schema.Where(c => needed.Contains(c.Index)).ToArray();
        return new Cursor(this, _source.GetRowCursor(passThrough), embed ? _source.GetRowCursor([_source.Schema[_inputIndex]]) : null, needed);
    }

    /// <inheritdoc/>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ClipEmbeddingDataView _parent;
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly HashSet<int> _active;
        private readonly BatchReader? _reader;
        private float[] _embeddings = [];
        private int _batchCount;
        private int _indexInBatch = -1;
        private long _skipped;
        private long _rows;

        public Cursor(ClipEmbeddingDataView parent, DataViewRowCursor main, DataViewRowCursor? ahead, HashSet<int> active)
        {
            _parent = parent;
            _main = main;
            _ahead = ahead;
            _active = active;
            if (ahead != null)
                _reader = new BatchReader(parent, ahead);
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _main.Position;
        public override long Batch => _main.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override bool MoveNext()
        {
            if (!_main.MoveNext())
                return false;
            if (_reader is null)
                return true;
            if (++_indexInBatch >= _batchCount)
            {
                _batchCount = _reader.Next(ref _embeddings, ref _skipped);
                _rows += _batchCount;
                _indexInBatch = 0;
                if (_batchCount == 0)
                    throw new InvalidOperationException("The input view gave fewer rows to the read-ahead cursor than to the main cursor.");
            }
            return true;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _parent.OutputIndex)
                return _main.GetGetter<TValue>(_main.Schema[column.Index]);
            if (_reader is null)
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            if (typeof(TValue) != typeof(VBuffer<float>))
                throw new InvalidOperationException($"Column '{column.Name}' is {column.Type}; asked for {typeof(TValue).Name}.");
            int d = _parent._model.EmbeddingSize;
            ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
            {
                var editor = VBufferEditor.Create(ref value, d);
                _embeddings.AsSpan(_indexInBatch * d, d).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                if (_skipped > 0)
                    _parent._log?.Invoke($"Skipped {_skipped} of {_rows} rows whose image could not be read (their embeddings are NaN).");
                if (_reader?.Truncated > 0)
                    _parent._log?.Invoke($"{_reader.Truncated} of {_rows} texts were longer than {_parent._model.ContextLength} tokens and were truncated.");
                _main.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Batches of texts read at a time for an encoder of any length (see <see cref="BatchReader"/>).</summary>
    internal const int TextSortWindow = 32;

    /// <summary>
    /// Reads one batch of the input column (texts for an encoder of any length: <see cref="TextSortWindow"/> batches),
    /// preprocesses it and runs the encoder once per batch.
    /// </summary>
    private sealed class BatchReader
    {
        private readonly ClipEmbeddingDataView _parent;
        private readonly DataViewRowCursor _cursor;
        private readonly Delegate _getter;
        private readonly object?[] _items;
        private readonly float[] _pixels = [];
        private readonly long[] _ids = [];
        private readonly long[] _positions;
        private readonly int _chunk;
        // Reused across rows so the getters can recycle their buffers (no allocation per row).
        private VBuffer<float> _floats;
        private VBuffer<byte> _bytes;
        private VBuffer<long> _longs;
        private ReadOnlyMemory<char> _text;

        /// <summary>Texts cut to the context so far (as <see cref="ClipModel.EmbedTexts(IReadOnlyList{string}, ClipTruncation)"/>, logged at the end).</summary>
        public long Truncated { get; private set; }

        public BatchReader(ClipEmbeddingDataView parent, DataViewRowCursor cursor)
        {
            _parent = parent;
            _cursor = cursor;
            var column = cursor.Schema[parent._inputIndex];
            _getter = parent._kind switch
            {
                ClipInputKind.Pixels => cursor.GetGetter<VBuffer<float>>(column),
                ClipInputKind.ImagePath or ClipInputKind.Text => cursor.GetGetter<ReadOnlyMemory<char>>(column),
                ClipInputKind.ImageBytes => cursor.GetGetter<VBuffer<byte>>(column),
                ClipInputKind.Image => cursor.GetGetter<MLImage>(column),
                _ => cursor.GetGetter<VBuffer<long>>(column),
            };
            int b = parent.BatchSize;
            bool text = parent._kind is ClipInputKind.Text or ClipInputKind.TokenIds;
            // Texts for an encoder of any length are read TextSortWindow batches at a time and embedded shortest first
            // (ClipModel.EmbedTokenRows: a call holds BatchSize × context ids, so many short rows); results keep the rows' order.
            _chunk = text && parent._model.DynamicTextLength ? b * TextSortWindow : b;
            _items = new object?[_chunk];
            _positions = new long[_chunk];
            if (text)
                _ids = new long[_chunk * parent._model.ContextLength];
            else
                _pixels = new float[b * parent._model.PixelCount];
        }

        /// <summary>Fills <paramref name="embeddings"/> with the next batch; returns its row count (0 at the end).</summary>
        public int Next(ref float[] embeddings, ref long skipped)
        {
            var model = _parent._model;
            int n = 0;
            while (n < _chunk && _cursor.MoveNext())
            {
                _positions[n] = _cursor.Position;
                Read(n++);
            }
            if (n == 0)
                return 0;
            int d = model.EmbeddingSize;
            if (embeddings.Length < n * d)
                embeddings = new float[_chunk * d];
            var output = embeddings.AsSpan(0, n * d);
            if (_parent._kind is ClipInputKind.Text or ClipInputKind.TokenIds)
            {
                model.EmbedTokenRows(_ids.AsSpan(0, n * model.ContextLength), n, output, _parent.BatchSize);
            }
            else
            {
                List<int> bad;
                try
                {
                    bad = Preprocess(n);
                }
                finally
                {
                    // Drop the batch's decoded images and encoded bytes now rather than holding them until the next batch.
                    Array.Clear(_items, 0, n);
                }
                model.RunImages(_pixels, n, output);
                foreach (var j in bad)
                    output.Slice(j * d, d).Fill(float.NaN);
                skipped += bad.Count;
            }
            if (_parent._normalize)
                for (int j = 0; j < n; j++)
                    ClipModel.Normalize(output.Slice(j * d, d));
            return n;
        }

        private void Read(int j)
        {
            var model = _parent._model;
            switch (_parent._kind)
            {
                case ClipInputKind.Pixels:
                {
                    ((ValueGetter<VBuffer<float>>)_getter)(ref _floats);
                    _floats.CopyTo(_pixels.AsSpan(j * model.PixelCount, model.PixelCount));
                    break;
                }
                case ClipInputKind.ImagePath:
                {
                    ((ValueGetter<ReadOnlyMemory<char>>)_getter)(ref _text);
                    _items[j] = _text.ToString();
                    break;
                }
                case ClipInputKind.ImageBytes:
                {
                    ((ValueGetter<VBuffer<byte>>)_getter)(ref _bytes);
                    // A dense buffer (the usual case) is copied in one block, not byte by byte through an iterator.
                    _items[j] = _bytes.IsDense ? _bytes.GetValues().ToArray() : _bytes.DenseValues().ToArray();
                    break;
                }
                case ClipInputKind.Image:
                {
                    MLImage? image = null;
                    ((ValueGetter<MLImage>)_getter)(ref image!);
                    // The next call disposes this image: copy the pixels now. A failure is kept for the row.
                    try { _items[j] = image is null ? new InvalidDataException("The image is missing (null MLImage).") : DecodedImage.FromMLImage(image); }
                    catch (Exception e) when (ClipModel.IsBadInput(e)) { _items[j] = e; }
                    break;
                }
                case ClipInputKind.Text:
                {
                    ((ValueGetter<ReadOnlyMemory<char>>)_getter)(ref _text);
                    var text = _text.ToString();
                    try
                    {
                        if (model.EncodeToContext(text, _ids.AsSpan(j * model.ContextLength, model.ContextLength), _parent._truncation))
                            Truncated++;
                    }
                    catch (ArgumentException e)
                    {
                        throw new InvalidDataException($"Row {_cursor.Position} of column '{_cursor.Schema[_parent._inputIndex].Name}': {e.Message}", e);
                    }
                    break;
                }
                default:
                {
                    ((ValueGetter<VBuffer<long>>)_getter)(ref _longs);
                    _longs.CopyTo(_ids.AsSpan(j * model.ContextLength, model.ContextLength));
                    break;
                }
            }
        }

        /// <summary>Decodes and preprocesses the batch in parallel; returns the rows that failed (when skipping).</summary>
        private List<int> Preprocess(int n)
        {
            var model = _parent._model;
            var bad = new List<int>();
            if (_parent._kind == ClipInputKind.Pixels)
                return bad;
            var errors = new Exception?[n];
            var preprocessor = model.Preprocessor;
            Parallel.For(0, n, j =>
            {
                var destination = _pixels.AsSpan(j * model.PixelCount, model.PixelCount);
                if (_items[j] is Exception failed)
                {
                    // Read already caught this one: keep it as is (rethrowing would lose its stack trace).
                    errors[j] = failed;
                    destination.Clear();
                    return;
                }
                try
                {
                    switch (_items[j])
                    {
                        case string path when path.Length == 0:
                            throw new InvalidDataException("The image path is missing (empty).");
                        case string path:
                            preprocessor.PreprocessFile(path, destination);
                            break;
                        case byte[] bytes:
                            preprocessor.Preprocess(bytes, destination, $"row {_positions[j]}");
                            break;
                        case DecodedImage image:
                            preprocessor.Preprocess(image, destination);
                            break;
                    }
                }
                catch (Exception e) when (ClipModel.IsBadInput(e))
                {
                    errors[j] = e;
                    destination.Clear();
                }
            });
            for (int j = 0; j < n; j++)
            {
                if (errors[j] is not { } e)
                    continue;
                if (!_parent._skipBadRows)
                    throw ClipModel.BadRow(_positions[j], _items[j] as string ?? $"row {_positions[j]}", e);
                bad.Add(j);
            }
            return bad;
        }
    }
}
