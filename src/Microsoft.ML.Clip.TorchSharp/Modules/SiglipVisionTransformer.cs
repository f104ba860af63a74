using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// SigLIP's image tower (Hugging Face <c>SiglipVisionTransformer</c>, state-dict prefix <c>vision_model.</c>): patch
/// embedding (a convolution with bias, kernel = stride = patch, no padding, so a side that is not a multiple of the patch
/// drops its last pixels) plus one learned position per patch (no class token), the pre-LN encoder,
/// <c>post_layernorm</c>, then the attention-pool head, whose output is the image feature (<c>get_image_features</c>).
/// </summary>
internal sealed class SiglipVisionTransformer : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly SiglipVisionEmbeddings embeddings;
    private readonly SiglipEncoder encoder;
    private readonly LayerNorm post_layernorm;
    private readonly SiglipAttentionPoolingHead head;
#pragma warning restore IDE1006

    /// <summary>A tower of <paramref name="layers"/> layers of <paramref name="width"/> with <paramref name="heads"/> heads,
    /// MLPs of <paramref name="mlpWidth"/>, for <paramref name="imageSize"/> px images in <paramref name="patchSize"/> px patches.</summary>
    public SiglipVisionTransformer(int width, int layers, int heads, int mlpWidth, int imageSize, int patchSize, double layerNormEps,
        ClipActivation activation, Generator? generator = null) : base(nameof(SiglipVisionTransformer))
    {
        embeddings = new SiglipVisionEmbeddings(width, imageSize, patchSize, generator);
        encoder = new SiglipEncoder(layers, width, heads, mlpWidth, layerNormEps, activation, generator);
        post_layernorm = LayerNorm(width, layerNormEps);
        head = new SiglipAttentionPoolingHead(width, heads, mlpWidth, layerNormEps, activation, generator);
        RegisterComponents();
    }

    /// <summary>The patch embeddings plus positions [N, g², W] (Hugging Face's <c>embeddings</c> output).</summary>
    public Tensor Embed(Tensor images) => embeddings.forward(images);

    /// <summary><c>post_layernorm(encoder(embeddings))</c> [N, g², W]: the tower's <c>last_hidden_state</c>.</summary>
    public Tensor LastHiddenState(Tensor images) => post_layernorm.forward(encoder.forward(embeddings.forward(images), null));

    /// <summary>The pooled image features [N, W] of normalised images [N, 3, R, R].</summary>
    public override Tensor forward(Tensor images) => head.forward(LastHiddenState(images));
}

/// <summary><c>vision_model.embeddings</c>: <c>patch_embedding</c> (Conv2d with bias) and <c>position_embedding</c> (one row per patch).</summary>
internal sealed class SiglipVisionEmbeddings : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly Conv2d patch_embedding;
    private readonly Embedding position_embedding;
#pragma warning restore IDE1006
    private readonly int _width;

    /// <summary>Embeddings of <paramref name="width"/> for <paramref name="imageSize"/> px images in <paramref name="patchSize"/> px patches.</summary>
    public SiglipVisionEmbeddings(int width, int imageSize, int patchSize, Generator? generator) : base(nameof(SiglipVisionEmbeddings))
    {
        if (patchSize <= 0 || imageSize < patchSize)
            throw new ArgumentException($"An image of {imageSize} px holds no {patchSize} px patch.", nameof(patchSize));
        _width = width;
        var grid = imageSize / patchSize;
        patch_embedding = Conv2d(3, width, kernel_size: patchSize, stride: patchSize);
        SiglipInit.LecunNormal(patch_embedding, patch_embedding.weight!, patch_embedding.bias, 3L * patchSize * patchSize, generator);
        position_embedding = Embedding(grid * grid, width);
        ParameterInit.Normal(position_embedding.weight!, 1 / Math.Sqrt(width), generator);
        RegisterComponents();
    }

    /// <summary>[N, g², W]: the patches row-major (left to right, top to bottom) plus their positions.</summary>
    public override Tensor forward(Tensor images)
    {
        var x = patch_embedding.forward(images.to(patch_embedding.weight!.dtype)); // [N, W, g, g]
        x = x.flatten(2).transpose(1, 2);                                           // [N, g², W]
        return x.Plus(position_embedding.weight!);
    }
}

/// <summary>
/// <c>vision_model.head</c> (Hugging Face <c>SiglipMultiheadAttentionPoolingHead</c>): the learned <c>probe</c> [1, 1, W] is the
/// single query of a PyTorch <c>nn.MultiheadAttention</c> over the patch states (<c>attention.in_proj_weight</c> rows
/// q | k | v, <c>in_proj_bias</c>, <c>out_proj</c>), then <c>x + mlp(layernorm(x))</c>; the output is that one token.
/// </summary>
internal sealed class SiglipAttentionPoolingHead : Module<Tensor, Tensor>
{
#pragma warning disable IDE1006 // Field names are the Hugging Face state-dict names.
    private readonly Parameter probe;
    private readonly ClipMultiheadAttention attention;
    private readonly LayerNorm layernorm;
    private readonly SiglipMlp mlp;
#pragma warning restore IDE1006
    private readonly int _width;

    /// <summary>The head for <paramref name="width"/>-wide states with <paramref name="heads"/> heads and an MLP of <paramref name="mlpWidth"/>.</summary>
    public SiglipAttentionPoolingHead(int width, int heads, int mlpWidth, double layerNormEps, ClipActivation activation, Generator? generator) : base(nameof(SiglipAttentionPoolingHead))
    {
        _width = width;
        probe = Parameter(empty(1, 1, width));
        ParameterInit.XavierUniform(probe.view(1, width), generator);
        attention = new ClipMultiheadAttention(width, heads, generator);
        layernorm = LayerNorm(width, layerNormEps);
        mlp = new SiglipMlp(width, mlpWidth, activation, generator);
        RegisterComponents();
    }

    /// <summary>The pooled feature [N, W] of the states <paramref name="hidden"/> [N, L, W].</summary>
    public override Tensor forward(Tensor hidden)
    {
        var query = probe.expand(hidden.shape[0], 1, _width);
        var x = attention.Attend(query, hidden);
        x = x.Plus(mlp.forward(layernorm.forward(x)));
        return x.select(1, 0);
    }
}
