using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>What an input column holds.</summary>
internal enum ClipInputKind
{
    /// <summary>Preprocessed CHW pixels, <c>Vector&lt;Single, 3·R·R&gt;</c>.</summary>
    Pixels,
    /// <summary>Image file path, <c>String</c>.</summary>
    ImagePath,
    /// <summary>Encoded image file bytes, <c>Vector&lt;Byte&gt;</c>.</summary>
    ImageBytes,
    /// <summary>An ML.NET <c>Image</c> (<c>MLImage</c>).</summary>
    Image,
    /// <summary>Token ids, <c>Vector&lt;Int64, L&gt;</c>.</summary>
    TokenIds,
    /// <summary>Text, <c>String</c>.</summary>
    Text,
}

/// <summary>
/// Recognises image and text input columns and throws ML.NET's schema errors
/// (<see cref="ArgumentOutOfRangeException"/>, parameter <c>inputSchema</c>) for missing or mistyped ones: the one
/// definition of which column types are images, for the estimators here and the trainer.
/// </summary>
/// <remarks>
/// A null pixel count means the caller decodes images itself and takes no preprocessed pixels (the trainer).
/// </remarks>
// friend: Microsoft.ML.Clip.TorchSharp's trainer checks its image and text columns with these.
internal static class ClipInputs
{
    public static string ImageExpectation(int? pixelCount) => pixelCount is int n
        ? $"String (image path), Vector<Byte> (encoded image), Image (MLImage, e.g. from LoadImages) or Vector<Single, {n}> (preprocessed pixels)"
        : "String (image path), Vector<Byte> (encoded image) or Image (MLImage, e.g. from LoadImages)";

    public static string TextExpectation(int contextLength) => $"String or Vector<Int64, {contextLength}> (token ids)";

    public static ArgumentOutOfRangeException NotFound(string column)
        => new("inputSchema", $"Could not find input column '{column}'");

    public static ArgumentOutOfRangeException Mismatch(string column, string expected, string actual)
        => new("inputSchema", $"Schema mismatch for input column '{column}': expected {expected}, got {actual}");

    /// <summary>The kind of an image column in a fitted schema (vector sizes checked).</summary>
    public static ClipInputKind Image(DataViewSchema schema, string column, int? pixelCount)
    {
        var col = schema.GetColumnOrNull(column) ?? throw NotFound(column);
        var type = col.Type;
        ClipInputKind? kind = type switch
        {
            TextDataViewType => ClipInputKind.ImagePath,
            ImageDataViewType => ClipInputKind.Image,
            VectorDataViewType { ItemType: NumberDataViewType n } v when n.RawType == typeof(byte) => ClipInputKind.ImageBytes,
            VectorDataViewType { ItemType: NumberDataViewType n } v when n.RawType == typeof(float) && pixelCount is not null && v.Size == pixelCount => ClipInputKind.Pixels,
            _ => null,
        };
        return kind ?? throw Mismatch(column, ImageExpectation(pixelCount), type.ToString() ?? "?");
    }

    /// <summary>The kind of an image column in a schema shape (vector sizes are not known there).</summary>
    public static ClipInputKind Image(SchemaShape shape, string column, int? pixelCount)
    {
        var col = Find(shape, column);
        ClipInputKind? kind = col switch
        {
            { Kind: SchemaShape.Column.VectorKind.Scalar, ItemType: TextDataViewType } => ClipInputKind.ImagePath,
            { Kind: SchemaShape.Column.VectorKind.Scalar, ItemType: ImageDataViewType } => ClipInputKind.Image,
            { Kind: not SchemaShape.Column.VectorKind.Scalar, IsKey: false, ItemType: NumberDataViewType n } when n.RawType == typeof(byte) => ClipInputKind.ImageBytes,
            { Kind: SchemaShape.Column.VectorKind.Vector, IsKey: false, ItemType: NumberDataViewType n } when n.RawType == typeof(float) && pixelCount is not null => ClipInputKind.Pixels,
            _ => null,
        };
        return kind ?? throw Mismatch(column, ImageExpectation(pixelCount), Describe(col));
    }

    /// <summary>The kind of a text column in a fitted schema.</summary>
    public static ClipInputKind Text(DataViewSchema schema, string column, int contextLength)
    {
        var col = schema.GetColumnOrNull(column) ?? throw NotFound(column);
        return col.Type switch
        {
            TextDataViewType => ClipInputKind.Text,
            VectorDataViewType { ItemType: NumberDataViewType n } v when n.RawType == typeof(long) && v.Size == contextLength => ClipInputKind.TokenIds,
            _ => throw Mismatch(column, TextExpectation(contextLength), col.Type.ToString() ?? "?"),
        };
    }

    /// <summary>The kind of a text column in a schema shape.</summary>
    public static ClipInputKind Text(SchemaShape shape, string column, int contextLength)
    {
        var col = Find(shape, column);
        return col switch
        {
            { Kind: SchemaShape.Column.VectorKind.Scalar, ItemType: TextDataViewType } => ClipInputKind.Text,
            { Kind: SchemaShape.Column.VectorKind.Vector, IsKey: false, ItemType: NumberDataViewType n } when n.RawType == typeof(long) => ClipInputKind.TokenIds,
            _ => throw Mismatch(column, TextExpectation(contextLength), Describe(col)),
        };
    }

    private static SchemaShape.Column Find(SchemaShape shape, string column)
    {
        foreach (var c in shape)
            if (c.Name == column)
                return c;
        throw NotFound(column);
    }

    private static string Describe(SchemaShape.Column col)
    {
        var item = col.IsKey ? $"Key<{col.ItemType}>" : col.ItemType?.ToString() ?? "?";
        return col.Kind == SchemaShape.Column.VectorKind.Scalar ? item : $"Vector<{item}>";
    }
}
