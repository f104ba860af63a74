using System.Text.Json;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Tests.Siglip;

/// <summary>The SigLIP reference fixture (test/fixtures/siglip-reference): its model folder, inputs and outputs.</summary>
internal static class SiglipFixture
{
    /// <summary>The Hugging Face folder (config.json, model.safetensors, spiece.model, …).</summary>
    public static string ModelFolder => Fixtures.Siglip("model");

    /// <summary>An array of <c>outputs/</c>, <c>inputs/</c> or <c>preprocess/</c> (float32).</summary>
    public static NpyArray<float> Floats(string folder, string name) => Npy.ReadFloat32(Fixtures.Siglip(folder, name + ".npy"));

    /// <summary>The reference output <paramref name="name"/> (e.g. <c>image_features</c>).</summary>
    public static NpyArray<float> Output(string name) => Floats("outputs", name);

    /// <summary>The fixture's <c>pixel_values</c> [4, 3, 64, 64].</summary>
    public static NpyArray<float> PixelValues => Floats("preprocess", "pixel_values");

    /// <summary>The input ids [rows, 64] of <c>inputs/</c>.</summary>
    public static NpyArray<long> Ids(string name) => Npy.ReadInt64(Fixtures.Siglip("inputs", name + ".npy"));

    /// <summary>The four image files, in the fixture's order.</summary>
    public static string[] ImageFiles => [.. Cases.GetProperty("images").EnumerateArray().Select(e => Fixtures.Siglip(e.GetProperty("file").GetString()!.Split('/')))];

    /// <summary>The six captions.</summary>
    public static string[] Captions => [.. Cases.GetProperty("captions").EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>The five zero-shot classes.</summary>
    public static string[] Classes => [.. Cases.GetProperty("classnames").EnumerateArray().Select(e => e.GetString()!)];

    /// <summary>The zero-shot template, <c>this is a photo of {}.</c> (the fixture writes <c>{}</c> as Python's format).</summary>
    public static string Template => Cases.GetProperty("template").GetString()!;

    /// <summary>The fixture converted once to an ONNX folder (shared by the tests of one process; read-only).</summary>
    public static string OnnxFolder => s_onnx.Value;

    private static readonly Lazy<string> s_onnx = new(() =>
    {
        var folder = Path.Combine(Fixtures.NewTempDir("siglip-onnx"), "model");
        ClipModelConverter.ConvertToOnnx(ModelFolder, folder);
        return folder;
    });

    private static readonly Lazy<JsonElement> s_cases = new(() => JsonDocument.Parse(File.ReadAllText(Fixtures.Siglip("cases.json"))).RootElement.Clone());

    private static JsonElement Cases => s_cases.Value;

    /// <summary>Largest absolute difference.</summary>
    public static float MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
            throw new ArgumentException($"Lengths differ: {a.Length} vs {b.Length}.");
        var m = 0f;
        for (var i = 0; i < a.Length; i++)
            m = MathF.Max(m, MathF.Abs(a[i] - b[i]));
        return m;
    }
}
