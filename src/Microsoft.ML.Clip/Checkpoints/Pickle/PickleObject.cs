namespace Microsoft.ML.Clip.Checkpoints.Pickle;

/// <summary>
/// An instance of an allowed class that the reader cannot rebuild into a .NET value, kept as plain data:
/// the TorchScript <c>__torch__.*</c> module objects of an OpenAI <c>.pt</c> archive. Nothing of the class
/// runs; its constructor arguments and the state given to <c>BUILD</c> are only recorded.
/// </summary>
internal sealed class PickleObject
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
