using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary>
/// <c>--skip-bad-files</c>, the same on every command that reads image files: a file that cannot be read (missing, a folder,
/// empty, corrupt, not an image) is left out instead of failing the command, each one listed on stderr with why
/// (<c>skipped 'FILE': REASON</c>), and the command exits with 1 when nothing could be read. Without the option the first
/// such file fails the command, naming it.
/// </summary>
internal static class BadImageFiles
{
    /// <summary>The <c>--skip-bad-files</c> option.</summary>
    public static Option<bool> SkipOption() => new("--skip-bad-files")
    {
        Description = "Leave out image files that cannot be read, listing each on stderr with why (the exit code is 1 when none could be read), instead of failing at the first.",
    };

    /// <summary>
    /// Embeds <paramref name="files"/>; with <paramref name="skip"/>, a bad file gets a null embedding and its reason (also written
    /// to stderr) instead of failing the call.
    /// </summary>
    public static (float[]?[] Embeddings, string?[] Errors) Embed(ClipModel model, IReadOnlyList<string> files, bool skip)
    {
        var errors = new string?[files.Count];
        if (!skip)
            return (model.EmbedImageFiles(files), errors);
        float[]?[] embeddings = model.EmbedImageFiles(files, (i, e) => errors[i] = e.Message);
        for (var i = 0; i < files.Count; i++)
        {
            if (errors[i] is not { } reason) continue;
            embeddings[i] = null;
            Report(files[i], reason);
        }
        return (embeddings, errors);
    }

    /// <summary>The exit code after <paramref name="errors"/>: 1 when there were files and none could be read.</summary>
    public static int ExitCode(IReadOnlyList<string?> errors)
    {
        var skipped = errors.Count(e => e is not null);
        if (skipped > 0)
            Console.Error.WriteLine($"skipped {skipped} of {errors.Count} image files.");
        return errors.Count > 0 && skipped == errors.Count ? 1 : 0;
    }

    /// <summary>Lists one left-out file on stderr: <c>skipped 'FILE': REASON</c>.</summary>
    public static void Report(string file, string reason) => Console.Error.WriteLine($"skipped '{file}': {reason}");
}
