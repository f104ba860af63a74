namespace Microsoft.ML.Clip.Checkpoints;

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
