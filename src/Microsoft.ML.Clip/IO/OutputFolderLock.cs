using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// One writer per output folder: an exclusive lock on <c>.&lt;name&gt;.clip-lock</c> beside the folder (beside, not in it:
/// the folder itself is replaced by a rename when a write completes). The lock is an open file with
/// <see cref="FileShare.None"/>, which .NET takes as <c>flock(LOCK_EX | LOCK_NB)</c> on Unix and as a sharing lock on
/// Windows, so the operating system releases it when the holder dies, however it dies: a lock file left by a killed
/// process locks nothing. While held, the file names its holder (process id, start time, command line, machine), which a
/// refused writer quotes. Re-entrant within a process (a command that locks its folder for its whole run may call
/// library writers that lock it again).
/// </summary>
// friend: used by clip and clip-train (a run locks its output folder from start to end)
internal sealed class OutputFolderLock : IDisposable
{
    /// <summary>Suffix of the lock file's name (<c>.&lt;folder name&gt;.clip-lock</c>).</summary>
    public const string Suffix = ".clip-lock";

    // Held locks of this process by lock file path: the open file, the thread that holds it and its hold count.
    private static readonly Dictionary<string, (FileStream Stream, int Thread, int Count)> Held = new(StringComparer.Ordinal);

    private readonly string _lockPath;
    private bool _released;

    private OutputFolderLock(string folder, string lockPath)
    {
        Folder = folder;
        _lockPath = lockPath;
    }

    /// <summary>The locked folder (full path).</summary>
    public string Folder { get; }

    /// <summary>The lock file of <paramref name="folder"/>.</summary>
    public static string LockPathOf(string folder)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        return Path.Combine(Path.GetDirectoryName(full) ?? full, "." + Path.GetFileName(full) + Suffix);
    }

    /// <summary>
    /// Locks <paramref name="folder"/> (which need not exist) for this process, or fails at once.
    /// </summary>
    /// <param name="folder">The output folder.</param>
    /// <param name="command">What the holder is doing, shown to a refused writer (default: this process's command line).</param>
    /// <exception cref="IOException">Another process holds the lock: the message names the folder and the holder.</exception>
    public static OutputFolderLock Acquire(string folder, string? command = null)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        var lockPath = LockPathOf(full);
        lock (Held)
        {
            if (Held.TryGetValue(lockPath, out var held))
            {
                // Nested writes of one operation share the hold; another thread of this process is a second writer.
                if (held.Thread != Environment.CurrentManagedThreadId)
                    throw new IOException($"'{full}' is being written by another thread of this process; a second writer would mix or lose files.");
                Held[lockPath] = (held.Stream, held.Thread, held.Count + 1);
                return new OutputFolderLock(full, lockPath);
            }
            Directory.CreateDirectory(Path.GetDirectoryName(lockPath)!);
            // A holder removes its lock file while it still holds it; a writer that opened the file just before that holds a lock
            // on a removed file, so it checks and tries again on the new one.
            for (var attempt = 0; ; attempt++)
            {
                FileStream stream;
                try
                {
                    stream = new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None);
                }
                catch (IOException e) when (IsLockedByOther(e))
                {
                    throw new IOException(
                        $"'{full}' is being written by another process ({DescribeHolder(lockPath)}); a second writer would mix or lose files. " +
                        "Wait for it to finish, stop it, or choose another output folder.", e);
                }
                if (IsUnlinked(stream) && attempt < 5)
                {
                    stream.Dispose();
                    continue;
                }
                WriteHolder(stream, command ?? Environment.CommandLine);
                Held[lockPath] = (stream, Environment.CurrentManagedThreadId, 1);
                // Removed with the process's other temporary files on a terminating signal (the lock itself dies with the process).
                TemporaryPaths.Register(lockPath);
                return new OutputFolderLock(full, lockPath);
            }
        }
    }

    /// <summary>Whether this process holds the lock of <paramref name="folder"/>.</summary>
    public static bool IsHeldHere(string folder)
    {
        lock (Held) return Held.ContainsKey(LockPathOf(folder));
    }

    /// <summary>Releases this hold; the last one removes the lock file and unlocks.</summary>
    public void Dispose()
    {
        if (_released) return;
        _released = true;
        lock (Held)
        {
            if (!Held.TryGetValue(_lockPath, out var held)) return;
            if (held.Count > 1)
            {
                Held[_lockPath] = (held.Stream, held.Thread, held.Count - 1);
                return;
            }
            Held.Remove(_lockPath);
            // Removed while still locked, so no other writer can take a lock on the file between the removal and the unlock.
            TemporaryPaths.Delete(_lockPath);
            held.Stream.Dispose();
        }
    }

    // .NET reports flock's EWOULDBLOCK with the raw errno as HResult (11 on Linux, 35 on macOS), Windows a sharing or lock
    // violation (HRESULT of Win32 error 32 or 33).
    private static bool IsLockedByOther(IOException e) => OperatingSystem.IsWindows()
        ? (e.HResult & 0xFFFF) is 32 or 33
        : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    private static void WriteHolder(FileStream stream, string command)
    {
        var holder = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["pid"] = Environment.ProcessId,
            ["owner"] = ProcessOwner.Token,
            ["started_utc"] = System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime().ToString("u"),
            ["host"] = Environment.MachineName,
            ["command"] = command.Length > 400 ? command[..400] + "…" : command,
        });
        stream.SetLength(0);
        stream.Write(Encoding.UTF8.GetBytes(holder + "\n"));
        stream.Flush();
    }

    // What the lock file says about its holder: its own locked open file cannot be read through .NET (which takes a shared
    // flock on every open), so on Unix it is read with plain open/read.
    private static string DescribeHolder(string lockPath)
    {
        // The holder writes its description just after taking the lock: a writer started at the same moment may find the file
        // still empty, so it looks again for a short while.
        string? text = null;
        for (var attempt = 0; attempt < 10 && !OperatingSystem.IsWindows(); attempt++)
        {
            text = ReadUnlocked(lockPath);
            if (!string.IsNullOrWhiteSpace(text)) break;
            Thread.Sleep(20);
        }
        if (string.IsNullOrWhiteSpace(text)) return "holder unknown";
        try
        {
            using var json = JsonDocument.Parse(text);
            var root = json.RootElement;
            string Field(string name) => root.TryGetProperty(name, out var v) ? v.ToString() : "?";
            return $"pid {Field("pid")} on {Field("host")}, started {Field("started_utc")}: {Field("command")}";
        }
        catch (JsonException)
        {
            return "holder unknown";
        }
    }

    private static string? ReadUnlocked(string path)
    {
        try
        {
            var fd = Native.Open(path, 0 /* O_RDONLY */);
            if (fd < 0) return null;
            try
            {
                var buffer = new byte[4096];
                var n = Native.Read(fd, buffer, buffer.Length);
                return n > 0 ? Encoding.UTF8.GetString(buffer, 0, (int)n) : null;
            }
            finally
            {
                Native.Close(fd);
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
    }

    // Linux names a removed file's descriptor "<path> (deleted)"; elsewhere the check is skipped.
    private static bool IsUnlinked(FileStream stream)
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            var link = new FileInfo($"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}").LinkTarget;
            return link is not null && link.EndsWith(" (deleted)", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static class Native
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "read", SetLastError = true)]
        public static extern nint Read(int fd, byte[] buffer, nint count);

        [DllImport("libc", EntryPoint = "close")]
        public static extern int Close(int fd);
    }
}
