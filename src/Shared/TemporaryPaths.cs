// Shared source (src/Shared/AtomicFile.cs, ProcessOwner.cs, TemporaryPaths.cs), compiled into Microsoft.ML.Clip and into
// Microsoft.ML.Clip.Datasets: those assemblies cannot reference each other (SkiaSharp 4.x for SVG rendering vs the 2.88
// line of ML.NET's image support, see docs/architecture.md), yet both write files that must appear whole or not at all
// and leave no temporary behind. Each assembly has its own internal copy; no assembly sees both.
using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// The temporary files and folders this process has on disk (staging folders, conversions of a checkpoint for one run,
/// <c>.tmp</c> files): each is registered while it exists and removed on every way out — its owner's dispose on success
/// and failure, and for the ones still registered, process exit and, in a tool that asks for it
/// (<see cref="RemoveOnTerminatingSignals"/>), SIGTERM, SIGINT (Ctrl-C), SIGHUP and SIGQUIT. A library does not take
/// signals over: an application may handle them and go on working with these very files. A process killed outright
/// (SIGKILL, power loss) leaves them behind: their names carry the owner token of <see cref="ProcessOwner"/>, and
/// <see cref="SweepAbandoned"/> removes those whose owner provably no longer runs.
/// </summary>
// friend: used by clip and clip-train; the Datasets copy by clip-data
internal static class TemporaryPaths
{
    private static readonly HashSet<string> Live = new(StringComparer.Ordinal);
    private static readonly List<PosixSignalRegistration> Signals = [];
    private static bool _hooked;

    /// <summary>A new folder under the temp folder, named <paramref name="prefix"/> + owner token, registered for removal;
    /// abandoned folders of the same prefix are swept first.</summary>
    public static string CreateFolder(string prefix)
    {
        var root = Path.GetTempPath();
        SweepAbandoned(root, prefix);
        var path = Path.Combine(root, NewName(prefix));
        Register(path);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary><paramref name="prefix"/> + this process's owner token + a random part: a name no other entry has.</summary>
    public static string NewName(string prefix) => $"{prefix}{ProcessOwner.Token}-{Guid.NewGuid().ToString("N")[..8]}";

    /// <summary>Registers <paramref name="path"/> (file or folder) for removal at exit or on a terminating signal.</summary>
    public static void Register(string path)
    {
        lock (Live)
        {
            Live.Add(Path.GetFullPath(path));
            if (!_hooked) Hook();
        }
    }

    /// <summary>Stops tracking <paramref name="path"/> (it was renamed into place or removed by its owner).</summary>
    public static void Unregister(string path)
    {
        lock (Live) Live.Remove(Path.GetFullPath(path));
    }

    /// <summary>Removes <paramref name="path"/> (file or folder) if it exists and stops tracking it; errors are ignored.</summary>
    public static void Delete(string path)
    {
        TryDelete(path);
        Unregister(path);
    }

    /// <summary>
    /// Removes the entries of <paramref name="folder"/> named <paramref name="prefix"/> + an owner token whose owner
    /// provably no longer runs (<see cref="ProcessOwner.IsAbandoned"/>); returns how many went.
    /// </summary>
    public static int SweepAbandoned(string folder, string prefix)
    {
        if (!Directory.Exists(folder)) return 0;
        var removed = 0;
        IEnumerable<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(folder, prefix + "*").ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
        foreach (var entry in entries)
        {
            if (ProcessOwner.IsAbandoned(Path.GetFileName(entry), prefix) && TryDelete(entry))
                removed++;
        }
        return removed;
    }

    /// <summary>Removes a file or a folder tree; false when it could not.</summary>
    public static bool TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
            else if (File.Exists(path)) File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Hook()
    {
        _hooked = true;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => DeleteAll();
    }

    /// <summary>
    /// For a tool that ends on SIGTERM, SIGINT, SIGHUP and SIGQUIT: removes the registered paths when one arrives, then lets the
    /// signal end the process as it would have (the handlers cancel nothing). Call once, at start.
    /// </summary>
    public static void RemoveOnTerminatingSignals()
    {
        lock (Live)
        {
            if (Signals.Count > 0 || OperatingSystem.IsWindows() || OperatingSystem.IsBrowser()) return;
            foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP, PosixSignal.SIGQUIT })
            {
                try
                {
                    Signals.Add(PosixSignalRegistration.Create(signal, _ => DeleteAll()));
                }
                catch (Exception e) when (e is PlatformNotSupportedException or IOException)
                {
                    // A platform without this signal: process exit still cleans up.
                }
            }
        }
    }

    private static void DeleteAll()
    {
        string[] paths;
        lock (Live)
        {
            paths = [.. Live];
            Live.Clear();
        }
        foreach (var path in paths) TryDelete(path);
    }
}
