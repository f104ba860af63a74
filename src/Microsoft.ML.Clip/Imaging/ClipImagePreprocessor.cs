namespace Microsoft.ML.Clip.Imaging;

/// <summary>How an image is brought to the model's square input.</summary>
public enum ClipResizeMode
{
    /// <summary>OpenAI: shorter side to N with PIL's bicubic filter, then a centre crop N×N.</summary>
    ShortestSideCenterCrop = 0,

    /// <summary>Both sides to N (aspect ratio not kept), as SigLIP-style models do.</summary>
    Squash = 1,
}

/// <summary>Preprocessing settings: size, resize mode and per-channel normalisation.</summary>
/// <remarks>CONTRACT FILE: the inference issue fills in the preprocessing; the shape of this API is fixed.</remarks>
public sealed record ClipPreprocessSettings
{
    /// <summary>OpenAI's per-channel mean (RGB).</summary>
    public static readonly float[] OpenAIMean = [0.48145466f, 0.4578275f, 0.40821073f];

    /// <summary>OpenAI's per-channel standard deviation (RGB).</summary>
    public static readonly float[] OpenAIStd = [0.26862954f, 0.26130258f, 0.27577711f];

    /// <summary>Side N of the square model input.</summary>
    public int Resolution { get; init; } = 224;

    /// <summary>Resize mode.</summary>
    public ClipResizeMode ResizeMode { get; init; } = ClipResizeMode.ShortestSideCenterCrop;

    /// <summary>Per-channel mean subtracted after scaling to [0, 1].</summary>
    public float[] Mean { get; init; } = OpenAIMean;

    /// <summary>Per-channel standard deviation divided by after subtracting the mean.</summary>
    public float[] Std { get; init; } = OpenAIStd;

    /// <summary>
    /// Convert the image to RGB before resizing, as Hugging Face's SigLIP image processor does (<c>convert("RGB")</c>
    /// first: alpha dropped, palette and 1-bit images then resized with the bicubic filter like any RGB image), rather
    /// than after, as openai/CLIP does (alpha images resized premultiplied, palette images with nearest neighbour).
    /// The two differ only for images with alpha, a palette or 1 bit per pixel. Default false.
    /// </summary>
    public bool ConvertRgbFirst { get; init; }

    /// <summary>The OpenAI preset at resolution <paramref name="resolution"/>.</summary>
    public static ClipPreprocessSettings OpenAI(int resolution) => new() { Resolution = resolution };

    /// <summary>The squash preset (both sides to N, mean and std 0.5); SigLIP's preprocessing is this with <see cref="ConvertRgbFirst"/>.</summary>
    public static ClipPreprocessSettings Squash(int resolution) => new()
    {
        Resolution = resolution,
        ResizeMode = ClipResizeMode.Squash,
        Mean = [0.5f, 0.5f, 0.5f],
        Std = [0.5f, 0.5f, 0.5f],
    };
}
