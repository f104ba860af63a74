using Google.Protobuf;
using Onnx;

namespace Microsoft.ML.Clip.Graphs;

/// <summary>The serialized size of an ONNX model, checked against protobuf's 2 GB message limit.</summary>
internal static class ProtobufSize
{
    // Nodes, names and metadata add a few MB even to the largest CLIP graphs.
    private const long NonWeightAllowance = 64L << 20;

    /// <summary>
    /// The model's serialized size in bytes, or (when it cannot be below the limit) the size of its weights alone.
    /// <see cref="IMessage.CalculateSize"/> is an <see cref="int"/> and wraps past 2 GB, so the initializers are
    /// counted in a <see cref="long"/> first.
    /// </summary>
    public static long Of(ModelProto model)
    {
        long weights = model.Graph.Initializer.Sum(t => (long)t.RawData.Length + 4L * t.FloatData.Count + 8L * t.Int64Data.Count
            + 4L * t.Int32Data.Count + 8L * t.DoubleData.Count);
        return weights >= int.MaxValue - NonWeightAllowance ? weights + NonWeightAllowance : model.CalculateSize();
    }

    /// <summary>True when <paramref name="size"/> cannot be written as one protobuf message.</summary>
    public static bool OverLimit(long size) => size >= int.MaxValue;
}
