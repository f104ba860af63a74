// Shared source (src/Shared/AtomicFile.cs, ProcessOwner.cs, TemporaryPaths.cs), compiled into Microsoft.ML.Clip and into
// Microsoft.ML.Clip.Datasets: those assemblies cannot reference each other (SkiaSharp 4.x for SVG rendering vs the 2.88
// line of ML.NET's image support, see docs/architecture.md), yet both write files that must appear whole or not at all
// and leave no temporary behind. Each assembly has its own internal copy; no assembly sees both.
using System.Diagnostics;
using System.Globalization;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// Who made a temporary file or folder: the owner token (<c>p&lt;pid&gt;s&lt;start&gt;</c>, the process id and its start
/// time in Unix milliseconds, hex) that this library writes into the name of everything it leaves on disk while working,
/// so that a later run can prove an entry abandoned — its process is gone, or the id now belongs to a younger process —
/// before it removes it. Nothing is ever removed on a guess: an owner that cannot be checked counts as alive.
/// </summary>
// friend: used by clip and clip-train (temporary folders, locks); the Datasets copy by clip-data
internal static class ProcessOwner
{
    // The start time is compared with this slack: both sides derive it from the same kernel clock, so it only absorbs rounding.
    private const long StartSlackMs = 2000;

    /// <summary>This process's token.</summary>
    public static string Token { get; } = $"p{Environment.ProcessId}s{StartOf(Environment.ProcessId) ?? 0:x}";

    /// <summary>Finds the owner token in <paramref name="name"/> (after <paramref name="prefix"/>); false when there is none.</summary>
    public static bool TryParse(string name, string prefix, out int pid, out long startMs)
    {
        pid = 0;
        startMs = 0;
        if (!name.StartsWith(prefix, StringComparison.Ordinal)) return false;
        var rest = name.AsSpan(prefix.Length);
        if (rest.Length < 4 || rest[0] != 'p') return false;
        var s = rest.IndexOf('s');
        if (s < 2 || !int.TryParse(rest[1..s], NumberStyles.None, CultureInfo.InvariantCulture, out pid)) return false;
        var end = s + 1;
        while (end < rest.Length && char.IsAsciiHexDigit(rest[end])) end++;
        return end > s + 1 && long.TryParse(rest[(s + 1)..end], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out startMs);
    }

    /// <summary>
    /// Whether the entry called <paramref name="name"/> (made with <paramref name="prefix"/> + an owner token) provably has no
    /// owner any more: its process is not running, or the id belongs to a process started at another time. False for names
    /// without a token and for owners that cannot be checked (another user's process).
    /// </summary>
    public static bool IsAbandoned(string name, string prefix)
    {
        if (!TryParse(name, prefix, out var pid, out var startMs)) return false;
        if (pid == Environment.ProcessId) return false; // ours: the caller knows which of its own entries are live
        try
        {
            using var process = Process.GetProcessById(pid);
            if (process.HasExited) return true;
            return StartOf(process) is long start && startMs != 0 && Math.Abs(start - startMs) > StartSlackMs;
        }
        catch (ArgumentException)
        {
            return true; // no process with that id
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return false; // cannot tell: keep it
        }
    }

    private static long? StartOf(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return StartOf(process);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }

    private static long? StartOf(Process process)
    {
        try
        {
            return new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeMilliseconds();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
            return null;
        }
    }
}
