namespace Microsoft.ML.Clip.Checkpoints.Pickle;

/// <summary>
/// Decides what the globals of a pickle mean. <see cref="RestrictedUnpickler"/> asks <see cref="IsAllowed"/>
/// the moment a global is named, before anything refers to it, and refuses the whole stream on a "no".
/// </summary>
internal interface IPickleResolver
{
    /// <summary>True when <paramref name="global"/> may appear in the stream.</summary>
    bool IsAllowed(PickleGlobal global);

    /// <summary>The value of <c>callable(*arguments)</c> (opcodes <c>REDUCE</c>, <c>NEWOBJ</c>) for an allowed global.</summary>
    object? Call(PickleGlobal callable, IReadOnlyList<object?> arguments);

    /// <summary>The object behind a persistent id (opcodes <c>PERSID</c>, <c>BINPERSID</c>).</summary>
    object? PersistentLoad(object? persistentId);
}
