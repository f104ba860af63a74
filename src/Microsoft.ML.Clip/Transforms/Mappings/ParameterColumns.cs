using System.Runtime.InteropServices;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>A row without columns: the input of <see cref="ClipConstantMapping"/>.</summary>
internal sealed class EmptyRow
{
}

/// <summary>The constant column <see cref="ParameterColumns"/> maps to a parameter string.</summary>
internal sealed class ConstantRow
{
    /// <summary>Always 0.</summary>
    [ColumnName(ClipColumns.Constant)] public float Value;
}

/// <summary>
/// <c>CustomMapping</c> factory with no input columns that adds <see cref="ClipColumns.Constant"/> = 0 to every row:
/// the key that <c>MapValue</c> turns into a parameter string (see <see cref="ParameterColumns"/>).
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipConstantMapping : CustomMappingFactory<EmptyRow, ConstantRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Constant.v1";

    /// <inheritdoc/>
    public override Action<EmptyRow, ConstantRow> GetMapping() => static (_, dst) => dst.Value = 0f;
}

/// <summary>
/// Parameters that travel through the data. ML.NET reloads a <c>CustomMapping</c> by contract name and creates its factory
/// without arguments, so a factory cannot hold a model's resolution or tokenizer. Instead a pipeline adds a text column
/// holding the parameters as JSON on every row — a constant column (<see cref="ClipConstantMapping"/>) mapped by ML.NET's
/// own <c>MapValue</c>, which stores the string inside the saved model — and one generic factory per input kind reads
/// (input, parameters). Every resolution, resize mode and tokenizer then saves and reloads with nothing registered.
/// </summary>
internal static class ParameterColumns
{
    /// <summary>Appends the estimators that add <paramref name="column"/> = <paramref name="json"/> on every row; both added columns go to <paramref name="temporary"/>.</summary>
    public static EstimatorChain<ITransformer> Add(EstimatorChain<ITransformer> chain, TransformsCatalog catalog, string column, string json, List<string> temporary)
    {
        temporary.AddRange([ClipColumns.Constant, column]);
        return chain
            .Append<ITransformer>(catalog.CustomMapping(new ClipConstantMapping().GetMapping(), ClipConstantMapping.ContractName))
            .Append<ITransformer>(catalog.Conversion.MapValue(column, [new KeyValuePair<float, string>(0f, json)], ClipColumns.Constant));
    }
}

/// <summary>
/// What a factory's mapping made of its parameter string, kept while the rows bring the same string: <c>MapValue</c> hands
/// out the one string it holds on every row, so comparing the memory's owner (a reference check) finds the cached value
/// and a row costs no parsing. Immutable entries swapped whole, so concurrent cursors may share one cache.
/// </summary>
internal sealed class ParsedParameters<T>(Func<string, T> parse)
{
    private Entry? _last;

    /// <summary>Times a string was parsed (tests check that rows reuse the cached value).</summary>
    internal int ParseCount;

    /// <summary>The value for <paramref name="text"/>, parsed only when the string differs from the last one seen.</summary>
    public T Get(ReadOnlyMemory<char> text)
    {
        var last = _last;
        var (owner, start) = Owner(text);
        if (last is not null && (owner is not null
                ? ReferenceEquals(owner, last.Owner) && start == last.Start && text.Length == last.Text.Length
                : text.Span.SequenceEqual(last.Text)))
            return last.Value;
        var json = text.ToString();
        // Another instance of the same string (a second cursor, a reloaded copy) reuses the parsed value.
        var value = last is not null && last.Text == json ? last.Value : Parse(json);
        _last = new Entry(owner, start, json, value);
        return value;
    }

    private T Parse(string json)
    {
        Interlocked.Increment(ref ParseCount);
        return parse(json);
    }

    private static (object? Owner, int Start) Owner(ReadOnlyMemory<char> text)
    {
        if (MemoryMarshal.TryGetString(text, out var s, out var start, out _))
            return (s, start);
        if (MemoryMarshal.TryGetArray(text, out ArraySegment<char> segment))
            return (segment.Array, segment.Offset);
        return (null, 0);
    }

    private sealed record Entry(object? Owner, int Start, string Text, T Value);
}
