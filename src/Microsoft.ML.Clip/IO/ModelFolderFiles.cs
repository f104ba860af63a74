using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// The files of a model folder belong together: <c>clip_model.json</c>'s <c>files</c> records the SHA-256 of every other
/// file written with it (<see cref="StampHashes"/>, at commit), and loaders check each file they open against it
/// (<see cref="OpenVerified"/>, <see cref="ReadAllBytesVerified"/>), so a folder mixing two models' files is refused rather
/// than answering. The check hashes the very file ONNX Runtime then reads: the file is opened once, hashed through that
/// handle, and ONNX Runtime opens the same file through <c>/proc/self/fd/N</c> (Linux), so a swap of the folder between
/// the check and the load cannot slip another file in; elsewhere it opens the path, and a swap in that instant is caught by
/// the next load. A folder without <c>files</c> (format version 1, or written before version 2 recorded it) is not checked.
/// </summary>
internal static class ModelFolderFiles
{
    /// <summary>Lower-case hex SHA-256 of a file's content.</summary>
    public static string Hash(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20, FileOptions.SequentialScan);
        return Hash(stream);
    }

    private static string Hash(Stream stream) => Convert.ToHexStringLower(SHA256.HashData(stream));

    /// <summary>
    /// Records in <paramref name="folder"/>'s <c>clip_model.json</c> (when it has one) the SHA-256 of every other file below
    /// it, except <paramref name="excluded"/> (relative paths with <c>/</c>).
    /// </summary>
    public static void StampHashes(string folder, IReadOnlySet<string> excluded)
    {
        var jsonPath = Path.Combine(folder, ClipModelInfo.FileName);
        if (!File.Exists(jsonPath)) return;
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(folder, file).Replace('\\', '/');
            if (relative == ClipModelInfo.FileName || excluded.Contains(relative)) continue;
            files[relative] = Hash(file);
        }
        var info = ClipModelInfo.Load(jsonPath) with { Files = files };
        AtomicFile.Write(jsonPath, stream => info.WriteTo(stream));
    }

    /// <summary>Flushes every file below <paramref name="folder"/> to the disk (before it is renamed into place).</summary>
    public static void FlushToDisk(string folder)
    {
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Opens <paramref name="fileName"/> of the model folder, checked against <paramref name="info"/>'s <c>files</c>; the
    /// result's <see cref="VerifiedFile.RuntimePath"/> is the path to give ONNX Runtime while it stays open.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Its content is not the one <c>clip_model.json</c> records, or it is not listed.</exception>
    public static VerifiedFile OpenVerified(string folder, ClipModelInfo info, string fileName, string role)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{role} '{path}' named in {ClipModelInfo.FileName} does not exist.", path);
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20, FileOptions.SequentialScan);
        try
        {
            if (info.Files is not null)
            {
                Check(folder, info, fileName, Hash(stream));
                stream.Position = 0;
            }
            return new VerifiedFile(path, stream);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads <paramref name="fileName"/> of the model folder whole, checked against <paramref name="info"/>'s <c>files</c>.</summary>
    /// <inheritdoc cref="OpenVerified" path="/exception"/>
    public static byte[] ReadAllBytesVerified(string folder, ClipModelInfo info, string fileName, string role)
    {
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"{role} '{path}' named in {ClipModelInfo.FileName} does not exist.", path);
        var bytes = File.ReadAllBytes(path);
        if (info.Files is not null)
            Check(folder, info, fileName, Convert.ToHexStringLower(SHA256.HashData(bytes)));
        return bytes;
    }

    private const string MismatchKey = "Microsoft.ML.Clip.FolderMismatch";

    /// <summary>Whether <paramref name="e"/> is a file that failed its check: loaders retry once on it (a writer may have swapped
    /// the folder between their reading <c>clip_model.json</c> and opening the file).</summary>
    public static bool IsMismatch(Exception e) => e.Data.Contains(MismatchKey);

    private static InvalidDataException Mismatch(string message)
    {
        var e = new InvalidDataException(message);
        e.Data[MismatchKey] = true;
        return e;
    }

    private static void Check(string folder, ClipModelInfo info, string fileName, string actual)
    {
        if (!info.Files!.TryGetValue(fileName, out var recorded))
            throw Mismatch(
                $"'{Path.Combine(folder, fileName)}' is not among the files {ClipModelInfo.FileName} lists: the folder's files do not belong together. " +
                "Convert or export the model again into a new folder.");
        if (!string.Equals(recorded, actual, StringComparison.OrdinalIgnoreCase))
            throw Mismatch(
                $"'{Path.Combine(folder, fileName)}' is not the file {ClipModelInfo.FileName} was written with (SHA-256 {actual[..12]}…, recorded {recorded[..Math.Min(12, recorded.Length)]}…): " +
                "the folder mixes files of different models (an interrupted write by an older version, or a file copied in). Convert or export the model again.");
    }
}

/// <summary>A model file opened and checked: ONNX Runtime reads <see cref="RuntimePath"/> while this is not disposed.</summary>
internal sealed class VerifiedFile(string path, FileStream stream) : IDisposable
{
    /// <summary>The file's path in the folder.</summary>
    public string Path { get; } = path;

    /// <summary>What to give ONNX Runtime: on Linux the checked open file itself (<c>/proc/self/fd/N</c>), else <see cref="Path"/>.</summary>
    public string RuntimePath { get; } = OperatingSystem.IsLinux() && Directory.Exists("/proc/self/fd")
        ? $"/proc/self/fd/{stream.SafeFileHandle.DangerousGetHandle()}" : path;

    public void Dispose() => stream.Dispose();
}

/// <summary>Hard links (Unix <c>link</c>): a file kept unchanged from an old model folder costs no copy.</summary>
internal static class HardLink
{
    /// <summary>Links <paramref name="destination"/> to <paramref name="source"/>; false where links are not possible.</summary>
    public static bool TryCreate(string source, string destination)
    {
        if (OperatingSystem.IsWindows()) return false;
        try
        {
            return Link(source, destination) == 0;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link([MarshalAs(UnmanagedType.LPUTF8Str)] string oldPath, [MarshalAs(UnmanagedType.LPUTF8Str)] string newPath);
}
