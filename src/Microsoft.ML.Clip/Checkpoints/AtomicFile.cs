namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>Whole-file writes that never leave a truncated file behind (models, checkpoints, exports).</summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training writes models and checkpoints with it)
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <c>path.tmp</c> and a rename, so a crash or error mid-write
    /// never leaves a truncated file where a good one was.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var temporary = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }
}
