using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Reads an image column of any supported kind — <see cref="MLImage"/>, encoded bytes (<c>byte[]</c>, a byte vector)
/// or a file path (text) — into a value that outlives the cursor row, and preprocesses such values.
/// </summary>
internal static class ClipImageColumn
{
    /// <summary>Checks the column exists and holds images (the one definition: <see cref="ClipInputs.Image(DataViewSchema, string, int?)"/>).</summary>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name)
    {
        ClipInputs.Image(schema, name, pixelCount: null);
        return schema[name];
    }

    /// <summary>Checks the text column exists and is text (the trainer takes no token ids).</summary>
    public static DataViewSchema.Column FindText(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw ClipInputs.NotFound(name);
        if (column.Type is not TextDataViewType)
            throw ClipInputs.Mismatch(name, "String", column.Type.ToString() ?? "?");
        return column;
    }

    /// <summary>A getter returning the current row's image as a self-contained value (bytes, a path or decoded pixels).</summary>
    public static Func<object> CreateGetter(DataViewRow row, DataViewSchema.Column column)
    {
        switch (column.Type)
        {
            case ImageDataViewType:
                {
                    var getter = row.GetGetter<MLImage>(column);
                    MLImage image = null!;
                    // ML.NET's image getters dispose the previous image: copy the pixels out at once.
                    return () => { getter(ref image); return image is null ? throw new InvalidDataException("missing image") : DecodedImage.FromMLImage(image); };
                }
            case TextDataViewType:
                {
                    var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
                    ReadOnlyMemory<char> path = default;
                    return () => { getter(ref path); return new ImagePath(path.ToString()); };
                }
            default:
                {
                    var getter = row.GetGetter<VBuffer<byte>>(column);
                    VBuffer<byte> bytes = default;
                    return () => { getter(ref bytes); return bytes.DenseValues().ToArray(); };
                }
        }
    }

    /// <summary>Writes the preprocessed CHW floats of a value made by <see cref="CreateGetter"/>.</summary>
    public static void Preprocess(ClipImagePreprocessor preprocessor, object value, Span<float> destination, string sourceName)
    {
        switch (value)
        {
            case DecodedImage decoded: preprocessor.Preprocess(decoded, destination); break;
            case ImagePath path: preprocessor.PreprocessFile(path.Path, destination); break;
            case byte[] bytes: preprocessor.Preprocess(bytes, destination, sourceName); break;
            default: throw new InvalidOperationException($"Unexpected image value {value?.GetType().Name ?? "null"}.");
        }
    }

    /// <summary>A file path read from a text column.</summary>
    public sealed record ImagePath(string Path);
}
