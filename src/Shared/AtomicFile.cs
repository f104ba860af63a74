// Shared source (src/Shared/AtomicFile.cs, ProcessOwner.cs, TemporaryPaths.cs), compiled into Microsoft.ML.Clip and into
// Microsoft.ML.Clip.Datasets: those assemblies cannot reference each other (SkiaSharp 4.x for SVG rendering vs the 2.88
// line of ML.NET's image support, see docs/architecture.md), yet both write files that must appear whole or not at all
// and leave no temporary behind. Each assembly has its own internal copy; no assembly sees both.

namespace Microsoft.ML.Clip.IO;

/// <summary>Whole-file writes that never leave a truncated file behind (models, checkpoints, exports, image caches, TSVs).</summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training writes models and checkpoints with it), clip and clip-train; the
// Datasets copy by clip-data
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through a temporary file beside it (<c>&lt;name&gt;.&lt;owner token&gt;-….tmp</c>) and a
    /// rename, so a crash or error mid-write never leaves a truncated file where a good one was. The temporary file is removed
    /// on failure and on a terminating signal (<see cref="TemporaryPaths"/>); one left by a killed process is removed by the
    /// next write of the same file, once its owner provably no longer runs.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var prefix = TemporaryPrefix(full);
        TemporaryPaths.SweepAbandoned(folder, prefix);
        var temporary = Path.Combine(folder, TemporaryPaths.NewName(prefix) + ".tmp");
        TemporaryPaths.Register(temporary);
        try
        {
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            // After the rename there is nothing to remove; after a failure, the partial file.
            TemporaryPaths.Delete(temporary);
        }
    }

    /// <summary>The prefix of <paramref name="path"/>'s temporary files' names (<c>&lt;name&gt;.</c>).</summary>
    internal static string TemporaryPrefix(string path) => Path.GetFileName(path) + ".";
}
