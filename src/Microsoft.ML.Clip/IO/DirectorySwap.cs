using System.Runtime.InteropServices;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// Puts a complete folder in place of another with renames, so that a reader of the path finds the old folder or the
/// new one, never a mix. On Linux (glibc 2.28+, and a file system that supports it: ext4, xfs, btrfs, tmpfs, …) the two are
/// exchanged in one step by <c>renameat2(RENAME_EXCHANGE)</c>. Elsewhere — or where the call is refused — the old folder is
/// renamed aside and the new one renamed in: two steps, with a moment in which the path does not exist; a process that dies
/// between them leaves the old folder aside under a name with its owner token, which <see cref="RecoverInterrupted"/> renames
/// back (the next writer and the next loader of the path call it).
/// </summary>
internal static class DirectorySwap
{
    /// <summary>Prefix (after <c>.&lt;name&gt;</c>) of a folder renamed aside during a two-step swap.</summary>
    public const string RetiredInfix = ".clip-old-";

    /// <summary>Test hook: use the two-step swap even where the exchange works.</summary>
    internal static bool ForceTwoStep { get; set; }

    /// <summary>Test hook: called between the two steps of the two-step swap (a crash there is what recovery handles).</summary>
    internal static Action? BetweenSteps { get; set; }

    /// <summary>
    /// Puts <paramref name="staged"/> at <paramref name="target"/>. Returns the path where the old folder now is (to be
    /// removed by the caller; <paramref name="staged"/> after an exchange), or null when there was none.
    /// </summary>
    public static string? Replace(string staged, string target)
    {
        if (!Directory.Exists(target) && !File.Exists(target))
        {
            Directory.Move(staged, target);
            return null;
        }
        if (!ForceTwoStep && TryExchange(staged, target))
            return staged;
        var retired = RetiredPath(target);
        Directory.Move(target, retired);
        BetweenSteps?.Invoke();
        Directory.Move(staged, target);
        return retired;
    }

    /// <summary>The name a two-step swap gives the old folder: <c>.&lt;name&gt;.clip-old-&lt;owner token&gt;-&lt;random&gt;</c> beside it.</summary>
    public static string RetiredPath(string target)
        => Path.Combine(Path.GetDirectoryName(target)!, TemporaryPaths.NewName(RetiredPrefix(target)));

    /// <summary>The prefix of the names of <paramref name="target"/>'s retired folders.</summary>
    public static string RetiredPrefix(string target) => "." + Path.GetFileName(target) + RetiredInfix;

    /// <summary>
    /// Undoes a two-step swap whose process died between its steps: when <paramref name="target"/> is missing and a folder
    /// renamed aside from it by a process that no longer runs is found, it is renamed back. Returns whether it was.
    /// </summary>
    public static bool RecoverInterrupted(string target)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        var parent = Path.GetDirectoryName(target);
        if (parent is null || Directory.Exists(target) || File.Exists(target) || !Directory.Exists(parent)) return false;
        var prefix = RetiredPrefix(target);
        var candidates = Directory.EnumerateDirectories(parent, prefix + "*")
            .Where(d => ProcessOwner.IsAbandoned(Path.GetFileName(d), prefix))
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .ToList();
        foreach (var retired in candidates)
        {
            try
            {
                Directory.Move(retired, target);
                return true;
            }
            catch (IOException)
            {
                // Someone else restored it (or wrote a new folder) first.
                if (Directory.Exists(target)) return false;
            }
            catch (UnauthorizedAccessException)
            {
                // A reader without write access cannot restore it: the caller reports the folder as missing, by name.
                return false;
            }
        }
        return false;
    }

    // renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE); false where it is not available, so the caller falls back.
    private static bool TryExchange(string a, string b)
    {
        if (!OperatingSystem.IsLinux()) return false;
        int result;
        try
        {
            result = RenameAt2(AtFdCwd, a, AtFdCwd, b, RenameExchange);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
        if (result == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        // EINVAL: the file system does not support the flag; ENOSYS: an old kernel; EPERM/EOPNOTSUPP on some overlays.
        if (errno is EInval or ENoSys or EPerm or EOpNotSupp) return false;
        throw new IOException($"Could not exchange '{a}' and '{b}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno}).");
    }

    private const int AtFdCwd = -100;
    private const uint RenameExchange = 2;
    private const int EPerm = 1, EInval = 22, ENoSys = 38, EOpNotSupp = 95;

    [DllImport("libc", EntryPoint = "renameat2", SetLastError = true)]
    private static extern int RenameAt2(int oldDirFd, [MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, int newDirFd,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath, uint flags);
}
