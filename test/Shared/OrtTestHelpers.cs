using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>
/// Runs an ONNX file with the CPU ONNX Runtime on the reference inputs and compares outputs. Compiled into each test
/// project that loads ONNX Runtime (TestUtilities itself references no native ONNX Runtime).
/// </summary>
internal static class OrtTestHelpers
{
    public static NpyArray<float> Images => Npy.ReadFloat32(Fixtures.Reference("cases", "images.npy"));

    public static NpyArray<long> Tokens => Npy.ReadInt64(Fixtures.Reference("cases", "tokens.npy"));

    /// <summary>Runs <paramref name="modelPath"/> with one input and returns its one output [rows, cols].</summary>
    public static float[] Run<T>(string modelPath, string inputName, string outputName, NpyArray<T> input, out int[] outputShape)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(modelPath, options);
        var tensor = new DenseTensor<T>(input.Data, input.Shape);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor(inputName, tensor)]);
        var output = results.Single(r => r.Name == outputName).AsTensor<float>();
        outputShape = output.Dimensions.ToArray();
        return output.ToArray();
    }

    public static float MaxAbsDiff(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        var max = 0f;
        for (var i = 0; i < a.Length; i++)
            max = MathF.Max(max, MathF.Abs(a[i] - b[i]));
        return max;
    }

    /// <summary>Image and text outputs of an exported folder vs the reference features of <paramref name="model"/>.</summary>
    public static (float Image, float Text) CompareWithReference(string imagePath, string textPath, string model)
    {
        var imageRef = Npy.ReadFloat32(Fixtures.Reference("cases", $"{model}.image_features.npy"));
        var textRef = Npy.ReadFloat32(Fixtures.Reference("cases", $"{model}.text_features.npy"));
        var image = Run(imagePath, "pixel_values", "image_embeds", Images, out var imageShape);
        var text = Run(textPath, "input_ids", "text_embeds", Tokens, out var textShape);
        Assert.Equal(imageRef.Shape, imageShape);
        Assert.Equal(textRef.Shape, textShape);
        return (MaxAbsDiff(image, imageRef.Data), MaxAbsDiff(text, textRef.Data));
    }
}
