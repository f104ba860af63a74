using System.IO.Compression;
using Microsoft.ML.Clip.Checkpoints.Pickle;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Reads the zip archives written by <c>torch.save</c> (torch ≥ 1.6) and <c>torch.jit.save</c>:
/// <c>STEM/data.pkl</c> is the pickled object and <c>STEM/data/KEY</c> the raw little-endian bytes of each
/// storage. <c>STEM</c> is whatever folder the writer chose (the file name without extension, or <c>archive</c>).
/// </summary>
internal static class TorchZipArchive
{
    /// <summary>What <see cref="Read"/> found in an archive.</summary>
    /// <param name="Root">The unpickled object of <c>data.pkl</c>.</param>
    /// <param name="IsTorchScript">True for a TorchScript archive (it has <c>code/</c> or <c>constants.pkl</c>).</param>
    /// <param name="StateNames">For TorchScript, the parameter and buffer names of each declared class.</param>
    internal sealed record Content(object? Root, bool IsTorchScript, IReadOnlyDictionary<string, HashSet<string>> StateNames);

    /// <summary>True when the file starts like a zip archive.</summary>
    public static bool LooksLikeZip(ReadOnlySpan<byte> head) => head.Length >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4;

    /// <summary>Reads <c>data.pkl</c> of the archive at <paramref name="path"/> with the restricted unpickler.</summary>
    /// <param name="path">The archive.</param>
    /// <param name="readData">False to read names and shapes only: no storage is read (the tensors' data cannot be
    /// read either), so an archive whose data is damaged still tells its architecture.</param>
    public static Content Read(string path, bool readData = true)
    {
        var file = File.OpenRead(path);
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: false);
        }
        catch (InvalidDataException e)
        {
            file.Dispose();
            throw new InvalidDataException($"'{path}' is not a readable PyTorch zip archive (truncated or corrupt): {e.Message}", e);
        }
        using (zip)
        {
            var pickle = zip.Entries
                .Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) && e.FullName.Count(c => c == '/') == 1)
                .OrderBy(e => e.FullName.Length)
                .FirstOrDefault()
                ?? throw new InvalidDataException($"'{path}' is a zip archive but not a PyTorch checkpoint: it has no '<folder>/data.pkl' entry.");
            var stem = pickle.FullName[..^"data.pkl".Length];
            var isTorchScript = zip.GetEntry(stem + "constants.pkl") is not null
                || zip.Entries.Any(e => e.FullName.StartsWith(stem + "code/", StringComparison.Ordinal));

            var resolver = new TorchPickleResolver(path, readData ? (key, dtype, count) => LoadStorage(zip, path, stem, key, dtype, count) : null);
            var root = RestrictedUnpickler.Load(ReadEntry(pickle, path), $"{path}!{pickle.FullName}", resolver);
            var stateNames = isTorchScript ? TorchScriptClassInfo.Read(zip, stem) : new Dictionary<string, HashSet<string>>();
            return new Content(root, isTorchScript, stateNames);
        }
    }

    // The raw bytes of storage `key`: the tensors rebuilt over it are views of this array (or copies, when strided).
    private static byte[] LoadStorage(ZipArchive zip, string path, string stem, string key, StateTensorType dtype, long count)
    {
        var name = $"{stem}data/{key}";
        var entry = zip.GetEntry(name)
            ?? throw new InvalidDataException($"'{path}' has no entry '{name}' for a tensor storage: the archive is truncated or corrupt.");
        // The element count comes from the pickle and the entry length from the zip directory: both are checked
        // before anything is allocated, so a corrupt count cannot ask the GC for a huge buffer.
        if (count < 0)
            throw new InvalidDataException($"'{path}': storage '{name}' declares {count} elements; the archive is corrupt.");
        var needed = count > long.MaxValue / StateTensor.ItemSize(dtype) ? long.MaxValue : count * StateTensor.ItemSize(dtype);
        if (entry.Length < needed)
            throw new InvalidDataException($"'{path}': storage '{name}' holds {entry.Length} bytes, {needed} needed for {count} {dtype} elements; the archive is truncated or corrupt.");
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("PyTorch archives store little-endian data; this machine is big-endian.");
        return ReadEntry(entry, path);
    }

    private static byte[] ReadEntry(ZipArchiveEntry entry, string path)
    {
        if (entry.Length > Array.MaxLength)
            throw new InvalidDataException($"'{path}': entry '{entry.FullName}' declares {entry.Length} bytes; entries over 2 GB are not supported (or the archive is corrupt).");
        try
        {
            using var stream = entry.Open();
            var buffer = new byte[entry.Length];
            stream.ReadExactly(buffer);
            return buffer;
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
        {
            throw new InvalidDataException($"'{path}': entry '{entry.FullName}' cannot be read (truncated or corrupt archive): {e.Message}", e);
        }
    }
}
