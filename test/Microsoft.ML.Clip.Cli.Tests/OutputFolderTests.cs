using System.Diagnostics;
using System.Text;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Locked output folders (issue 13): one writer per folder, refused at once naming the holder; a model already there is
/// replaced only with <c>--force</c> (or, for <c>train</c>, when resuming its own checkpoint); a folder of another format is
/// replaced, not merged.
/// </summary>
public class OutputFolderTests
{
    private static string Model(string name) => Fixtures.Reference("models", name);

    // Holds the output folder's lock as another writer would: the lock file beside the folder, open with FileShare.None (an
    // exclusive flock on Linux), naming a holder.
    private static FileStream HoldLock(string folder)
    {
        var path = Path.Combine(Path.GetDirectoryName(folder)!, "." + Path.GetFileName(folder) + ".clip-lock");
        var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.None);
        stream.Write(Encoding.UTF8.GetBytes($"{{\"pid\": {Environment.ProcessId}, \"host\": \"test-host\", \"started_utc\": \"2026-01-01 00:00:00Z\", \"command\": \"clip train --out {folder}\"}}\n"));
        stream.Flush();
        return stream;
    }

    [Fact]
    public void A_second_writer_is_refused_at_once_naming_the_folder_and_the_holder()
    {
        // Before: no lock; two trains into one --out both wrote (and both died on the shared .tmp with --checkpoint-every 1).
        var root = Fixtures.NewTempDir("clip-locked");
        var folder = Path.Combine(root, "out");
        using (HoldLock(folder))
        {
            foreach (var args in new[] { new[] { "convert", Model("vit.openai.pt"), folder }, ["train", "--data", Path.Combine(root, "none.tsv"), "--out", folder] })
            {
                var r = CliRunner.Run(null, args);
                Assert.Equal(1, r.ExitCode);
                Assert.Contains($"'{folder}' is being written by another process", r.StdErr);
                Assert.Contains($"pid {Environment.ProcessId} on test-host", r.StdErr);
                Assert.Contains($"clip train --out {folder}", r.StdErr);
                // Refused before any work: train did not even read its (missing) data.
                Assert.DoesNotContain("none.tsv", r.StdErr);
            }
            Assert.False(Directory.Exists(folder));
            // Nor beside it, where a writer stages ('.out.clip-staging-…'): only the holder's lock file is there.
            Assert.Equal([".out.clip-lock"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
        }
        // Released (here by closing; a killed holder's lock goes with its process): the writer goes through.
        var ok = CliRunner.Run(null, "convert", Model("vit.openai.pt"), folder);
        Assert.True(ok.ExitCode == 0, ok.StdErr);
    }

    [Fact]
    public void A_model_is_replaced_only_with_force_and_then_whole()
    {
        var folder = Path.Combine(Fixtures.NewTempDir("clip-force"), "model");
        Assert.Equal(0, CliRunner.Run(null, "convert", Model("vit.openai.pt"), folder).ExitCode);
        var before = File.ReadAllText(Path.Combine(folder, ClipModelInfo.FileName));

        // Before: converted over it without a word.
        var refused = CliRunner.Run(null, "convert", Model("rn.openai.pt"), folder, "--format", "safetensors");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("already holds a model; pass --force to replace it", refused.StdErr);
        Assert.Equal(before, File.ReadAllText(Path.Combine(folder, ClipModelInfo.FileName)));
        // The refused run left nothing beside the folder either (no staging folder, no lock file).
        Assert.Equal(["model"], Directory.GetFileSystemEntries(Path.GetDirectoryName(folder)!).Select(Path.GetFileName));

        // Before: the safetensors files landed beside the ONNX model, which went on answering.
        var replaced = CliRunner.Run(null, "convert", Model("rn.openai.pt"), folder, "--format", "safetensors", "--force");
        Assert.True(replaced.ExitCode == 0, replaced.StdErr);
        Assert.Equal(["clip_config.json", "model.safetensors"], Directory.GetFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Train_into_a_folder_holding_a_model_needs_force()
    {
        // Before: a new train overwrote a finished model without a word.
        var root = Fixtures.NewTempDir("clip-train-force");
        var folder = Path.Combine(root, "model");
        Assert.Equal(0, CliRunner.Run(null, "convert", Model("vit.openai.pt"), folder).ExitCode);
        var r = CliRunner.Run(null, "train", "--data", Path.Combine(root, "none.tsv"), "--out", folder);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"'{folder}' already holds a model; pass --force", r.StdErr);
    }
}
