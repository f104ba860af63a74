using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// SigLIP's text tower (Hugging Face <c>SiglipTextTransformer</c>, state-dict prefix <c>text_model.</c>): token plus
/// position embeddings, the pre-LN encoder without a causal mask, <c>final_layer_norm</c>, the state at the <b>last</b>
/// position (SigLIP pads every text to its context with the pad = eos id and pools there), then <c>head</c>, a linear map
/// to the projection size: <c>get_text_features</c>.
/// </summary>
internal sealed class SiglipTextTransformer : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly SiglipTextEmbeddings embeddings;
    private readonly SiglipEncoder encoder;
    private readonly LayerNorm final_layer_norm;
    private readonly Linear head;
#pragma warning restore IDE1006

    /// <summary>A tower over <paramref name="vocabSize"/> tokens and <paramref name="contextLength"/> positions, of
    /// <paramref name="layers"/> layers of <paramref name="width"/>, projecting to <paramref name="projectionSize"/>.</summary>
    public SiglipTextTransformer(int vocabSize, int contextLength, int width, int layers, int heads, int mlpWidth, int projectionSize,
        double layerNormEps, ClipActivation activation, Generator? generator = null) : base(nameof(SiglipTextTransformer))
    {
        embeddings = new SiglipTextEmbeddings(vocabSize, contextLength, width, generator);
        encoder = new SiglipEncoder(layers, width, heads, mlpWidth, layerNormEps, activation, generator);
        final_layer_norm = LayerNorm(width, layerNormEps);
        head = Linear(width, projectionSize);
        SiglipInit.LecunNormal(head, head.weight!, head.bias, width, generator);
        RegisterComponents();
    }

    /// <summary>Token plus position embeddings [N, L, W] of ids [N, L] (Hugging Face's <c>embeddings</c> output).</summary>
    public Tensor Embed(Tensor ids) => embeddings.forward(ids);

    /// <summary>
    /// <c>final_layer_norm(encoder(embeddings))</c> [N, L, W]. With <paramref name="attentionMask"/> [N, L] (1 = token,
    /// 0 = padding), padded keys get finfo(float32).min added to their scores, as Hugging Face does when a mask is
    /// passed; SigLIP itself was trained without one.
    /// </summary>
    public Tensor LastHiddenState(Tensor ids, Tensor? attentionMask = null)
    {
        var x = embeddings.forward(ids);
        Tensor? mask = null;
        if (attentionMask is not null)
        {
            // [N, 1, 1, L]: 0 where attended, float32's lowest value where masked.
            using var blocked = attentionMask.logical_not();
            mask = zeros(attentionMask.shape, dtype: x.dtype, device: x.device)
                .MaskedFill(blocked, float.MinValue)
                .view(attentionMask.shape[0], 1, 1, attentionMask.shape[1]);
        }
        return final_layer_norm.forward(encoder.forward(x, mask));
    }

    /// <summary>The text features [N, P] of ids [N, L]: <c>head</c> of the last position's state.</summary>
    public override Tensor forward(Tensor ids, Tensor? attentionMask) => head.forward(LastHiddenState(ids, attentionMask).select(1, -1));
}

/// <summary><c>text_model.embeddings</c>: <c>token_embedding</c> and <c>position_embedding</c> (one row per position).</summary>
internal sealed class SiglipTextEmbeddings : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly Embedding token_embedding;
    private readonly Embedding position_embedding;
#pragma warning restore IDE1006

    /// <summary>Embeddings of <paramref name="width"/> for <paramref name="vocabSize"/> tokens and <paramref name="contextLength"/> positions.</summary>
    public SiglipTextEmbeddings(int vocabSize, int contextLength, int width, Generator? generator) : base(nameof(SiglipTextEmbeddings))
    {
        token_embedding = Embedding(vocabSize, width);
        position_embedding = Embedding(contextLength, width);
        ParameterInit.Normal(token_embedding.weight!, 1 / Math.Sqrt(width), generator);
        ParameterInit.Normal(position_embedding.weight!, 1 / Math.Sqrt(width), generator);
        RegisterComponents();
    }

    /// <summary>[N, L, W] for ids [N, L]: positions 0 … L − 1.</summary>
    public override Tensor forward(Tensor ids)
        => token_embedding.forward(ids).Plus(position_embedding.weight!.narrow(0, 0, ids.shape[1]));
}
