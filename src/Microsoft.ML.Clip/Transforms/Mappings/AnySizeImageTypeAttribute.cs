using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>
/// Declares an <see cref="MLImage"/> field or property as an image column of any size: the unsized
/// <see cref="ImageDataViewType"/>, which <c>LoadImages</c> produces.
/// </summary>
/// <remarks>
/// ML.NET 5.0.1's parameterless <see cref="ImageTypeAttribute"/> promises this but throws when registered (it builds an
/// image type of height 0). A <c>CustomMapping</c> input class needs the declaration because ML.NET rebuilds the
/// mapping's schema from the class alone when it reloads a saved model; this attribute makes that work without
/// a size in the code.
/// </remarks>
[AttributeUsage(AttributeTargets.Field | AttributeTargets.Property, AllowMultiple = false)]
public sealed class AnySizeImageTypeAttribute : DataViewTypeAttribute
{
    /// <summary>Binds <see cref="MLImage"/> with this attribute to the unsized <see cref="ImageDataViewType"/>.</summary>
    public override void Register() => DataViewTypeManager.Register(new ImageDataViewType(), typeof(MLImage), this);

    /// <summary>All instances are equivalent (the attribute has no parameters).</summary>
    public override bool Equals(DataViewTypeAttribute other) => other is AnySizeImageTypeAttribute;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is AnySizeImageTypeAttribute;

    /// <inheritdoc/>
    public override int GetHashCode() => typeof(AnySizeImageTypeAttribute).GetHashCode();
}
