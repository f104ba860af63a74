using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Evaluation;

/// <summary>
/// Feature vectors with 0-based class indices and the class names, held in memory: what the linear probe,
/// the few-shot curve and the sweep work on (every fit reads the same rows, so they are read once).
/// </summary>
public sealed class LabeledFeatures
{
    // ML.NET's annotation kind for a key's names (AnnotationUtils.Kinds.KeyValues, internal).
    private const string KeyValuesKind = "KeyValues";

    /// <summary>Creates a set; every row must have the same length and every label must index <paramref name="classNames"/>.</summary>
    /// <param name="features">One feature vector per row.</param>
    /// <param name="labels">The class index (0-based) of each row.</param>
    /// <param name="classNames">The classes, in score-slot order.</param>
    public LabeledFeatures(IReadOnlyList<float[]> features, IReadOnlyList<int> labels, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (features.Count != labels.Count)
            throw new ArgumentException($"{features.Count} feature rows but {labels.Count} labels.", nameof(labels));
        if (classNames.Count < 2)
            throw new ArgumentException($"At least two classes are needed, got {classNames.Count}.", nameof(classNames));
        int d = features.Count == 0 ? 0 : features[0]?.Length ?? 0;
        for (int i = 0; i < features.Count; i++)
        {
            if (features[i] is null || features[i].Length != d || d == 0)
                throw new ArgumentException($"Feature row {i} has {features[i]?.Length ?? 0} values, expected {d} (all rows the same non-zero length).", nameof(features));
            if ((uint)labels[i] >= (uint)classNames.Count)
                throw new ArgumentException($"Label {labels[i]} of row {i} is not a class index in [0, {classNames.Count}).", nameof(labels));
        }
        Features = [.. features];
        Labels = [.. labels];
        ClassNames = [.. classNames];
        FeatureSize = d;
    }

    /// <summary>The feature vectors.</summary>
    public IReadOnlyList<float[]> Features { get; }

    /// <summary>0-based class index of each row.</summary>
    public IReadOnlyList<int> Labels { get; }

    /// <summary>Class names, in score-slot order (class i is key value i + 1).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of rows.</summary>
    public int Count => Features.Count;

    /// <summary>Length of every feature vector.</summary>
    public int FeatureSize { get; }

    /// <summary>Number of classes.</summary>
    public int ClassCount => ClassNames.Count;

    /// <summary>The rows at <paramref name="indices"/>, same classes.</summary>
    public LabeledFeatures Subset(IEnumerable<int> indices)
    {
        var idx = indices.ToArray();
        return new LabeledFeatures(idx.Select(i => Features[i]).ToArray(), idx.Select(i => Labels[i]).ToArray(), ClassNames);
    }

    /// <summary>These rows followed by <paramref name="other"/>'s (same classes).</summary>
    public LabeledFeatures Concat(LabeledFeatures other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!other.ClassNames.SequenceEqual(ClassNames))
            throw new ArgumentException("The two sets have different class names.", nameof(other));
        return new LabeledFeatures([.. Features, .. other.Features], [.. Labels, .. other.Labels], ClassNames);
    }

    /// <summary>
    /// Reads a float-vector feature column and a key label column (as <c>MapValueToKey</c> makes it) into memory;
    /// the class names come from the key's <c>KeyValues</c> annotation (or are the key values' numbers). Rows with
    /// a missing key are skipped.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has the wrong type (parameter <c>inputSchema</c>).</exception>
    public static LabeledFeatures FromDataView(IDataView data, string featureColumnName, string labelColumnName)
    {
        var (rows, labels, labelCol, keyCount) = ReadVectorsAndKeys(data, featureColumnName, labelColumnName);
        return new LabeledFeatures(rows, labels, ReadClassNames(labelCol, keyCount));
    }

    /// <summary>
    /// Reads a known-size float vector column and a <c>Key&lt;UInt32&gt;</c> column (key k → index k − 1), skipping rows
    /// with a missing key: the features of a probe, or the scores of a scored view.
    /// </summary>
    internal static (float[][] Vectors, int[] Labels, DataViewSchema.Column LabelColumn, int KeyCount) ReadVectorsAndKeys(
        IDataView data, string vectorColumnName, string labelColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (vectorCol, labelCol, keyCount) = CheckSchema(data.Schema, vectorColumnName, labelColumnName);
        var rows = new List<float[]>();
        var labels = new List<int>();
        using var cursor = data.GetRowCursor([vectorCol, labelCol]);
        var getVector = cursor.GetGetter<VBuffer<float>>(vectorCol);
        var getLabel = cursor.GetGetter<uint>(labelCol);
        VBuffer<float> buffer = default;
        uint key = 0;
        while (cursor.MoveNext())
        {
            getLabel(ref key);
            if (key == 0)
                continue;
            getVector(ref buffer);
            rows.Add(buffer.DenseValues().ToArray());
            labels.Add((int)key - 1);
        }
        return ([.. rows], [.. labels], labelCol, keyCount);
    }

    /// <summary>Checks that the schema holds a known-size float vector feature column and a <c>UInt32</c> key label.</summary>
    internal static (DataViewSchema.Column Features, DataViewSchema.Column Label, int KeyCount) CheckSchema(DataViewSchema schema, string featureColumnName, string labelColumnName)
    {
        var features = schema.GetColumnOrNull(featureColumnName) ?? throw new ArgumentOutOfRangeException("inputSchema", $"Could not find input column '{featureColumnName}'");
        if (features.Type is not VectorDataViewType { ItemType: NumberDataViewType n, Size: > 0 } || n.RawType != typeof(float))
            throw new ArgumentOutOfRangeException("inputSchema", $"Schema mismatch for input column '{featureColumnName}': expected known-size Vector<Single>, got {features.Type}");
        var label = schema.GetColumnOrNull(labelColumnName) ?? throw new ArgumentOutOfRangeException("inputSchema", $"Could not find input column '{labelColumnName}'");
        if (label.Type is not KeyDataViewType key || key.RawType != typeof(uint) || key.Count < 2 || key.Count > int.MaxValue)
            throw new ArgumentOutOfRangeException("inputSchema",
                $"Schema mismatch for input column '{labelColumnName}': expected Key<UInt32> with at least 2 values (use MapValueToKey), got {label.Type}");
        return (features, label, (int)key.Count);
    }

    private static string[] ReadClassNames(DataViewSchema.Column label, int keyCount)
    {
        var names = Enumerable.Range(1, keyCount).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var keyValues = label.Annotations.Schema.GetColumnOrNull(KeyValuesKind);
        if (keyValues?.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            label.GetKeyValues(ref values);
            int i = 0;
            foreach (var v in values.DenseValues())
                if (i < keyCount)
                    names[i++] = v.ToString();
        }
        return names;
    }

    /// <summary>
    /// An <see cref="IDataView"/> of these rows: <paramref name="featureColumnName"/> (<c>Vector&lt;Single, D&gt;</c>) and
    /// <paramref name="labelColumnName"/> (<c>Key&lt;UInt32, C&gt;</c> whose <c>KeyValues</c> are the class names).
    /// </summary>
    public IDataView ToDataView(MLContext mlContext, string featureColumnName = "Features", string labelColumnName = "Label")
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var schema = SchemaDefinition.Create(typeof(Row));
        // Look both columns up before renaming them: the indexer finds columns by their current name.
        var featureDef = schema[nameof(Row.Features)];
        var labelDef = schema[nameof(Row.Label)];
        featureDef.ColumnName = featureColumnName;
        featureDef.ColumnType = new VectorDataViewType(NumberDataViewType.Single, FeatureSize);
        labelDef.ColumnName = labelColumnName;
        labelDef.ColumnType = new KeyDataViewType(typeof(uint), ClassCount);
        var names = new VBuffer<ReadOnlyMemory<char>>(ClassCount, ClassNames.Select(n => n.AsMemory()).ToArray());
        labelDef.AddAnnotation(KeyValuesKind, names, new VectorDataViewType(TextDataViewType.Instance, ClassCount));
        // A key field of a loaded class holds the 0-based index: ML.NET stores index + 1 (0 is the missing key).
        var rows = Enumerable.Range(0, Count).Select(i => new Row { Features = Features[i], Label = (uint)Labels[i] }).ToArray();
        return mlContext.Data.LoadFromEnumerable(rows, schema);
    }

    private sealed class Row
    {
        public float[] Features = [];
        public uint Label;
    }
}
