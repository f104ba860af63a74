namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Thrown when a pickle names a Python global that the restricted reader does not allow. The reader
/// stops at the global's opcode, so nothing the pickle asked for has run.
/// </summary>
public sealed class UnsafePickleException : IOException
{
    /// <summary>Creates the exception for <paramref name="global"/> met in <paramref name="source"/>.</summary>
    public UnsafePickleException(string source, PickleGlobal global)
        : base($"'{source}' asks for the Python global '{global.FullName}', which this reader refuses: only tensors " +
               "(torch._utils._rebuild_tensor_v2 over torch storages), collections.OrderedDict, plain containers and " +
               "TorchScript module data are read. Nothing from the file was executed.")
    {
        PickleSource = source;
        Global = global;
    }

    /// <summary>The file (or archive entry) holding the pickle.</summary>
    public string PickleSource { get; }

    /// <summary>The refused global.</summary>
    public PickleGlobal Global { get; }
}
