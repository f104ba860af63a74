using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The ViT image encoder graph: <c>pixel_values</c> float32 [batch, 3, R, R] → <c>image_embeds</c>
/// float32 [batch, D], openai/CLIP's <c>VisionTransformer.forward</c>: patch convolution, class token,
/// position embedding, <c>ln_pre</c>, transformer (its last block for the class token only), <c>ln_post</c> of the class
/// token, <c>proj</c>.
/// Tokens are sequence-first rows [T·N, W] (see <see cref="ClipOnnxTransformer"/>).
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
        var batch = g.Shape(pixels, 0, 1);                                                         // [N]

        var patches = g.Node("Conv", [pixels, g.Weight("visual.conv1.weight", sd["visual.conv1.weight"])], null,
            OnnxGraphBuilder.Ints("kernel_shape", p, p), OnnxGraphBuilder.Ints("strides", p, p));  // [N, W, g, g]
        var tokens = g.Transpose(g.Reshape(patches, 0, 0, -1), 2, 0, 1);                         // [g², N, W]

        // The class token, broadcast to [1, N, W], goes first; the position embedding [T, 1, W] broadcasts over N.
        var clsShape = g.Concat(0, g.Int64s("one", [1]), batch, g.Int64s("width", [w]));
        var cls = g.Node("Expand", [g.Weight("visual.class_embedding", sd["visual.class_embedding"].Reshape(1, 1, w)), clsShape]);
        var x = g.Concat(0, cls, tokens);                                                          // [T, N, W], T = g² + 1
        var positions = sd["visual.positional_embedding"];
        x = g.Add(x, g.Weight("visual.positional_embedding", positions.Reshape(positions.Shape[0], 1, w)));
        x = g.Reshape(x, -1, w);                                                                   // [T·N, W]
        x = g.LayerNorm(x, sd["visual.ln_pre.weight"], sd["visual.ln_pre.bias"], config.LayerNormEps, "visual.ln_pre");

        // Only the class tokens (rows 0..N-1) are read after the transformer, so the last block computes just those rows:
        // the other 49 tokens' queries, output projection and MLP there would be thrown away (about 6 % of ViT-B/32's
        // work; PyTorch's export does compute them). Every kept value is computed as before.
        var headShape = ClipOnnxTransformer.HeadShape(g, batch, w, config.VisionHeads);
        var layers = config.VisionLayers[0];
        for (var i = 0; i < layers; i++)
            x = ClipOnnxTransformer.ResidualBlock(g, x, sd, $"visual.transformer.resblocks.{i}.", w, config.VisionHeads, config, headShape,
                null, firstRows: i == layers - 1 ? batch : null);                                  // last block: [N, W]
        if (layers == 0)
            x = g.Slice(x, [0], batch, 0);

        var normed = g.LayerNorm(x, sd["visual.ln_post.weight"], sd["visual.ln_post.bias"], config.LayerNormEps, "visual.ln_post");
        var embeds = g.MatMul(normed, g.Weight("visual.proj", sd["visual.proj"]));
        g.Output(embeds, EncoderSignature.ImageEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("CLIP image encoder (openai/CLIP VisionTransformer); features are not normalised.", metadata);
    }
}
