using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Modeling;

/// <summary>
/// Tensor operations whose scalar arguments stay alive for the whole native call.
/// </summary>
/// <remarks>
/// TorchSharp turns a number passed where a <see cref="Scalar"/> is expected into a native scalar that only its
/// finalizer frees, and <c>a.add(b)</c> passes such a scalar (alpha = 1) itself. The managed wrapper is unreachable as
/// soon as its handle has been read, so a garbage collection during the native call can finalize it and free the native
/// scalar while libtorch still reads it: training crashed in <c>add</c> with "Expected false to be true" from
/// <c>Scalar::toFloat</c> after a few hundred steps. Every operation here holds its scalar in a <c>using</c> variable
/// (disposed after the call) or in a static field (never finalized). Model and training code use these instead of the
/// overloads taking numbers; <c>BannedSymbols.txt</c> (Microsoft.CodeAnalysis.BannedApiAnalyzers, RS0030 as an error)
/// fails the build on a number-to-Scalar conversion, a numeric tensor operator or <c>add</c>/<c>sub</c> without alpha.
/// </remarks>
internal static class KeptScalars
{
    private static readonly Scalar One = 1.ToScalar();
    private static readonly Scalar Zero = 0.ToScalar();

    /// <summary><paramref name="a"/> + <paramref name="b"/>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><paramref name="a"/> += <paramref name="b"/> · <paramref name="alpha"/>, in place.</summary>
    public static Tensor AddInPlace(this Tensor a, Tensor b, double alpha) => With(alpha, s => a.add_(b, s));

    /// <summary><paramref name="a"/> + <paramref name="value"/>, in place.</summary>
    public static Tensor AddInPlace(this Tensor a, double value) => With(value, s => a.add_(s, One));

    /// <summary><paramref name="a"/> − <paramref name="value"/>.</summary>
    public static Tensor Minus(this Tensor a, double value) => With(value, s => a.sub(s));

    /// <summary><paramref name="a"/> · <paramref name="value"/>.</summary>
    public static Tensor Times(this Tensor a, double value) => With(value, s => a.mul(s));

    /// <summary><paramref name="a"/> · <paramref name="value"/>, in place.</summary>
    public static Tensor TimesInPlace(this Tensor a, double value) => With(value, s => a.mul_(s));

    /// <summary><paramref name="a"/> / <paramref name="value"/>.</summary>
    public static Tensor DividedBy(this Tensor a, double value) => With(value, s => a.div(s));

    /// <summary><paramref name="a"/> / <paramref name="value"/>, in place.</summary>
    public static Tensor DividedByInPlace(this Tensor a, double value) => With(value, s => a.div_(s));

    /// <summary><paramref name="a"/> += <paramref name="value"/> · <paramref name="t1"/> · <paramref name="t2"/>, in place.</summary>
    public static Tensor AddProductInPlace(this Tensor a, Tensor t1, Tensor t2, double value) => With(value, s => a.addcmul_(t1, t2, s));

    /// <summary><paramref name="a"/> += <paramref name="value"/> · <paramref name="t1"/> / <paramref name="t2"/>, in place.</summary>
    public static Tensor AddQuotientInPlace(this Tensor a, Tensor t1, Tensor t2, double value) => With(value, s => a.addcdiv_(t1, t2, s));

    /// <summary>Clamps <paramref name="a"/> to [<paramref name="min"/>, <paramref name="max"/>], in place.</summary>
    public static Tensor ClampInPlace(this Tensor a, double min, double max) => With(min, lo => With(max, hi => a.clamp_(lo, hi)));

    /// <summary><paramref name="a"/> with <paramref name="value"/> where <paramref name="mask"/> is true.</summary>
    public static Tensor MaskedFill(this Tensor a, Tensor mask, double value) => With(value, s => a.masked_fill(mask, s));

    /// <summary>Fills <paramref name="a"/> with <paramref name="value"/>.</summary>
    public static Tensor FillInPlace(this Tensor a, double value) => With(value, s => a.fill_(s));

    /// <summary>A [rows, columns] tensor of <paramref name="value"/>.</summary>
    public static Tensor Full(long rows, long columns, double value, ScalarType dtype, Device device) =>
        With(value, s => full(rows, columns, s, dtype: dtype, device: device));

    /// <summary>0, 1, …, <paramref name="count"/> − 1.</summary>
    public static Tensor Range(long count, ScalarType dtype, Device device)
    {
        using var stop = count.ToScalar();
        return arange(Zero, stop, One, dtype: dtype, device: device);
    }

    // The scalar lives in a using variable until the operation has returned, then is freed at once.
    private static Tensor With(double value, Func<Scalar, Tensor> operation)
    {
        using var scalar = value.ToScalar();
        return operation(scalar);
    }
}
