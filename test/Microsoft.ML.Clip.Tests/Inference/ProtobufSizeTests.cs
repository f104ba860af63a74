using Google.Protobuf;
using Microsoft.ML.Clip.Graphs;
using Onnx;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Inference;

public class ProtobufSizeTests
{
    [Fact]
    public void A_graph_past_2_GB_is_seen_as_over_the_limit_although_protobufs_int_size_wraps()
    {
        // 40 initializers share one immutable 64 MB buffer: 2.5 GB to serialise, 64 MB to hold.
        var shared = ByteString.CopyFrom(new byte[64 << 20]);
        var model = new ModelProto { Graph = new GraphProto { Name = "big" } };
        for (var i = 0; i < 40; i++)
            model.Graph.Initializer.Add(new TensorProto { Name = $"w{i}", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 16L << 20 }, RawData = shared });

        var size = ProtobufSize.Of(model);
        Assert.True(size >= 40L * (64 << 20), $"size {size}");
        Assert.True(ProtobufSize.OverLimit(size));
    }

    [Fact]
    public void A_small_graph_reports_its_exact_serialised_size()
    {
        var model = new ModelProto { Graph = new GraphProto { Name = "small" } };
        model.Graph.Initializer.Add(OnnxGraphBuilder.FloatTensor("w", [2, 3], [1, 2, 3, 4, 5, 6]));
        Assert.Equal(model.ToByteArray().Length, ProtobufSize.Of(model));
        Assert.False(ProtobufSize.OverLimit(ProtobufSize.Of(model)));
    }
}
