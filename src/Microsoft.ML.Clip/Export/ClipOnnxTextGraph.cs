using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The text encoder graph: <c>input_ids</c> int64 [batch, L] → <c>text_embeds</c> float32 [batch, D],
/// openai/CLIP's <c>encode_text</c>: token + position embedding, causal transformer, the feature at the
/// end-of-text token (the argmax of the ids), <c>ln_final</c>, <c>text_projection</c>.
/// </summary>
internal static class ClipOnnxTextGraph
{
    public static ModelProto Build(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("clip_text_encoder");
        var L = config.ContextLength;
        var ids = g.Input(EncoderSignature.InputIds, DataType.Int64, "batch", L);

        var x = g.Node("Gather", [g.Weight("token_embedding.weight", sd["token_embedding.weight"]), ids], null, OnnxGraphBuilder.Int("axis", 0));
        x = g.Add(x, g.Weight("positional_embedding", sd["positional_embedding"]));

        // Causal mask: -inf above the diagonal, as openai/CLIP's build_attention_mask.
        var mask = new float[L * L];
        for (var i = 0; i < L; i++)
            for (var j = i + 1; j < L; j++)
                mask[i * L + j] = float.NegativeInfinity;
        var maskName = g.Floats("attn_mask", mask, L, L);

        for (var i = 0; i < config.TransformerLayers; i++)
            x = ClipOnnxTransformer.ResidualBlock(g, x, sd, $"transformer.resblocks.{i}.", config.TransformerWidth, config.TransformerHeads, config, maskName);

        // The end-of-text token has the largest id; take its row per batch item. LayerNorm acts per
        // token, so applying ln_final after the selection gives the same values for 1/L of the work.
        var eot = g.Node("ArgMax", [ids], null, OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("keepdims", 1));
        var selected = g.Node("GatherND", [x, eot], null, OnnxGraphBuilder.Int("batch_dims", 1));
        var normed = g.LayerNorm(selected, sd["ln_final.weight"], sd["ln_final.bias"], config.LayerNormEps, "ln_final");
        var embeds = g.MatMul(normed, g.Weight("text_projection", sd["text_projection"]));
        g.Output(embeds, EncoderSignature.TextEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("CLIP text encoder (openai/CLIP encode_text); features are not normalised.", metadata);
    }
}
