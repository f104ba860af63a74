using Microsoft.ML.Clip.Models;

namespace Microsoft.ML.Clip.IO;

/// <summary>
/// Writes a model folder whole or not at all: the folder is built in a staging folder beside the target
/// (<c>.&lt;name&gt;.clip-staging-&lt;owner token&gt;-…</c>, on the same file system) and swapped in by
/// <see cref="DirectorySwap"/> only when complete, so a reader of the target sees the old folder or the new one, never a mix
/// and never a half-written file. What the target held is replaced, not merged: a safetensors folder written over an
/// ONNX folder leaves no ONNX file behind. The target is locked for the whole write (<see cref="OutputFolderLock"/>); before
/// writing, an interrupted swap of an earlier writer is undone and its abandoned staging folders are removed. On commit, a
/// <c>clip_model.json</c> in the staging folder gets the SHA-256 of every other file (<see cref="ModelFolderFiles"/>), by which
/// loaders refuse a folder whose files do not belong together. Every writer of model folders goes through here
/// (<c>ClipModelConverter</c>, <c>ClipTrainerTransformer.ExportOnnx</c>, <c>clip train</c>).
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (ExportOnnx) and clip-train (its out folder)
internal sealed class StagedModelFolder : IDisposable
{
    /// <summary>Infix of staging folders' names (after <c>.&lt;name&gt;</c>).</summary>
    public const string StagingInfix = ".clip-staging-";

    // Files a model folder of this library may hold, besides those its clip_model.json names: they may be replaced. The
    // Hugging Face names are those of a CLIP or SigLIP checkpoint folder (weights, configs, tokenizer files).
    private static readonly HashSet<string> KnownFiles = new(StringComparer.Ordinal)
    {
        ClipModelInfo.FileName, "image.onnx", "text.onnx", "model.clipmodel", "checkpoint.clipckpt", "clip_config.json",
        "model.safetensors", "model.fp16.safetensors", "model.safetensors.index.json", "config.json", "preprocessor_config.json",
        "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json", "spiece.model", "tokenizer.model", "vocab.txt",
        "vocab.json", "merges.txt",
    };

    // Sharded Hugging Face weights: model-00001-of-00002.safetensors.
    private static readonly System.Text.RegularExpressions.Regex ShardName = new(@"^model-\d+-of-\d+\.safetensors$");

    // Sub-folders a model folder may hold (clip train's OpenAI-named safetensors), checked the same way.
    private static readonly HashSet<string> KnownFolders = new(StringComparer.Ordinal) { "safetensors" };

    private readonly OutputFolderLock _lock;
    private readonly HashSet<string> _carried = new(StringComparer.Ordinal);
    private bool _committed;

    private StagedModelFolder(string target, string staging, OutputFolderLock held)
    {
        Target = target;
        Path = staging;
        _lock = held;
    }

    /// <summary>The folder being written (full path).</summary>
    public string Target { get; }

    /// <summary>The staging folder to write into.</summary>
    public string Path { get; }

    /// <summary>Writes <paramref name="target"/> through <paramref name="write"/>, which fills the staging folder it is given.</summary>
    public static T Write<T>(string target, Func<string, T> write)
    {
        using var folder = Begin(target);
        var result = write(folder.Path);
        folder.Commit();
        return result;
    }

    /// <summary>
    /// Locks <paramref name="target"/>, cleans up after interrupted writers, checks that the target may be replaced and
    /// creates the staging folder.
    /// </summary>
    /// <exception cref="IOException">Another process writes the folder, or the target holds files that are not part of a model
    /// (this library never deletes what it does not know), or is a file.</exception>
    public static StagedModelFolder Begin(string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(target));
        var held = OutputFolderLock.Acquire(full);
        try
        {
            var parent = System.IO.Path.GetDirectoryName(full) ?? throw new IOException($"Cannot write a model into the root folder '{full}'.");
            Directory.CreateDirectory(parent);
            DirectorySwap.RecoverInterrupted(full);
            // Under the lock no other writer of this target runs: what an earlier one left behind is abandoned.
            SweepLeftovers(full);
            CheckReplaceable(full);
            var staging = System.IO.Path.Combine(parent, TemporaryPaths.NewName(StagingPrefix(full)));
            TemporaryPaths.Register(staging);
            Directory.CreateDirectory(staging);
            return new StagedModelFolder(full, staging, held);
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>The prefix of <paramref name="target"/>'s staging folders' names.</summary>
    public static string StagingPrefix(string target) => "." + System.IO.Path.GetFileName(target) + StagingInfix;

    /// <summary>
    /// Brings <paramref name="relativePath"/> of the current target into the new folder unchanged (a hard link where the file
    /// system has them, else a copy): a file this write keeps but does not produce (<c>clip train</c>'s checkpoint). Carried
    /// files are not hashed into <c>clip_model.json</c>: they are not part of the model. Nothing happens when the target has no such file.
    /// </summary>
    public void Carry(string relativePath)
    {
        var source = System.IO.Path.Combine(Target, relativePath);
        if (!File.Exists(source)) return;
        var destination = System.IO.Path.Combine(Path, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(destination)!);
        if (!HardLink.TryCreate(source, destination))
            File.Copy(source, destination, overwrite: true);
        _carried.Add(relativePath.Replace('\\', '/'));
    }

    /// <summary>Records the files' hashes, flushes them to disk and swaps the staging folder in.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        ModelFolderFiles.StampHashes(Path, _carried);
        ModelFolderFiles.FlushToDisk(Path);
        var old = DirectorySwap.Replace(Path, Target);
        _committed = true;
        TemporaryPaths.Unregister(Path);
        if (old is not null && !TemporaryPaths.TryDelete(old))
            TemporaryPaths.Register(old); // still open somewhere (Windows): removed at exit or by the next writer's sweep
    }

    /// <summary>Removes the staging folder unless committed, and releases the lock.</summary>
    public void Dispose()
    {
        if (!_committed)
        {
            TemporaryPaths.Delete(Path);
            _committed = true;
        }
        _lock.Dispose();
    }

    // Staging and retired folders of earlier writers of this target: with the lock held, none of them is in use, except
    // this process's own live ones (nested writes).
    private static void SweepLeftovers(string target)
    {
        var parent = System.IO.Path.GetDirectoryName(target)!;
        foreach (var prefix in new[] { StagingPrefix(target), DirectorySwap.RetiredPrefix(target) })
        {
            foreach (var entry in Directory.EnumerateDirectories(parent, prefix + "*").ToList())
            {
                if (ProcessOwner.TryParse(System.IO.Path.GetFileName(entry), prefix, out var pid, out _) && pid == Environment.ProcessId)
                    continue;
                TemporaryPaths.TryDelete(entry);
            }
        }
    }

    /// <summary>
    /// Refuses a target this library must not replace: a file, or a folder holding anything but the files of a model folder
    /// (<c>clip_model.json</c> and what it names, the ONNX, safetensors and trainer files, <c>safetensors/</c>, and this
    /// library's temporary files). An empty folder may be replaced.
    /// </summary>
    public static void CheckReplaceable(string target)
    {
        if (File.Exists(target))
            throw new IOException($"'{target}' is a file; a model is written as a folder.");
        var foreign = ForeignEntries(target).ToList();
        if (foreign.Count > 0)
            throw new IOException(
                $"'{target}' holds {(foreign.Count == 1 ? "an entry" : "entries")} that {(foreign.Count == 1 ? "is" : "are")} not part of a model folder " +
                $"({string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? ", …" : "")}); writing a model there would delete {(foreign.Count == 1 ? "it" : "them")}. " +
                "Choose a new or empty folder, or move those files away.");
    }

    /// <summary>Whether <paramref name="folder"/> holds a model (or a training checkpoint) this library wrote or reads.</summary>
    public static bool HoldsModel(string folder)
        => Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any(e => KnownFiles.Contains(System.IO.Path.GetFileName(e)) || KnownFolders.Contains(System.IO.Path.GetFileName(e)));

    private static IEnumerable<string> ForeignEntries(string folder, bool nested = false)
    {
        if (!Directory.Exists(folder)) yield break;
        var named = nested ? [] : NamedFiles(folder);
        foreach (var entry in Directory.EnumerateFileSystemEntries(folder).Order(StringComparer.Ordinal))
        {
            var name = System.IO.Path.GetFileName(entry);
            if (Directory.Exists(entry))
            {
                if (nested || !KnownFolders.Contains(name))
                {
                    yield return name + "/";
                    continue;
                }
                foreach (var inner in ForeignEntries(entry, nested: true))
                    yield return name + "/" + inner;
            }
            else if (!KnownFiles.Contains(name) && !ShardName.IsMatch(name) && !named.Contains(name) && !AtomicTemporary(name))
            {
                yield return name;
            }
        }
    }

    // The files clip_model.json names (graphs, tokenizer file, the hashed files); none when it is missing or unreadable.
    private static HashSet<string> NamedFiles(string folder)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var info = ClipModelInfo.Load(System.IO.Path.Combine(folder, ClipModelInfo.FileName));
            names.Add(info.ImageModelFile);
            names.Add(info.TextModelFile);
            if (info.Tokenizer.File is { } file) names.Add(file);
            foreach (var name in info.Files?.Keys ?? []) names.Add(name);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
        }
        return names;
    }

    // A temporary file of AtomicFile (owner token in its name).
    private static bool AtomicTemporary(string name) => name.EndsWith(".tmp", StringComparison.Ordinal);
}
