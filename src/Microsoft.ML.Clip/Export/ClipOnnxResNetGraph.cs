using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The ModifiedResNet image encoder graph: <c>pixel_values</c> float32 [batch, 3, R, R] →
/// <c>image_embeds</c> float32 [batch, D], openai/CLIP's <c>ModifiedResNet.forward</c>: a three-convolution
/// stem with average pooling, four stages of anti-aliased bottlenecks (average pooling before the
/// strided 1×1 convolutions) and the attention pool whose query is the mean of the spatial tokens.
/// BatchNorm stays a BatchNormalization node (inference mode); ONNX Runtime folds it into the convolution.
/// </summary>
internal static class ClipOnnxResNetGraph
{
    private const float BatchNormEpsilon = 1e-5f;

    public static ModelProto Build(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("clip_image_encoder");
        var r = config.ImageResolution;
        var x = g.Input(EncoderSignature.PixelValues, DataType.Float, "batch", 3, r, r);

        x = g.Relu(BatchNorm(g, sd, Conv(g, sd, x, "visual.conv1.weight", 3, 2, 1), "visual.bn1."));
        x = g.Relu(BatchNorm(g, sd, Conv(g, sd, x, "visual.conv2.weight", 3, 1, 1), "visual.bn2."));
        x = g.Relu(BatchNorm(g, sd, Conv(g, sd, x, "visual.conv3.weight", 3, 1, 1), "visual.bn3."));
        x = AvgPool(g, x, 2);

        foreach (var block in ClipStateDictLayout.ResNetBlocks(config))
            x = Bottleneck(g, sd, x, block);

        var embeds = AttentionPool(g, sd, x, config);
        g.Output(embeds, EncoderSignature.ImageEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("CLIP image encoder (openai/CLIP ModifiedResNet); features are not normalised.", metadata);
    }

    private static string Bottleneck(OnnxGraphBuilder g, IReadOnlyDictionary<string, StateTensor> sd, string x, ClipStateDictLayout.ResNetBlock block)
    {
        var p = block.Prefix;
        var h = g.Relu(BatchNorm(g, sd, Conv(g, sd, x, p + "conv1.weight", 1, 1, 0), p + "bn1."));
        h = g.Relu(BatchNorm(g, sd, Conv(g, sd, h, p + "conv2.weight", 3, 1, 1), p + "bn2."));
        if (block.Stride > 1)
            h = AvgPool(g, h, block.Stride);
        h = BatchNorm(g, sd, Conv(g, sd, h, p + "conv3.weight", 1, 1, 0), p + "bn3.");
        var identity = x;
        if (block.HasDownsample)
        {
            var down = block.Stride > 1 ? AvgPool(g, x, block.Stride) : x;
            identity = BatchNorm(g, sd, Conv(g, sd, down, p + "downsample.0.weight", 1, 1, 0), p + "downsample.1.");
        }
        return g.Relu(g.Add(h, identity));
    }

    private static string AttentionPool(OnnxGraphBuilder g, IReadOnlyDictionary<string, StateTensor> sd, string x, ClipConfig config)
    {
        const string p = "visual.attnpool.";
        var embed = config.VisionWidth * 32;
        var tokens = g.Transpose(g.Reshape(x, 0, 0, -1), 0, 2, 1);                                   // [N, HW, C]
        var mean = g.Node("ReduceMean", [tokens], null, OnnxGraphBuilder.Ints("axes", 1), OnnxGraphBuilder.Int("keepdims", 1));
        var seq = g.Add(g.Concat(1, mean, tokens), g.Weight(p + "positional_embedding", sd[p + "positional_embedding"])); // [N, HW+1, C]

        // Only the mean token queries; keys and values come from every token (one packed projection).
        var queryToken = g.Node("Gather", [seq, g.Int64s("query_index", [0])], null, OnnxGraphBuilder.Int("axis", 1)); // [N, 1, C]
        var q = g.Linear(queryToken, sd[p + "q_proj.weight"], sd[p + "q_proj.bias"], p + "q_proj");
        var kvWeight = StateTensor.Concatenate([sd[p + "k_proj.weight"].ToFloat32(), sd[p + "v_proj.weight"].ToFloat32()]);
        var kvBias = StateTensor.Concatenate([sd[p + "k_proj.bias"].ToFloat32(), sd[p + "v_proj.bias"].ToFloat32()]);
        var kv = g.Linear(seq, kvWeight, kvBias, p + "kv_proj");
        var parts = g.Node("Split", [kv, g.Int64s("split", [embed, embed])], 2, null, OnnxGraphBuilder.Int("axis", -1));
        var attended = ClipOnnxTransformer.Attend(g, q, parts[0], parts[1], embed, config.VisionHeads, null); // [N, 1, C]
        var pooled = g.Reshape(attended, 0, embed);                                                          // [N, C]
        return g.Linear(pooled, sd[p + "c_proj.weight"], sd[p + "c_proj.bias"], p + "c_proj");
    }

    private static string Conv(OnnxGraphBuilder g, IReadOnlyDictionary<string, StateTensor> sd, string x, string key, int kernel, int stride, int pad)
        => g.Node("Conv", [x, g.Weight(key, sd[key])], null,
            OnnxGraphBuilder.Ints("kernel_shape", kernel, kernel), OnnxGraphBuilder.Ints("strides", stride, stride),
            OnnxGraphBuilder.Ints("pads", pad, pad, pad, pad));

    private static string BatchNorm(OnnxGraphBuilder g, IReadOnlyDictionary<string, StateTensor> sd, string x, string prefix)
        => g.Node("BatchNormalization",
            [x, g.Weight(prefix + "weight", sd[prefix + "weight"]), g.Weight(prefix + "bias", sd[prefix + "bias"]),
             g.Weight(prefix + "running_mean", sd[prefix + "running_mean"]), g.Weight(prefix + "running_var", sd[prefix + "running_var"])],
            null, OnnxGraphBuilder.Float("epsilon", BatchNormEpsilon));

    private static string AvgPool(OnnxGraphBuilder g, string x, int k)
        => g.Node("AveragePool", [x], null, OnnxGraphBuilder.Ints("kernel_shape", k, k), OnnxGraphBuilder.Ints("strides", k, k));
}
