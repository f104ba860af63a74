using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The output of <see cref="ClipTrainerTransformer.Transform"/>: the input's columns plus the embedding columns,
/// computed lazily per row (only when their getters are called).
/// </summary>
internal sealed class ClipTrainerEmbeddingDataView(ClipTrainerTransformer transformer, IDataView input, DataViewSchema schema,
    DataViewSchema.Column? imageColumn, DataViewSchema.Column? textColumn) : IDataView
{
    internal ClipTrainerTransformer Transformer { get; } = transformer;
    internal DataViewSchema.Column? ImageColumn { get; } = imageColumn;
    internal DataViewSchema.Column? TextColumn { get; } = textColumn;

    public bool CanShuffle => false;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.Select(c => c.Index).ToHashSet();
        var inputCount = input.Schema.Count;
        var inputColumns = input.Schema.Where(c => needed.Contains(c.Index)).ToList();
        var imageIndex = ImageColumn is null ? -1 : inputCount;
        var textIndex = TextColumn is null ? -1 : inputCount + (ImageColumn is null ? 0 : 1);
        if (ImageColumn is { } ic && needed.Contains(imageIndex) && !inputColumns.Contains(ic)) inputColumns.Add(ic);
        if (TextColumn is { } tc && needed.Contains(textIndex) && !inputColumns.Contains(tc)) inputColumns.Add(tc);
        return new Cursor(this, input.GetRowCursor(inputColumns), needed, imageIndex, textIndex);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ClipTrainerEmbeddingDataView _parent;
        private readonly DataViewRowCursor _input;
        private readonly HashSet<int> _active;
        private readonly int _imageIndex;
        private readonly int _textIndex;
        private readonly Func<object>? _image;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _text;
        private float[]? _imageEmbedding, _textEmbedding;
        private long _imagePosition = -1, _textPosition = -1;

        public Cursor(ClipTrainerEmbeddingDataView parent, DataViewRowCursor input, HashSet<int> active, int imageIndex, int textIndex)
        {
            _parent = parent;
            _input = input;
            _active = active;
            _imageIndex = imageIndex;
            _textIndex = textIndex;
            if (imageIndex >= 0 && active.Contains(imageIndex)) _image = ClipImageColumn.CreateGetter(input, parent.ImageColumn!.Value);
            if (textIndex >= 0 && active.Contains(textIndex)) _text = input.GetGetter<ReadOnlyMemory<char>>(parent.TextColumn!.Value);
        }

        public override DataViewSchema Schema => _parent.Schema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override bool MoveNext() => _input.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!IsColumnActive(column)) throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            if (column.Index < _input.Schema.Count) return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (typeof(TValue) != typeof(VBuffer<float>))
                throw new InvalidOperationException($"Column '{column.Name}' is a float vector; asked for {typeof(TValue).Name}.");
            ValueGetter<VBuffer<float>> getter = column.Index == _imageIndex
                ? (ref VBuffer<float> value) => value = new VBuffer<float>(ImageEmbedding().Length, ImageEmbedding())
                : (ref VBuffer<float> value) => value = new VBuffer<float>(TextEmbedding().Length, TextEmbedding());
            return (ValueGetter<TValue>)(object)getter;
        }

        private float[] ImageEmbedding()
        {
            if (_imagePosition != _input.Position)
            {
                var transformer = _parent.Transformer;
                var pixels = new float[transformer.Preprocessor.OutputLength];
                var name = $"column '{_parent.ImageColumn!.Value.Name}', row {_input.Position}";
                try
                {
                    ClipImageColumn.Preprocess(transformer.Preprocessor, _image!(), pixels, name);
                }
                catch (Exception e) when (e is InvalidDataException or FileNotFoundException or DirectoryNotFoundException)
                {
                    throw ClipImageRowError.Naming(_parent.ImageColumn!.Value.Name, _input.Position, e.Message, e);
                }
                _imageEmbedding = transformer.EmbedImages(pixels, 1);
                _imagePosition = _input.Position;
            }
            return _imageEmbedding!;
        }

        private float[] TextEmbedding()
        {
            if (_textPosition != _input.Position)
            {
                ReadOnlyMemory<char> text = default;
                _text!(ref text);
                _textEmbedding = _parent.Transformer.EmbedTexts([text.ToString()]);
                _textPosition = _input.Position;
            }
            return _textEmbedding!;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }
    }
}
