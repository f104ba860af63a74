using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>
/// What the image-reading mappings need from the model, carried through the data as JSON in
/// <see cref="ClipColumns.PixelParameters"/> (see <see cref="ParameterColumns"/>), e.g.
/// <c>{"resize_mode":"shortest-side-center-crop","resolution":224,"skip_bad_rows":false}</c>. The model's mean and std are
/// not here: they are applied in the ONNX graph. A member this version does not know fails the load with a clear message
/// rather than being ignored (a newer package's preprocessing would otherwise be silently wrong).
/// </summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
internal sealed record ClipPixelParameters
{
    /// <summary><c>clip_model.json</c>'s <c>resize_mode</c> names.</summary>
    [JsonPropertyName("resize_mode")] public string ResizeMode { get; init; } = ClipPreprocessInfo.ShortestSideCenterCrop;

    /// <summary>Side of the square the image is brought to.</summary>
    [JsonPropertyName("resolution")] public int Resolution { get; init; }

    /// <summary>An unreadable image gives NaN pixels instead of an exception.</summary>
    [JsonPropertyName("skip_bad_rows")] public bool SkipBadRows { get; init; }

    /// <summary><c>clip_model.json</c>'s <c>preprocess.convert_rgb_first</c> (SigLIP): written only when true, so a CLIP
    /// pipeline stores the same parameters as before it existed.</summary>
    [JsonPropertyName("convert_rgb_first")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool ConvertRgbFirst { get; init; }

    /// <summary>The parameters of <paramref name="info"/>'s image preprocessing.</summary>
    public static ClipPixelParameters For(ClipModelInfo info, bool skipBadRows) => new()
    {
        ResizeMode = info.Preprocess.ResizeMode,
        Resolution = info.ImageResolution,
        SkipBadRows = skipBadRows,
        ConvertRgbFirst = info.Preprocess.ConvertRgbFirst,
    };

    /// <summary>The JSON the pipeline stores.</summary>
    public string ToJson() => JsonSerializer.Serialize(this);

    /// <summary>Reads and checks parameters stored by <see cref="ToJson"/>.</summary>
    /// <exception cref="InvalidDataException">The text is not such parameters (the message quotes it).</exception>
    public static ClipPixelParameters Parse(string json)
    {
        ClipPixelParameters? parameters;
        try
        {
            parameters = JsonSerializer.Deserialize<ClipPixelParameters>(json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"The CLIP image parameters stored in this pipeline cannot be read by this version of Microsoft.ML.Clip ({e.Message}): {json}", e);
        }
        if (parameters is null || parameters.Resolution <= 0
            || parameters.ResizeMode is not (ClipPreprocessInfo.ShortestSideCenterCrop or ClipPreprocessInfo.Squash))
            throw new InvalidDataException($"The CLIP image parameters stored in this pipeline are invalid: {json}");
        return parameters;
    }

    /// <summary>The preprocessor these parameters describe, giving RGB / 255 (mean 0 and std 1 give exactly that).</summary>
    public ClipImagePreprocessor CreatePreprocessor() => new(new ClipPreprocessSettings
    {
        Resolution = Resolution,
        ResizeMode = ClipPreprocessInfo.ToResizeMode(ResizeMode),
        ConvertRgbFirst = ConvertRgbFirst,
        Mean = [0f, 0f, 0f],
        Std = [1f, 1f, 1f],
    });
}

/// <summary>Row holding an image file path and the pixel parameters.</summary>
internal sealed class ImagePathRow
{
    /// <summary>The path.</summary>
    [ColumnName(ClipColumns.ImageIn)] public string Path = "";

    /// <summary>JSON of <see cref="ClipPixelParameters"/>.</summary>
    [ColumnName(ClipColumns.PixelParameters)] public ReadOnlyMemory<char> Parameters;
}

/// <summary>Row holding an encoded image file's bytes and the pixel parameters.</summary>
internal sealed class ImageBytesRow
{
    /// <summary>The bytes (PNG, JPEG, …).</summary>
    [ColumnName(ClipColumns.ImageIn)] public byte[] Bytes = [];

    /// <summary>JSON of <see cref="ClipPixelParameters"/>.</summary>
    [ColumnName(ClipColumns.PixelParameters)] public ReadOnlyMemory<char> Parameters;
}

/// <summary>
/// Row holding an ML.NET image of any size, the type <c>LoadImages</c> gives, and the pixel parameters.
/// <see cref="AnySizeImageTypeAttribute"/> declares the unsized <see cref="Microsoft.ML.Transforms.Image.ImageDataViewType"/>,
/// which ML.NET rebuilds from this class when it reloads a saved model, so the declaration needs nothing from the data.
/// </summary>
internal sealed class MLImageRow
{
    /// <summary>The image; ML.NET disposes it when the cursor moves, so its pixels are copied at once.</summary>
    [ColumnName(ClipColumns.ImageIn), AnySizeImageType] public MLImage? Image;

    /// <summary>JSON of <see cref="ClipPixelParameters"/>.</summary>
    [ColumnName(ClipColumns.PixelParameters)] public ReadOnlyMemory<char> Parameters;
}

/// <summary>
/// Row holding the resized, cropped RGB pixels scaled to [0, 1], CHW (normalisation happens in the ONNX graph). A
/// variable-size vector: its size comes from the parameters, which only the data knows.
/// </summary>
internal sealed class PixelsRow
{
    /// <summary>3 · R · R values.</summary>
    [ColumnName(ClipColumns.Pixels)] public float[] Pixels = [];
}

/// <summary>
/// Base of the image-reading <c>CustomMapping</c> factories, one per input kind
/// (<c>Microsoft.ML.Clip.Pixels.{Path|Bytes|Image}.v2</c>): each row brings its image and the
/// <see cref="ClipPixelParameters"/>, parsed once per parameter string.
/// </summary>
internal abstract class ClipPixelMappingBase<TSrc> : CustomMappingFactory<TSrc, PixelsRow>
    where TSrc : class, new()
{
    /// <inheritdoc/>
    public override Action<TSrc, PixelsRow> GetMapping()
    {
        var stages = new ParsedParameters<(ClipPixelParameters Parameters, ClipImagePreprocessor Preprocessor)>(json =>
        {
            var parameters = ClipPixelParameters.Parse(json);
            return (parameters, parameters.CreatePreprocessor());
        });
        return (src, dst) =>
        {
            var (parameters, preprocessor) = stages.Get(Parameters(src));
            if (dst.Pixels.Length != preprocessor.OutputLength)
                dst.Pixels = new float[preprocessor.OutputLength];
            try
            {
                Fill(preprocessor, src, dst.Pixels);
            }
            catch (Exception e) when (parameters.SkipBadRows && ClipModel.IsBadInput(e))
            {
                // The row's embedding becomes NaN: visible, and dropped by ML.NET's missing-value filters.
                dst.Pixels.AsSpan().Fill(float.NaN);
            }
        };
    }

    private protected abstract ReadOnlyMemory<char> Parameters(TSrc src);

    private protected abstract void Fill(ClipImagePreprocessor preprocessor, TSrc src, Span<float> destination);
}

/// <summary>Reads image files by path.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipPathPixelMapping : ClipPixelMappingBase<ImagePathRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Pixels.Path.v2";

    private protected override ReadOnlyMemory<char> Parameters(ImagePathRow src) => src.Parameters;

    private protected override void Fill(ClipImagePreprocessor preprocessor, ImagePathRow src, Span<float> destination)
    {
        if (string.IsNullOrEmpty(src.Path))
            throw new InvalidDataException("The image path is missing (empty).");
        preprocessor.PreprocessFile(src.Path, destination);
    }
}

/// <summary>Decodes encoded image bytes.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipBytesPixelMapping : ClipPixelMappingBase<ImageBytesRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Pixels.Bytes.v2";

    private protected override ReadOnlyMemory<char> Parameters(ImageBytesRow src) => src.Parameters;

    private protected override void Fill(ClipImagePreprocessor preprocessor, ImageBytesRow src, Span<float> destination)
        => preprocessor.Preprocess(src.Bytes ?? [], destination, "image bytes");
}

/// <summary>Preprocesses ML.NET images (<see cref="MLImage"/>) exactly like decoded files.</summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipMLImagePixelMapping : ClipPixelMappingBase<MLImageRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Pixels.Image.v2";

    private protected override ReadOnlyMemory<char> Parameters(MLImageRow src) => src.Parameters;

    private protected override void Fill(ClipImagePreprocessor preprocessor, MLImageRow src, Span<float> destination)
    {
        // The getter that filled src disposes this image when the cursor moves: copy the pixels now.
        var image = src.Image ?? throw new InvalidDataException("The image is missing (null MLImage).");
        preprocessor.Preprocess(DecodedImage.FromMLImage(image), destination);
    }
}
