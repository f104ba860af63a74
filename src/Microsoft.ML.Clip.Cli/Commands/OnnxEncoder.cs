using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace ClipCli.Commands;

/// <summary>One exported encoder (<c>image.onnx</c> or <c>text.onnx</c>) run with ONNX Runtime, a batch at a time.</summary>
internal sealed class OnnxEncoder : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string _input;
    private readonly string _output;

    public OnnxEncoder(string modelPath, string input, string output)
    {
        _session = new InferenceSession(modelPath);
        (_input, _output) = (input, output);
    }

    /// <summary>Runs one batch: <paramref name="data"/> shaped <paramref name="shape"/> → rows of the output [N, D].</summary>
    public float[][] Run<T>(T[] data, int[] shape)
    {
        var input = NamedOnnxValue.CreateFromTensor(_input, new DenseTensor<T>(data, shape));
        using var results = _session.Run([input]);
        var output = results.Single(r => r.Name == _output).AsTensor<float>();
        var (rows, cols) = (output.Dimensions[0], output.Dimensions[1]);
        var flat = output.ToArray();
        return Enumerable.Range(0, rows).Select(r => flat.AsSpan(r * cols, cols).ToArray()).ToArray();
    }

    public void Dispose() => _session.Dispose();
}
