using Microsoft.ML.Clip.IO;

namespace ClipCli.Commands;

/// <summary>
/// How the commands that write a model folder (<c>convert</c>, and <c>clip-train</c>, which links this file) treat it: the
/// folder is locked for the whole command (a second writer is refused at once, naming the holder), and a folder that already
/// holds a model is only replaced with <c>--force</c>. A folder holding anything that is not a model's is never replaced.
/// </summary>
internal static class OutputFolderOptions
{
    /// <summary>The <c>--force</c> option.</summary>
    public static Option<bool> ForceOption() => new("--force")
    {
        Description = "Replace the model already in the output folder (without it, such a folder is refused). Files that are not a model's are never replaced.",
    };

    /// <summary>
    /// Locks <paramref name="folder"/> for this process and checks that it may be written: new, empty, or holding a model
    /// and <paramref name="force"/> given (or <paramref name="resuming"/> a run whose checkpoint it holds).
    /// </summary>
    /// <exception cref="IOException">Another process writes the folder, it holds a model and no --force, or it holds other files.</exception>
    public static OutputFolderLock Lock(string folder, bool force, bool resuming = false)
    {
        var held = OutputFolderLock.Acquire(folder);
        try
        {
            var full = Path.GetFullPath(folder);
            DirectorySwap.RecoverInterrupted(full);
            StagedModelFolder.CheckReplaceable(full);
            if (!force && !resuming && StagedModelFolder.HoldsModel(full))
                throw new IOException($"'{folder}' already holds a model; pass --force to replace it, or choose another folder.");
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }
}
