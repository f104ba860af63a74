using Microsoft.ML.Clip.Transforms;
using Microsoft.ML.Data;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

/// <summary>The one image-column check: the estimators' view (pixels accepted) and the trainer's (no pixel count).</summary>
public class ClipInputsTests
{
    private static DataViewSchema Schema(DataViewType type)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn("Image", type);
        return builder.ToSchema();
    }

    [Fact]
    public void ImageKindsAreTheSameWithOrWithoutPixelsExceptPixels()
    {
        foreach (int? pixels in new int?[] { 12, null })
        {
            Assert.Equal(ClipInputKind.ImagePath, ClipInputs.Image(Schema(TextDataViewType.Instance), "Image", pixels));
            Assert.Equal(ClipInputKind.ImageBytes, ClipInputs.Image(Schema(new VectorDataViewType(NumberDataViewType.Byte)), "Image", pixels));
            Assert.Equal(ClipInputKind.Image, ClipInputs.Image(Schema(new Microsoft.ML.Transforms.Image.ImageDataViewType()), "Image", pixels));
        }
        var pixelColumn = Schema(new VectorDataViewType(NumberDataViewType.Single, 12));
        Assert.Equal(ClipInputKind.Pixels, ClipInputs.Image(pixelColumn, "Image", 12));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ClipInputs.Image(pixelColumn, "Image", null));
        Assert.Equal("inputSchema", e.ParamName);
        Assert.StartsWith("Schema mismatch for input column 'Image': expected String (image path), Vector<Byte> (encoded image) or Image (MLImage, e.g. from LoadImages), got Vector<Single, 12>", e.Message);
        Assert.StartsWith("Could not find input column 'Photo'", Assert.Throws<ArgumentOutOfRangeException>(() => ClipInputs.Image(pixelColumn, "Photo", null)).Message);
    }
}
