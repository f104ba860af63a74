using Microsoft.ML.Clip.Checkpoints;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// openai/CLIP's <c>Transformer</c>: a stack of <see cref="ResidualAttentionBlock"/>s, named <c>resblocks.N</c> as in
/// OpenAI's state dicts (named for what it is, apart from ML.NET's transformers and TorchSharp's <c>nn.Transformer</c>).
/// </summary>
internal sealed class ResidualAttentionStack : Module<Tensor, Tensor?, Tensor>
{
#pragma warning disable IDE1006 // Field names are the PyTorch state-dict names.
    private readonly ModuleList<ResidualAttentionBlock> resblocks;
#pragma warning restore IDE1006

    /// <summary>Creates <paramref name="layers"/> blocks of <paramref name="width"/> with <paramref name="heads"/> heads. Random initial values come from <paramref name="generator"/> when one is given (see <see cref="ClipTorchModel(ClipConfig, Generator)"/>).</summary>
    public ResidualAttentionStack(int width, int layers, int heads, ClipActivation activation, double layerNormEps, Generator? generator = null) : base("Transformer")
    {
        Width = width;
        Layers = layers;
        resblocks = new ModuleList<ResidualAttentionBlock>(
            Enumerable.Range(0, layers).Select(_ => new ResidualAttentionBlock(width, heads, activation, layerNormEps, generator)).ToArray());
        RegisterComponents();
    }

    /// <summary>Token width.</summary>
    public int Width { get; }

    /// <summary>Number of blocks.</summary>
    public int Layers { get; }

    /// <summary>The blocks, in order.</summary>
    public IReadOnlyList<ResidualAttentionBlock> Blocks => resblocks.ToList();

    /// <summary>Runs every block on <paramref name="x"/> [N, L, E].</summary>
    public override Tensor forward(Tensor x, Tensor? mask)
    {
        foreach (var block in resblocks)
            x = block.forward(x, mask);
        return x;
    }
}
