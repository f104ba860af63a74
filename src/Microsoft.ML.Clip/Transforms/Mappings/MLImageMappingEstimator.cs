using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>
/// The <c>CustomMapping</c> over an ML.NET image column (<see cref="ClipColumns.ImageIn"/>), declared with the
/// column's own <see cref="ImageDataViewType"/>.
/// </summary>
/// <remarks>
/// ML.NET's <c>CustomMappingEstimator.GetOutputSchema</c> compares item types by reference, and every
/// <c>LoadImages</c> or <c>ResizeImages</c> transformer makes its own image type instance, so a declaration taken from
/// <see cref="MLImageRow"/> alone is rejected ("expected Image, got Image"). This estimator builds the mapping with an
/// input schema definition that holds the instance the data has. The fitted transformer is the plain registered
/// <c>CustomMapping</c>: a saved model reloads from the contract name, and the transformer binds any image column
/// (it checks only that the column holds <see cref="MLImage"/> values).
/// </remarks>
internal sealed class MLImageMappingEstimator(TransformsCatalog catalog, Action<MLImageRow, PixelsRow> map, string? contract) : IEstimator<ITransformer>
{
    private IEstimator<ITransformer> For(DataViewType imageType)
    {
        // ML.NET reads MLImage values only for image types registered with its type manager: the unsized one is
        // (AnySizeImageTypeAttribute); a sized one (from ResizeImages) is registered here the way [ImageType(h, w)] does.
        if (imageType is ImageDataViewType { Height: > 0, Width: > 0 } sized)
            new ImageTypeAttribute(sized.Height, sized.Width).Register();
        var input = SchemaDefinition.Create(typeof(MLImageRow), SchemaDefinition.Direction.Read);
        input[ClipColumns.ImageIn].ColumnType = imageType;
        return catalog.CustomMapping(map, contract, input);
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var column = inputSchema.FirstOrDefault(c => c.Name == ClipColumns.ImageIn);
        if (column.Name is null)
            throw ClipInputs.NotFound(ClipColumns.ImageIn);
        return For(column.ItemType).GetOutputSchema(inputSchema);
    }

    /// <inheritdoc/>
    public ITransformer Fit(IDataView input)
    {
        var column = input.Schema.GetColumnOrNull(ClipColumns.ImageIn) ?? throw ClipInputs.NotFound(ClipColumns.ImageIn);
        return For(column.Type).Fit(input);
    }
}
