using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// Preprocessing from encoded bytes (decoded into pooled rows read in place: RGBX, windowed JPEG scanlines, alpha relabelled
/// away for <see cref="ClipPreprocessSettings.ConvertRgbFirst"/>) gives the same tensor as preprocessing the
/// <see cref="DecodedImage"/> of the same file, for every kind of fixture image and both orders of RGB conversion.
/// </summary>
public class EncodedPathTests
{
    public static TheoryData<string, bool> Cases()
    {
        var data = new TheoryData<string, bool>();
        foreach (var file in Directory.GetFiles(Path.Combine(Fixtures.Root, "images")).Select(Path.GetFileName).Order(StringComparer.Ordinal))
        {
            if (file is null || !(file.EndsWith(".png") || file.EndsWith(".jpg") || file.EndsWith(".gif")) || file is "truncated.png" or "huge_header.png")
                continue;
            data.Add(file, false);
            data.Add(file, true);
        }
        data.Add("../clip-reference/preprocess/clip_diagram_rgba.png", true);
        data.Add("../clip-reference/preprocess/fruit_rgba_small.png", false);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void BytesAndDecodedImageGiveTheSameTensor(string file, bool convertRgbFirst)
    {
        var bytes = File.ReadAllBytes(Path.Combine(Fixtures.Root, "images", file));
        var settings = convertRgbFirst ? ClipPreprocessSettings.Squash(64) with { ConvertRgbFirst = true } : ClipPreprocessSettings.OpenAI(48);
        var preprocessor = new ClipImagePreprocessor(settings);
        var decoded = new float[preprocessor.OutputLength];
        preprocessor.Preprocess(ClipImageDecoder.Decode(bytes), decoded);
        Assert.Equal(decoded, preprocessor.Preprocess(bytes, file));
    }
}
