using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// Random initial values drawn from a given generator. libtorch has one process-wide default generator: a seed set on
/// it is worth nothing while another thread (another training, a test, the application) draws from it between the seed
/// and the model's construction. The model's constructors therefore take an optional <see cref="Generator"/>; with one,
/// every random value comes from it, including those TorchSharp's layers draw for themselves (redrawn here with
/// PyTorch's defaults); with none, the default generator serves, as in PyTorch.
/// </summary>
internal static class ParameterInit
{
    /// <summary>A standard normal tensor of <paramref name="shape"/>.</summary>
    public static Tensor Randn(Generator? generator, params long[] shape) => randn(shape, generator: generator);

    /// <summary>Fills <paramref name="tensor"/> with N(0, <paramref name="std"/>²) values.</summary>
    public static void Normal(Tensor tensor, double std, Generator? generator)
    {
        using var _ = no_grad();
        tensor.normal_(0, std, generator);
    }

    /// <summary>
    /// A (semi-)orthogonal 2-D weight, as <c>torch.nn.init.orthogonal_</c> draws it: the Q of a QR decomposition of a
    /// standard normal matrix (transposed first when it is wide), its columns' signs fixed by R's diagonal, so the rows
    /// (wide) or columns (tall) are orthonormal.
    /// </summary>
    public static void Orthogonal(Tensor weight, Generator? generator)
    {
        if (weight.dim() != 2) throw new ArgumentException("An orthogonal initialisation needs a 2-D weight.", nameof(weight));
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        long rows = weight.shape[0], columns = weight.shape[1];
        var flat = randn([rows, columns], dtype: ScalarType.Float32, generator: generator);
        if (rows < columns) flat = flat.t();
        var (q, r) = linalg.qr(flat);
        q = q.mul(r.diagonal().sign());
        if (rows < columns) q = q.t();
        weight.copy_(q);
    }

    /// <summary>Glorot/Xavier uniform: U(±√(6 / (fan_in + fan_out))) for a 2-D weight.</summary>
    public static void XavierUniform(Tensor weight, Generator? generator)
    {
        var bound = Math.Sqrt(6.0 / (weight.shape[0] + weight.shape[1]));
        using var _ = no_grad();
        weight.uniform_(-bound, bound, generator);
    }

    /// <summary>
    /// <paramref name="layer"/> with PyTorch's default initialisation redrawn from <paramref name="generator"/> (kaiming
    /// uniform with a = √5, i.e. U(±1/√fan_in), for the weight; U(±1/√fan_in) for the bias); unchanged without one.
    /// </summary>
    public static Linear Drawn(Linear layer, Generator? generator)
    {
        if (generator is not null) RedrawDefault(layer.weight!, layer.bias, layer.weight!.shape[1], generator);
        return layer;
    }

    /// <inheritdoc cref="Drawn(Linear, Generator?)"/>
    public static Conv2d Drawn(Conv2d layer, Generator? generator)
    {
        if (generator is not null)
        {
            var w = layer.weight!;
            RedrawDefault(w, layer.bias, w.shape[1] * w.shape[2] * w.shape[3], generator);
        }
        return layer;
    }

    private static void RedrawDefault(Tensor weight, Tensor? bias, long fanIn, Generator generator)
    {
        var bound = 1 / Math.Sqrt(fanIn);
        using var _ = no_grad();
        weight.uniform_(-bound, bound, generator);
        bias?.uniform_(-bound, bound, generator);
    }
}
