// Shared source (src/Shared/AtomicFile.cs, ProcessOwner.cs, TemporaryPaths.cs), compiled into Microsoft.ML.Clip and into
// Microsoft.ML.Clip.Datasets: those assemblies cannot reference each other (SkiaSharp 4.x for SVG rendering vs the 2.88
// line of ML.NET's image support, see docs/architecture.md), yet both write files that must appear whole or not at all
// and leave no temporary behind. Each assembly has its own internal copy; no assembly sees both.
using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.IO;

/// <summary>Whole-file writes that never leave a truncated file behind (models, checkpoints, exports, image caches, TSVs).</summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training writes models and checkpoints with it), clip and clip-train; the
// Datasets copy by clip-data
internal static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through a temporary file beside it (<c>&lt;name&gt;.&lt;owner token&gt;-….tmp</c>) and a
    /// rename, so a crash or error mid-write never leaves a truncated file where a good one was. The temporary file is removed
    /// on failure and on a terminating signal (<see cref="TemporaryPaths"/>); those left by killed processes are removed by
    /// the first write into their folder of each later process, once their owners provably no longer run.
    /// </summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(full)!;
        var prefix = TemporaryPrefix(full);
        SweepOnce(folder);
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

    // Folders this process has swept. One sweep per folder, not one per write: listing a folder of N files on every write
    // made filling a cache folder quadratic (4,012 renders: 4,012 listings of up to 4,012 entries). A process killed after
    // the sweep leaves its temporary files to the next process's first write there.
    private static readonly ConcurrentDictionary<string, bool> Swept = new(StringComparer.Ordinal);

    // <name>.<owner token>-<random>.tmp (TemporaryPaths.NewName over TemporaryPrefix); the greedy name stops at the last
    // dot before the token, which holds no dot.
    private static readonly Regex TemporaryName = new(@"^(?<prefix>.+\.)p[0-9]+s[0-9a-f]+-[0-9a-z]+\.tmp$", RegexOptions.CultureInvariant);

    private static void SweepOnce(string folder)
    {
        // A folder that is not there yet holds nothing to sweep, and is swept on the first write after it appears.
        if (Swept.ContainsKey(folder) || !Directory.Exists(folder) || !Swept.TryAdd(folder, true)) return;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFiles(folder, "*.tmp").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return; // cannot list: nothing is removed on a guess
        }
        foreach (var entry in entries)
        {
            var name = Path.GetFileName(entry);
            if (TemporaryName.Match(name) is { Success: true } match && ProcessOwner.IsAbandoned(name, match.Groups["prefix"].Value))
                TemporaryPaths.TryDelete(entry);
        }
    }
}
