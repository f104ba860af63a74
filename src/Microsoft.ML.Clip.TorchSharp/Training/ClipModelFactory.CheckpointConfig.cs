using System.IO.Compression;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Checkpoints.Pickle;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

internal static partial class ClipModelFactory
{
    /// <summary>
    /// The architecture of the checkpoint at <paramref name="path"/>, read without its tensor data: a file of this
    /// package gives its JSON header; safetensors their header (to tell Hugging Face from OpenAI names) and the config
    /// file beside them; a PyTorch archive its pickle, with every storage standing in as a data-less ("meta") tensor so
    /// that the config is inferred from shapes alone. A checkpoint whose data is damaged therefore still has a schema;
    /// <see cref="Create"/> then fails on it, naming the file.
    /// </summary>
    /// <remarks>
    /// Written against the TorchSharp-based import code of <c>Checkpoints/</c>; when that code reads checkpoints on
    /// plain arrays, this method becomes a call to its header-only reader.
    /// </remarks>
    internal static ClipConfig ReadCheckpointConfig(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"Initial checkpoint '{path}' does not exist.", path);
        if (File.Exists(path) && ClipPackageFile.IsPackageFile(path))
            return ClipPackageFile.ReadHeader(path).Config;
        if (Directory.Exists(path) || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            return SafetensorsConfig(path);
        return PyTorchConfig(path);
    }

    private static ClipConfig SafetensorsConfig(string fileOrFolder)
    {
        var (weightsPath, folder) = HuggingFaceClip.ResolveWeights(fileOrFolder);
        var names = SafetensorsReader.ReadHeader(weightsPath).Entries.Select(e => e.Name).ToList();
        return HuggingFaceClipNames.LooksLikeHuggingFace(names)
            ? HuggingFaceClipConfig.Load(HuggingFaceClip.FindBeside(weightsPath, folder, HuggingFaceClipConfig.FileName, "Hugging Face")).Config
            : ClipConfigJson.Load(HuggingFaceClip.FindBeside(weightsPath, folder, ClipConfigJson.FileName, "OpenAI"));
    }

    // TorchZipArchive.Read with storages that hold no data: the same archive checks and restricted unpickler, then the
    // state dict's shapes go to the same inference as a full load (ClipCheckpoint.Load).
    private static ClipConfig PyTorchConfig(string path)
    {
        Span<byte> head = stackalloc byte[4];
        int read;
        using (var stream = File.OpenRead(path)) read = stream.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        if (!TorchZipArchive.LooksLikeZip(head[..read]))
        {
            // Not a zip: the full reader says what the file is instead (legacy format, another format) after those 4 bytes.
            using var refused = ClipCheckpoint.Load(path);
            return refused.Config;
        }
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
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
            var meta = device("meta");
            var resolver = new TorchPickleResolver(path, (_, dtype, count) => empty(count, dtype, device: meta));
            try
            {
                var root = RestrictedUnpickler.Load(ReadEntry(pickle, path), $"{path}!{pickle.FullName}", resolver);
                var stateNames = isTorchScript ? TorchScriptClassInfo.Read(zip, stem) : new Dictionary<string, HashSet<string>>();
                return ClipConfigInference.FromStateDict(StateDictExtraction.FromRoot(root, path, stateNames));
            }
            catch (ArgumentException e)
            {
                throw new InvalidDataException($"'{path}' does not hold CLIP weights under OpenAI's names: {e.Message}", e);
            }
            finally
            {
                // Every tensor of the state dict is one the resolver rebuilt; none holds data.
                resolver.DisposeRebuiltTensors();
                foreach (var storage in resolver.Storages) storage.Data.Dispose();
            }
        }
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
