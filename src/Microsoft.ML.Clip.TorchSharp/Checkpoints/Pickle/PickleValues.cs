namespace Microsoft.ML.Clip.TorchSharp.Checkpoints.Pickle;

/// <summary>A reference to a Python global (<c>module.name</c>) met in a pickle; never resolved to code.</summary>
/// <param name="Module">The Python module, e.g. <c>torch._utils</c>.</param>
/// <param name="Name">The name inside the module, e.g. <c>_rebuild_tensor_v2</c>.</param>
public sealed record PickleGlobal(string Module, string Name)
{
    /// <summary><c>module.name</c>, as Python spells it.</summary>
    public string FullName => $"{Module}.{Name}";

    /// <inheritdoc/>
    public override string ToString() => FullName;
}

/// <summary>
/// An instance of an allowed class that the reader cannot rebuild into a .NET value, kept as plain data:
/// the TorchScript <c>__torch__.*</c> module objects of an OpenAI <c>.pt</c> archive. Nothing of the class
/// runs; its constructor arguments and the state given to <c>BUILD</c> are only recorded.
/// </summary>
public sealed class PickleObject
{
    internal PickleObject(PickleGlobal type, IReadOnlyList<object?> arguments)
    {
        Type = type;
        Arguments = arguments;
    }

    /// <summary>The class.</summary>
    public PickleGlobal Type { get; }

    /// <summary>Arguments given to the class by <c>NEWOBJ</c> or <c>REDUCE</c>.</summary>
    public IReadOnlyList<object?> Arguments { get; }

    /// <summary>The state given by <c>BUILD</c> (for a TorchScript module, a dict of its attributes); null if none.</summary>
    public object? State { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() => $"<{Type.FullName} object>";
}
