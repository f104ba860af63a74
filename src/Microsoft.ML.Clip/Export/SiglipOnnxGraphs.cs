using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// SigLIP's two towers as ONNX graphs (Hugging Face <c>SiglipModel</c>'s <c>get_image_features</c> and
/// <c>get_text_features</c>), built node by node from the config and the Hugging Face-named state dict, with the same
/// inputs and outputs as the CLIP graphs (<see cref="EncoderSignature"/>). Activations are [N, T, W] (batch first).
/// </summary>
internal static class SiglipOnnxGraphs
{
    /// <summary>
    /// <c>pixel_values</c> float32 [batch, 3, R, R] → <c>image_embeds</c> [batch, D]: patch convolution (with bias, no
    /// padding) + one position per patch, the pre-LN encoder, <c>post_layernorm</c>, the attention-pool head.
    /// </summary>
    public static ModelProto Image(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("siglip_image_encoder");
        var r = config.ImageResolution;
        var p = config.VisionPatchSize!.Value;
        var w = config.VisionWidth;
        var pixels = g.Input(EncoderSignature.PixelValues, DataType.Float, "batch", 3, r, r);

        // Conv without pads: a side that is not a multiple of the patch loses its last pixels, as PyTorch's "valid".
        var patches = g.Node("Conv", [pixels, g.Weight("vision_model.embeddings.patch_embedding.weight", sd["vision_model.embeddings.patch_embedding.weight"]),
                g.Weight("vision_model.embeddings.patch_embedding.bias", sd["vision_model.embeddings.patch_embedding.bias"])], null,
            OnnxGraphBuilder.Ints("kernel_shape", p, p), OnnxGraphBuilder.Ints("strides", p, p));   // [N, W, g, g]
        var x = g.Transpose(g.Reshape(patches, 0, 0, -1), 0, 2, 1);                                  // [N, g², W]
        x = g.Add(x, g.Weight("vision_model.embeddings.position_embedding.weight", sd["vision_model.embeddings.position_embedding.weight"]));

        for (var i = 0; i < config.VisionLayers[0]; i++)
            x = EncoderLayer(g, x, sd, $"vision_model.encoder.layers.{i}.", w, config.VisionHeads, config);
        x = g.LayerNorm(x, sd["vision_model.post_layernorm.weight"], sd["vision_model.post_layernorm.bias"], config.LayerNormEps, "vision_model.post_layernorm");

        // Attention pooling: the probe [1, 1, W] is the one query; its projection broadcasts over the batch in the MatMul.
        const string head = "vision_model.head.";
        var inProjection = sd[head + "attention.in_proj_weight"].Split(3);
        var inBias = sd[head + "attention.in_proj_bias"].Split(3);
        var probe = g.Weight(head + "probe", sd[head + "probe"]);
        var q = g.Linear(probe, inProjection[0], inBias[0], head + "attention.q");                     // [1, 1, W]
        var k = g.Linear(x, inProjection[1], inBias[1], head + "attention.k");                         // [N, g², W]
        var v = g.Linear(x, inProjection[2], inBias[2], head + "attention.v");
        var pooled = ClipOnnxTransformer.Attend(g, q, k, v, w, config.VisionHeads, null);              // [N, 1, W]
        pooled = g.Linear(pooled, sd[head + "attention.out_proj.weight"], sd[head + "attention.out_proj.bias"], head + "attention.out_proj");
        var h = g.LayerNorm(pooled, sd[head + "layernorm.weight"], sd[head + "layernorm.bias"], config.LayerNormEps, head + "layernorm");
        pooled = g.Add(pooled, Mlp(g, h, sd, head + "mlp.", config.Activation));
        var embeds = g.Node("Gather", [pooled, g.Int64s("probe_index", [0], scalar: true)], null, OnnxGraphBuilder.Int("axis", 1)); // [N, W]
        g.Output(embeds, EncoderSignature.ImageEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("SigLIP image encoder (Hugging Face SiglipModel.get_image_features: the attention-pool head's output); features are not normalised.", metadata);
    }

    /// <summary>
    /// <c>input_ids</c> int64 [batch, L] (L = the context, fixed: SigLIP reads the last position, so rows are always padded
    /// to it) → <c>text_embeds</c> [batch, D]: token + position embeddings, the encoder without any mask (SigLIP was trained
    /// without one), the last position's state, <c>final_layer_norm</c>, <c>head</c>.
    /// </summary>
    public static ModelProto Text(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("siglip_text_encoder");
        var l = config.ContextLength;
        var w = config.TransformerWidth;
        var ids = g.Input(EncoderSignature.InputIds, DataType.Int64, "batch", l);
        var x = g.Node("Gather", [g.Weight("text_model.embeddings.token_embedding.weight", sd["text_model.embeddings.token_embedding.weight"]), ids], null, OnnxGraphBuilder.Int("axis", 0));
        x = g.Add(x, g.Weight("text_model.embeddings.position_embedding.weight", sd["text_model.embeddings.position_embedding.weight"]));
        for (var i = 0; i < config.TransformerLayers; i++)
            x = EncoderLayer(g, x, sd, $"text_model.encoder.layers.{i}.", w, config.TransformerHeads, config);
        // LayerNorm acts per token, so normalising only the last position gives the same values for 1/L of the work.
        var last = g.Node("Gather", [x, g.Int64s("last_position", [l - 1], scalar: true)], null, OnnxGraphBuilder.Int("axis", 1)); // [N, W]
        var normed = g.LayerNorm(last, sd["text_model.final_layer_norm.weight"], sd["text_model.final_layer_norm.bias"], config.LayerNormEps, "text_model.final_layer_norm");
        var embeds = g.Linear(normed, sd["text_model.head.weight"], sd["text_model.head.bias"], "text_model.head");
        g.Output(embeds, EncoderSignature.TextEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("SigLIP text encoder (Hugging Face SiglipModel.get_text_features, no attention mask: the last position's state); features are not normalised.", metadata);
    }

    // x + self_attn(layer_norm1(x)); x + mlp(layer_norm2(x)), with separate q/k/v/out projections.
    private static string EncoderLayer(OnnxGraphBuilder g, string x, IReadOnlyDictionary<string, StateTensor> sd, string prefix, int width, int heads, ClipConfig config)
    {
        var h = g.LayerNorm(x, sd[prefix + "layer_norm1.weight"], sd[prefix + "layer_norm1.bias"], config.LayerNormEps, prefix + "layer_norm1");
        var q = g.Linear(h, sd[prefix + "self_attn.q_proj.weight"], sd[prefix + "self_attn.q_proj.bias"], prefix + "self_attn.q_proj");
        var k = g.Linear(h, sd[prefix + "self_attn.k_proj.weight"], sd[prefix + "self_attn.k_proj.bias"], prefix + "self_attn.k_proj");
        var v = g.Linear(h, sd[prefix + "self_attn.v_proj.weight"], sd[prefix + "self_attn.v_proj.bias"], prefix + "self_attn.v_proj");
        var attended = ClipOnnxTransformer.Attend(g, q, k, v, width, heads, null);
        x = g.Add(x, g.Linear(attended, sd[prefix + "self_attn.out_proj.weight"], sd[prefix + "self_attn.out_proj.bias"], prefix + "self_attn.out_proj"));
        h = g.LayerNorm(x, sd[prefix + "layer_norm2.weight"], sd[prefix + "layer_norm2.bias"], config.LayerNormEps, prefix + "layer_norm2");
        return g.Add(x, Mlp(g, h, sd, prefix + "mlp.", config.Activation));
    }

    private static string Mlp(OnnxGraphBuilder g, string x, IReadOnlyDictionary<string, StateTensor> sd, string prefix, ClipActivation activation)
    {
        var h = g.Linear(x, sd[prefix + "fc1.weight"], sd[prefix + "fc1.bias"], prefix + "fc1");
        h = ClipOnnxTransformer.Activation(g, h, activation);
        return g.Linear(h, sd[prefix + "fc2.weight"], sd[prefix + "fc2.bias"], prefix + "fc2");
    }
}
