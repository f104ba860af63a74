using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.TorchSharp.Export;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// The exporter's initializers now go through the tensor-agnostic <see cref="OnnxGraphBuilder"/> (float values + dims):
/// they must hold the same bytes TorchSharp itself writes, float16 rounding included.
/// </summary>
public class OnnxGraphBuilderTensorTests
{
    private static Onnx.TensorProto Initializer(Tensor tensor, ScalarType storeAs)
    {
        var g = new OnnxGraphBuilder("test");
        g.Weight("w", tensor, storeAs);
        return Assert.Single(g.Build("", new Dictionary<string, string>()).Graph.Initializer);
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float16)]
    public void WeightHoldsTorchSharpsBytesAndShape(ScalarType storeAs)
    {
        using var scope = NewDisposeScope();
        // Random values over many magnitudes plus float16 edge cases: ties, subnormals, overflow, signed zero.
        var random = randn([5, 7], generator: new Generator(7)) * pow(10, randint(-9, 6, [5, 7], generator: new Generator(8)).to(ScalarType.Float32));
        var edges = tensor(new[] { 1.00048828125f, 1.00146484375f, 6e-8f, 3e-5f, 65504f, 65520f, 1e6f, -0f, float.Epsilon });
        foreach (var t in new[] { random, edges, random.t() })
        {
            var proto = Initializer(t, storeAs);
            Assert.Equal(t.shape, proto.Dims.ToArray());
            Assert.Equal(storeAs == ScalarType.Float16 ? (int)Onnx.TensorProto.Types.DataType.Float16 : (int)Onnx.TensorProto.Types.DataType.Float, proto.DataType);
            Assert.Equal(t.to(storeAs).contiguous().bytes.ToArray(), proto.RawData.ToByteArray());
        }
    }

    [Fact]
    public void WeightRejectsOtherStorageTypes()
    {
        using var t = ones(2);
        var e = Assert.Throws<NotSupportedException>(() => new OnnxGraphBuilder("test").Weight("w", t, ScalarType.Int64));
        Assert.Contains("Int64", e.Message);
    }
}
