using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.Models;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace Microsoft.ML.Clip.Export;

/// <summary>
/// The text encoder graph: <c>input_ids</c> int64 [batch, sequence] (any length up to the context, L) →
/// <c>text_embeds</c> float32 [batch, D], openai/CLIP's <c>encode_text</c>: token + position embedding, causal
/// transformer, the feature at the end-of-text token (the argmax of the ids), <c>ln_final</c>, <c>text_projection</c>.
/// </summary>
/// <remarks>
/// The sequence length is symbolic: the position embedding and the causal mask are sliced to the rows' length, so a batch
/// cut after its longest row gives the same features as the full context — the tower is causal and pooled at the end
/// token, so the positions after it never reach the feature. Tokens are sequence-first rows [S·N, W]
/// (see <see cref="ClipOnnxTransformer"/>).
/// </remarks>
internal static class ClipOnnxTextGraph
{
    /// <summary>Name of the symbolic sequence dimension of <c>input_ids</c>.</summary>
    public const string SequenceDimension = "sequence";

    public static ModelProto Build(ClipConfig config, IReadOnlyDictionary<string, StateTensor> sd, IReadOnlyDictionary<string, string> metadata)
    {
        var g = new OnnxGraphBuilder("clip_text_encoder");
        var context = config.ContextLength;
        var w = config.TransformerWidth;
        var ids = g.Input(EncoderSignature.InputIds, DataType.Int64, "batch", SequenceDimension);
        var batch = g.Shape(ids, 0, 1);                                                            // [N]
        var length = g.Shape(ids, 1, 2);                                                           // [S]

        var x = g.Node("Gather", [g.Weight("token_embedding.weight", sd["token_embedding.weight"]), g.Transpose(ids, 1, 0)], null,
            OnnxGraphBuilder.Int("axis", 0));                                                      // [S, N, W]
        var positions = g.Weight("positional_embedding", sd["positional_embedding"].Reshape(context, 1, w));
        x = g.Add(x, g.Slice(positions, [0], length, 0));                                          // + [S, 1, W]
        x = g.Reshape(x, -1, w);                                                                   // [S·N, W]

        // Causal mask: -inf above the diagonal, as openai/CLIP's build_attention_mask, cut to [S, S].
        var mask = new float[context * context];
        for (var i = 0; i < context; i++)
            for (var j = i + 1; j < context; j++)
                mask[i * context + j] = float.NegativeInfinity;
        var maskName = g.Slice(g.Floats("attn_mask", mask, context, context), [0, 0], g.Concat(0, length, length), 0, 1);

        var headShape = ClipOnnxTransformer.HeadShape(g, batch, w, config.TransformerHeads);
        for (var i = 0; i < config.TransformerLayers; i++)
            x = ClipOnnxTransformer.ResidualBlock(g, x, sd, $"transformer.resblocks.{i}.", w, config.TransformerHeads, config, headShape, maskName);

        // The end-of-text token has the largest id: row eot(n)·N + n holds item n's. LayerNorm acts per token, so applying
        // ln_final after the selection gives the same values for 1/S of the work.
        var eot = g.Node("ArgMax", [ids], null, OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("keepdims", 0)); // [N]
        var n = g.Node("Squeeze", [batch, g.Int64s("axis0", [0])]);                                                   // N, 0-d
        var items = g.Node("Range", [g.Int64s("zero", [0], scalar: true), n, g.Int64s("step", [1], scalar: true)]);  // 0..N-1
        var rows = g.Add(g.Mul(eot, n), items);
        var selected = g.Node("Gather", [x, rows], null, OnnxGraphBuilder.Int("axis", 0));                         // [N, W]
        var normed = g.LayerNorm(selected, sd["ln_final.weight"], sd["ln_final.bias"], config.LayerNormEps, "ln_final");
        var embeds = g.MatMul(normed, g.Weight("text_projection", sd["text_projection"]));
        g.Output(embeds, EncoderSignature.TextEmbeds, DataType.Float, "batch", config.EmbedDim);
        return g.Build("CLIP text encoder (openai/CLIP encode_text); features are not normalised; any sequence length up to the context.", metadata);
    }
}
