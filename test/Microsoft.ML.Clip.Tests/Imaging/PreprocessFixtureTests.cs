using System.Text.Json;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Tests.Imaging;

/// <summary>
/// The preprocessing against the reference outputs of OpenAI's <c>_transform(n_px)</c>
/// (torchvision 0.14 + Pillow 9.4) stored in <c>clip-reference/preprocess</c>.
/// </summary>
public class PreprocessFixtureTests(ITestOutputHelper output)
{
    /// <summary>Image name and n_px for every reference output listed in preprocess.json.</summary>
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.Reference("preprocess", "preprocess.json")));
        foreach (var image in doc.RootElement.GetProperty("images").EnumerateArray())
            foreach (var size in image.GetProperty("outputs").EnumerateObject())
                data.Add(image.GetProperty("name").GetString()!, int.Parse(size.Name));
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesReferenceExactly(string name, int resolution)
    {
        var preprocessor = new ClipImagePreprocessor(ClipPreprocessSettings.OpenAI(resolution));
        var image = ClipImageDecoder.DecodeFile(Fixtures.Reference("preprocess", name + ".png"));

        var expectedRgb = Npy.ReadUInt8(Fixtures.Reference("preprocess", $"{name}.{resolution}.rgb_u8.npy"));
        Assert.Equal(new[] { resolution, resolution, 3 }, expectedRgb.Shape);
        var rgb = preprocessor.ResizeAndCropRgb(image);
        int rgbMax = 0, rgbDiffering = 0;
        for (int i = 0; i < rgb.Length; i++)
        {
            int d = Math.Abs(rgb[i] - expectedRgb.Data[i]);
            rgbMax = Math.Max(rgbMax, d);
            rgbDiffering += d != 0 ? 1 : 0;
        }

        var expected = Npy.ReadFloat32(Fixtures.Reference("preprocess", $"{name}.{resolution}.npy"));
        Assert.Equal(new[] { 3, resolution, resolution }, expected.Shape);
        var tensor = new float[preprocessor.OutputLength];
        preprocessor.PreprocessFile(Fixtures.Reference("preprocess", name + ".png"), tensor);
        double max = 0, sum = 0;
        for (int i = 0; i < tensor.Length; i++)
        {
            double d = Math.Abs(tensor[i] - expected.Data[i]);
            max = Math.Max(max, d);
            sum += d;
        }
        double mean = sum / tensor.Length;
        output.WriteLine($"{name} @ {resolution}: rgb_u8 max |diff| {rgbMax}, {rgbDiffering} of {rgb.Length} bytes differ; tensor max abs {max:G3}, mean abs {mean:G3}");

        Assert.Equal(0, rgbMax);
        // Bit-exact once the bytes are: (u8 / 255f - mean) / std in float32, as torchvision computes it.
        Assert.Equal(0.0, max);
    }
}
