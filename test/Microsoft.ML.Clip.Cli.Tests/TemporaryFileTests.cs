using System.Diagnostics;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Temporary files go on every way out (issue 13): <c>--model x.pt</c> converts into a temporary folder, which is removed when
/// the model is loaded, and on SIGTERM and Ctrl-C (SIGINT) in the middle of the conversion; one left by a killed run is removed
/// by the next run, once its owner provably no longer runs. Before: an interrupted run left its <c>clip-onnx-&lt;guid&gt;</c>
/// folder (gigabytes for a real model) in the temp folder for good.
/// </summary>
public class TemporaryFileTests
{
    // This library's entries only (other programs leave theirs in TMPDIR too).
    private static string[] Entries(string dir) => [.. Directory.GetFileSystemEntries(dir, "*clip*").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task A_signal_during_the_conversion_of_a_checkpoint_removes_its_temporary_folder(string signal)
    {
        var temp = Fixtures.NewTempDir("clip-tmpdir");
        var environment = new Dictionary<string, string?> { ["TMPDIR"] = temp };
        // The tool inherits this process's ignored signals (SIGINT is ignored under `cmd &` in a script, as CI may run us).
        var ignored = IgnoredByThisProcess(signal == "INT" ? 2 : 15);
        // A few tries: the signal must arrive while the conversion's folder exists (it lives about a second).
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var process = CliRunner.Start(CliRunner.ToolPath, ["embed-text", "--model", Fixtures.Reference("models", "vit.openai.pt")], environment);
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            var seen = false;
            while (!process.HasExited && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                // The conversion is under way once its staging folder exists.
                if (Directory.EnumerateFileSystemEntries(temp, ".clip-onnx-*.clip-staging-*").Any())
                {
                    seen = true;
                    break;
                }
                Thread.Sleep(2);
            }
            if (seen)
            {
                using (var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill.WaitForExit();
            }
            process.StandardInput.Close();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(60)), "the tool did not end");
            if (!seen) continue;
            Assert.True(Entries(temp).Length == 0, $"left in the temp folder: {string.Join(", ", Entries(temp))}; stderr: {await stderr}");
            if (ignored)
                // Started with the signal ignored (a background job of a non-interactive shell inherits SIGINT ignored), the
                // tool keeps ignoring it, as Unix programs do, converts, reads its (empty) input and ends normally.
                Assert.Equal(0, process.ExitCode);
            else
                Assert.NotEqual(0, process.ExitCode);
            return;
        }
        Assert.Fail("the conversion's temporary folder was never seen");
    }

    // Linux: the SigIgn mask of /proc/self/status, bit (signal − 1).
    private static bool IgnoredByThisProcess(int signal)
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && ((Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) >> (signal - 1)) & 1) == 1;
    }

    [Fact]
    public void Abandoned_temporary_folders_are_swept_by_the_next_run_and_live_ones_are_kept()
    {
        var temp = Fixtures.NewTempDir("clip-tmpdir");
        var dead = Microsoft.ML.Clip.TestUtilities.DeadProcess.Id();
        Directory.CreateDirectory(Path.Combine(temp, $"clip-onnx-p{dead}s1-abcd1234"));
        Directory.CreateDirectory(Path.Combine(temp, $".clip-onnx-p{dead}s1-abcd1234.clip-staging-p{dead}s1-ef012345"));
        File.WriteAllText(Path.Combine(temp, $".clip-onnx-p{dead}s1-abcd1234.clip-lock"), "{}");
        // This test process is alive: its folder is not proven abandoned and stays.
        var live = $"clip-onnx-p{Environment.ProcessId}s0-live0000";
        Directory.CreateDirectory(Path.Combine(temp, live));

        var r = CliRunner.RunWith(new Dictionary<string, string?> { ["TMPDIR"] = temp }, "\"a cat\"\n", "embed-text", "--model", Fixtures.Reference("models", "vit.openai.pt"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal([live], Entries(temp));
    }

}
