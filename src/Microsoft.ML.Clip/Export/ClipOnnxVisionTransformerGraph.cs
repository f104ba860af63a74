using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The ViT image encoder graph: <c>pixel_values</c> float32 [batch, 3, R, R] → <c>image_embeds</c>
/// float32 [batch, D], openai/CLIP's <c>VisionTransformer.forward</c>: patch convolution, class token,
/// position embedding, <c>ln_pre</c>, transformer, <c>ln_post</c> of the class token, <c>proj</c>.
/// </summary>
internal static class ClipOnnxVisionTransformerGraph
{
    public static ModelProto Build(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("clip_image_encoder");
        var r = config.ImageResolution;
        var p = config.VisionPatchSize!.Value;
        var w = config.VisionWidth;
        var pixels = g.Input(EncoderSignature.PixelValues, DataType.Float, "batch", 3, r, r);

        var patches = g.Node("Conv", [pixels, g.Weight("visual.conv1.weight", sd["visual.conv1.weight"])], null,
            OnnxGraphBuilder.Ints("kernel_shape", p, p), OnnxGraphBuilder.Ints("strides", p, p));  // [N, W, g, g]
        var tokens = g.Transpose(g.Reshape(patches, 0, 0, -1), 0, 2, 1);                         // [N, g², W]

        // The class token, broadcast to [N, 1, W] with N read from the input's shape.
        var batch = g.Node("Shape", [pixels], null, OnnxGraphBuilder.Int("start", 0), OnnxGraphBuilder.Int("end", 1));
        var clsShape = g.Concat(0, batch, g.Int64s("cls_tail", [1, w]));
        var classEmbedding = sd["visual.class_embedding"].Reshape(1, 1, w);
        var cls = g.Node("Expand", [g.Weight("visual.class_embedding", classEmbedding), clsShape]);
        var x = g.Concat(1, cls, tokens);                                                          // [N, g²+1, W]
        x = g.Add(x, g.Weight("visual.positional_embedding", sd["visual.positional_embedding"]));
        x = g.LayerNorm(x, sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"], config.LayerNormEps, "visual.ln_pre");

        for (var i = 0; i < config.VisionLayers[0]; i++)
            x = ClipOnnxTransformer.ResidualBlock(g, x, sd, $"visual.transformer.resblocks.{i}.", w, config.VisionHeads, config, null);

        var first = g.Node("Gather", [x, g.Int64s("class_index", [0], scalar: true)], null, OnnxGraphBuilder.Int("axis", 1)); // [N, W]
        var normed = g.LayerNorm(first, sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], config.LayerNormEps, "visual.ln_post");
        var embeds = g.MatMul(normed, g.Weight("visual.proj", sd["visual.proj"]));
        g.Output(embeds, EncoderSignature.ImageEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("CLIP image encoder (openai/CLIP VisionTransformer); features are not normalised.", metadata);
    }
}
