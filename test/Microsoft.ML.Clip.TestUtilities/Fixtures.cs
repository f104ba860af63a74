using System.Runtime.CompilerServices;

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>Paths to the reference fixtures copied into <c>test/fixtures</c>.</summary>
public static class Fixtures
{
    /// <summary><c>test/fixtures</c>, found from this source file so tests work from any folder.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary><c>test/fixtures/clip-reference</c>: reference outputs of the official openai/CLIP code.</summary>
    public static string ClipReference => Path.Combine(Root, "clip-reference");

    /// <summary><c>test/fixtures/clip-prompts</c>: the paper's class names and prompt templates.</summary>
    public static string ClipPrompts => Path.Combine(Root, "clip-prompts");

    /// <summary><c>test/fixtures/siglip-reference</c>: a tiny SigLIP as a Hugging Face folder and Hugging Face's outputs re-stated (its README).</summary>
    public static string SiglipReference => Path.Combine(Root, "siglip-reference");

    /// <summary>A path below <see cref="SiglipReference"/>; throws when the file is missing.</summary>
    public static string Siglip(params string[] parts)
    {
        var path = Path.Combine([SiglipReference, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"Fixture '{path}' is missing.", path);
        return path;
    }

    /// <summary>A path below <see cref="ClipReference"/>; throws when the file is missing.</summary>
    public static string Reference(params string[] parts)
    {
        var path = Path.Combine([ClipReference, .. parts]);
        if (!File.Exists(path) && !Directory.Exists(path))
            throw new FileNotFoundException($"Fixture '{path}' is missing.", path);
        return path;
    }

    /// <summary>A fresh empty temporary folder, for tests that write files; deleted with the others when the test process exits.</summary>
    public static string NewTempDir(string prefix = "clip-test")
    {
        var dir = Path.Combine(TempRoot.Value, $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    // One folder per test process holds every NewTempDir. It is deleted at exit; as the test host may be stopped before
    // its exit handlers finish, each new test process also deletes the folders of test processes that no longer run.
    private static readonly Lazy<string> TempRoot = new(() =>
    {
        foreach (var stale in Directory.EnumerateDirectories(Path.GetTempPath(), "clip-tests-*"))
        {
            var parts = Path.GetFileName(stale).Split('-');
            if (parts.Length == 4 && int.TryParse(parts[2], out var pid) && !IsRunning(pid))
                TryDelete(stale);
        }
        var root = Path.Combine(Path.GetTempPath(), $"clip-tests-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(root);
        return root;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static void TryDelete(string folder)
    {
        try { Directory.Delete(folder, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string FindRoot([CallerFilePath] string thisFile = "")
    {
        // Prefer the folder next to the running assembly's repository checkout; fall back to the
        // source location recorded at compile time.
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(thisFile)! })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "test", "fixtures", "clip-reference");
                if (Directory.Exists(candidate))
                    return Path.Combine(dir.FullName, "test", "fixtures");
            }
        }
        throw new DirectoryNotFoundException("Could not find test/fixtures/clip-reference above " + AppContext.BaseDirectory);
    }
}
