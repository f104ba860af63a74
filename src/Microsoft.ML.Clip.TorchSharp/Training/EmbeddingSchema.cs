using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// Builds the <see cref="SchemaShape"/> with two known-size float vector columns added. <see cref="SchemaShape.Column"/>
/// cannot be constructed outside ML.NET, so a no-op <c>CustomMapping</c> estimator with an output schema definition
/// declares them and ML.NET computes the shape.
/// </summary>
internal static class EmbeddingSchema
{
    public static SchemaShape Append(MLContext mlContext, SchemaShape input, string imageColumn, string textColumn, int dimension)
    {
        var definition = SchemaDefinition.Create(typeof(EmbeddingColumns));
        var type = new VectorDataViewType(NumberDataViewType.Single, dimension);
        definition[nameof(EmbeddingColumns.Image)].ColumnType = type;
        definition[nameof(EmbeddingColumns.Text)].ColumnType = type;
        definition[nameof(EmbeddingColumns.Image)].ColumnName = imageColumn;
        definition[nameof(EmbeddingColumns.Text)].ColumnName = textColumn;
        var declare = mlContext.Transforms.CustomMapping<NoColumns, EmbeddingColumns>((_, _) => { }, contractName: null,
            outputSchemaDefinition: definition);
        return declare.GetOutputSchema(input);
    }

    /// <summary>The mapping's (empty) input.</summary>
    public sealed class NoColumns;

    /// <summary>The declared output columns.</summary>
    public sealed class EmbeddingColumns
    {
        public float[] Image = [];
        public float[] Text = [];
    }
}
