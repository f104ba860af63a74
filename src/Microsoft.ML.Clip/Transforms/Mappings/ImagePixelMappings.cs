using System.Reflection;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>Row holding an image file path.</summary>
public sealed class ImagePathRow
{
    /// <summary>The path.</summary>
    [ColumnName(ClipColumns.ImageIn)] public string Path = "";
}

/// <summary>Row holding an encoded image file's bytes.</summary>
public sealed class ImageBytesRow
{
    /// <summary>The bytes (PNG, JPEG, …).</summary>
    [ColumnName(ClipColumns.ImageIn)] public byte[] Bytes = [];
}

/// <summary>
/// Row holding an ML.NET image of any size, the type <c>LoadImages</c> gives. <see cref="AnySizeImageTypeAttribute"/>
/// declares the unsized <see cref="Microsoft.ML.Transforms.Image.ImageDataViewType"/>, which ML.NET rebuilds from
/// this class when it reloads a saved model, so the declaration needs nothing from the data.
/// </summary>
public sealed class MLImageRow
{
    /// <summary>The image; ML.NET disposes it when the cursor moves, so its pixels are copied at once.</summary>
    [ColumnName(ClipColumns.ImageIn), AnySizeImageType] public MLImage? Image;
}

/// <summary>Row holding the resized, cropped RGB pixels scaled to [0, 1], CHW (normalisation happens in the ONNX graph).</summary>
public sealed class PixelsRow
{
    /// <summary>3 · R · R values.</summary>
    [ColumnName(ClipColumns.Pixels)] public float[] Pixels = [];
}

/// <summary>
/// Base of the image-reading <c>CustomMapping</c> factories. A saved model can only name a parameterless
/// factory, so the resize mode, resolution and bad-row policy are part of the contract name
/// (<c>Microsoft.ML.Clip.Pixels.{Path|Bytes|Image}.{Crop|Squash}{R}.{Throw|Skip}.v1</c>), one small class each.
/// </summary>
public abstract class ClipPixelMappingBase<TSrc> : CustomMappingFactory<TSrc, PixelsRow>
    where TSrc : class, new()
{
    private readonly ClipPreprocessSettings _settings;
    private readonly bool _skipBadRows;

    private protected ClipPixelMappingBase(ClipResizeMode mode, int resolution, bool skipBadRows)
    {
        // Mean 0 and std 1 give u8 / 255 exactly; the model's mean and std are applied in the ONNX graph.
        _settings = new ClipPreprocessSettings { Resolution = resolution, ResizeMode = mode, Mean = [0f, 0f, 0f], Std = [1f, 1f, 1f] };
        _skipBadRows = skipBadRows;
    }

    /// <inheritdoc/>
    public override Action<TSrc, PixelsRow> GetMapping()
    {
        var preprocessor = new ClipImagePreprocessor(_settings);
        var skip = _skipBadRows;
        return (src, dst) =>
        {
            if (dst.Pixels.Length != preprocessor.OutputLength)
                dst.Pixels = new float[preprocessor.OutputLength];
            try
            {
                Fill(preprocessor, src, dst.Pixels);
            }
            catch (Exception e) when (skip && Models.ClipModel.IsBadInput(e))
            {
                // The row's embedding becomes NaN: visible, and dropped by ML.NET's missing-value filters.
                dst.Pixels.AsSpan().Fill(float.NaN);
            }
        };
    }

    private protected abstract void Fill(ClipImagePreprocessor preprocessor, TSrc src, Span<float> destination);
}

/// <summary>Reads image files by path.</summary>
public abstract class ClipPathPixelMapping(ClipResizeMode mode, int resolution, bool skipBadRows)
    : ClipPixelMappingBase<ImagePathRow>(mode, resolution, skipBadRows)
{
    private protected override void Fill(ClipImagePreprocessor preprocessor, ImagePathRow src, Span<float> destination)
    {
        if (string.IsNullOrEmpty(src.Path))
            throw new InvalidDataException("The image path is missing (empty).");
        preprocessor.PreprocessFile(src.Path, destination);
    }
}

/// <summary>Decodes encoded image bytes.</summary>
public abstract class ClipBytesPixelMapping(ClipResizeMode mode, int resolution, bool skipBadRows)
    : ClipPixelMappingBase<ImageBytesRow>(mode, resolution, skipBadRows)
{
    private protected override void Fill(ClipImagePreprocessor preprocessor, ImageBytesRow src, Span<float> destination)
        => preprocessor.Preprocess(src.Bytes ?? [], destination, "image bytes");
}

/// <summary>Preprocesses ML.NET images (<see cref="MLImage"/>) exactly like decoded files.</summary>
public abstract class ClipMLImagePixelMapping(ClipResizeMode mode, int resolution, bool skipBadRows)
    : ClipPixelMappingBase<MLImageRow>(mode, resolution, skipBadRows)
{
    private protected override void Fill(ClipImagePreprocessor preprocessor, MLImageRow src, Span<float> destination)
    {
        // The getter that filled src disposes this image when the cursor moves: copy the pixels now.
        var image = src.Image ?? throw new InvalidDataException("The image is missing (null MLImage).");
        preprocessor.Preprocess(DecodedImage.FromMLImage(image), destination);
    }
}

/// <summary>Finds the registered pixel mapping for a set of parameters.</summary>
internal static class ClipPixelMappings
{
    private static readonly Lazy<Dictionary<string, Type>> Registered = new(() =>
        typeof(ClipPixelMappings).Assembly.GetTypes()
            .Select(t => (Type: t, Attribute: t.GetCustomAttribute<CustomMappingFactoryAttributeAttribute>()))
            .Where(x => x.Attribute != null && x.Attribute.ContractName.StartsWith("Microsoft.ML.Clip.Pixels.", StringComparison.Ordinal))
            .ToDictionary(x => x.Attribute!.ContractName, x => x.Type));

    /// <summary>Resolutions that have registered (savable) factories.</summary>
    public static readonly int[] Resolutions = [64, 224, 256, 288, 336, 384, 448, 512];

    /// <summary>The contract name for the parameters.</summary>
    public static string ContractName(ClipInputKind kind, ClipResizeMode mode, int resolution, bool skipBadRows)
        => $"Microsoft.ML.Clip.Pixels.{KindName(kind)}.{(mode == ClipResizeMode.Squash ? "Squash" : "Crop")}{resolution}.{(skipBadRows ? "Skip" : "Throw")}.v1";

    /// <summary>
    /// The registered factory's contract name and mapping, or (null, an equivalent unregistered mapping) for a
    /// resolution without one: such a pipeline runs but cannot be saved.
    /// </summary>
    public static (string? Contract, Delegate Map) For(ClipInputKind kind, ClipResizeMode mode, int resolution, bool skipBadRows)
    {
        var contract = ContractName(kind, mode, resolution, skipBadRows);
        if (Registered.Value.TryGetValue(contract, out var type))
            return (contract, (Delegate)type.GetMethod("GetMapping")!.Invoke(Activator.CreateInstance(type), null)!);
        Delegate map = kind switch
        {
            ClipInputKind.ImagePath => new AdHocPath(mode, resolution, skipBadRows).GetMapping(),
            ClipInputKind.ImageBytes => new AdHocBytes(mode, resolution, skipBadRows).GetMapping(),
            ClipInputKind.Image => new AdHocImage(mode, resolution, skipBadRows).GetMapping(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an image file kind."),
        };
        return (null, map);
    }

    /// <summary>Number of registered factories (a test checks the full grid is there).</summary>
    internal static int RegisteredCount => Registered.Value.Count;

    private static string KindName(ClipInputKind kind) => kind switch
    {
        ClipInputKind.ImagePath => "Path",
        ClipInputKind.ImageBytes => "Bytes",
        ClipInputKind.Image => "Image",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Not an image file kind."),
    };

    private sealed class AdHocPath(ClipResizeMode m, int r, bool s) : ClipPathPixelMapping(m, r, s);
    private sealed class AdHocBytes(ClipResizeMode m, int r, bool s) : ClipBytesPixelMapping(m, r, s);
    private sealed class AdHocImage(ClipResizeMode m, int r, bool s) : ClipMLImagePixelMapping(m, r, s);
}
