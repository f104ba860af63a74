using Microsoft.ML.Clip.ZeroShot;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>Row of a probability vector.</summary>
internal sealed class ProbabilitiesRow
{
    /// <summary>The class probabilities.</summary>
    [ColumnName(ClipColumns.Probabilities)] public float[] Probabilities = [];
}

/// <summary>Index of the most probable class (NaN when every value is NaN).</summary>
internal sealed class ArgMaxRow
{
    /// <summary>0-based class index as a float, so a missing value can be NaN.</summary>
    [ColumnName(ClipColumns.ArgMax)] public float Index;
}

/// <summary>
/// <c>CustomMapping</c> factory: the 0-based index of the largest probability. Stateless, so a saved
/// model reloads it by its contract name.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipArgMaxMapping : CustomMappingFactory<ProbabilitiesRow, ArgMaxRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.ArgMax.v1";

    /// <inheritdoc/>
    public override Action<ProbabilitiesRow, ArgMaxRow> GetMapping() => static (src, dst) =>
    {
        var i = ZeroShotMath.ArgMax(src.Probabilities);
        dst.Index = i < 0 ? float.NaN : i;
    };
}

/// <summary>Row of the not-yet-split remainder of a vector.</summary>
internal sealed class RestRow
{
    /// <summary>The remaining values.</summary>
    [ColumnName(ClipColumns.Rest)] public float[] Rest = [];
}

/// <summary>First value of a vector split off, and the rest.</summary>
internal sealed class SplitRow
{
    /// <summary>The values after the first.</summary>
    [ColumnName(ClipColumns.Rest)] public float[] Rest = [];

    /// <summary>The first value.</summary>
    [ColumnName(ClipColumns.First)] public float First;
}

/// <summary>
/// <c>CustomMapping</c> factory: splits the first value off a vector as a scalar column. Applied once per
/// class, it gives the per-class scalar columns whose names become the <c>Score</c> slot names when
/// ML.NET's <c>Concatenate</c> joins them (ONNX scalar outputs cannot be read by ML.NET 5.0.1).
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipSplitFirstMapping : CustomMappingFactory<RestRow, SplitRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.SplitFirst.v1";

    /// <inheritdoc/>
    public override Action<RestRow, SplitRow> GetMapping() => static (src, dst) =>
    {
        var values = src.Rest;
        dst.First = values.Length > 0 ? values[0] : float.NaN;
        dst.Rest = values.Length > 1 ? values[1..] : [];
    };
}
