using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Issue 13's kill tests: <c>clip convert</c> and <c>clip train</c> write into a folder that holds a model and are killed
/// (SIGKILL, no chance to clean up) at random moments of the write, 20 times each. After every kill the folder must hold
/// exactly the old model or exactly the new one — the same files, byte for byte, as an uninterrupted run leaves — and the
/// next write must go through (no stale lock). Before the staged writes, a kill during <c>convert</c> left the new
/// <c>image.onnx</c> beside the old <c>text.onnx</c> and <c>clip_model.json</c>, a folder that loaded and answered.
/// The delays are drawn from a fixed seed (printed), so a failure can be replayed. Each test also requires that some kill
/// landed in a write (the killed process left its staging folder): kills that all came before the write began or after it
/// ended would prove nothing.
/// </summary>
public class KillTests(ITestOutputHelper output)
{
    private const int Kills = 20;

    private static string Model(string name) => Fixtures.Reference("models", name);

    // The model's files with their SHA-256: everything but the training checkpoint (written in place during training, not part
    // of the model) and the temporary files a killed writer leaves (swept by the next write; no loader reads them).
    private static Dictionary<string, string> ModelFiles(string folder) => Directory.Exists(folder)
        ? Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f).Replace('\\', '/'))
            .Where(f => f != "checkpoint.clipckpt" && !f.EndsWith(".tmp", StringComparison.Ordinal))
            .ToDictionary(f => f, f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(folder, f)))))
        : [];

    private static bool Same(Dictionary<string, string> a, Dictionary<string, string> b)
        => a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);

    private static string Describe(Dictionary<string, string> files) => string.Join(", ", files.Select(kv => $"{kv.Key}={kv.Value[..8]}"));

    // Runs a tool and kills it after delay unless it has finished (successfully) by then; with waitForWriteOf, not before
    // its write of that folder has begun (its staging folder shows), so that the kill lands in the write unless the delay
    // was past it. Returns its process id.
    private static int KillAfter(TimeSpan delay, string? waitForWriteOf, string tool, params string[] args)
    {
        using var process = CliRunner.Start(tool, args, Quiet);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEndAsync();
        var finished = process.WaitForExit(delay);
        while (!finished && waitForWriteOf is not null && !StagingFolderOf(waitForWriteOf, process.Id))
            finished = process.WaitForExit(1);
        if (!finished) process.Kill();
        process.WaitForExit();
        Assert.True(!finished || process.ExitCode == 0, $"{string.Join(' ', args)} failed on its own: {stderr.Result}");
        return process.Id;
    }

    // Whether the process <paramref name="pid"/> is (or, killed, was) in the middle of its write of <paramref name="target"/>:
    // its staging folder is beside the target ('.<name>.clip-staging-p<pid>s…'), which exists from the start of the write to
    // the end of its commit (after the swap it holds the old folder until that is removed) and which a killed process
    // leaves. A kill before the write began or after it ended leaves none: without this check, a run of such kills would
    // pass with nothing interrupted.
    private static bool StagingFolderOf(string target, int pid)
        => Directory.EnumerateDirectories(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.clip-staging-p{pid}s*").Any();

    // Runs a tool to the end and returns its wall time; throws with its output when it fails.
    private static TimeSpan RunToEnd(string tool, params string[] args)
    {
        var clock = Stopwatch.StartNew();
        using var process = CliRunner.Start(tool, args, Quiet);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(tool)} {string.Join(' ', args)}: {stdout.Result}{stderr.Result}");
        return clock.Elapsed;
    }

    // libtorch on one thread: the children of the two lanes share two cores.
    private static readonly Dictionary<string, string?> Quiet = new() { ["OMP_NUM_THREADS"] = "1", ["MKL_NUM_THREADS"] = "1" };

    [Fact]
    public void Convert_killed_at_random_moments_leaves_the_old_or_the_new_model()
    {
        var root = Fixtures.NewTempDir("clip-kill-convert");
        var target = Path.Combine(root, "model");
        // The two models the folder alternates between: each write replaces the one it holds by the other.
        var sources = new[] { Model("rn.openai.pt"), Model("vit.openai.pt") };
        var reference = new Dictionary<string, string>[2];
        var durations = new TimeSpan[2];
        for (var i = 0; i < 2; i++)
        {
            var folder = Path.Combine(root, $"reference-{i}");
            durations[i] = RunToEnd(CliRunner.ToolPath, "convert", sources[i], folder);
            reference[i] = ModelFiles(folder);
            Directory.Delete(folder, recursive: true);
        }
        Assert.False(Same(reference[0], reference[1]));
        RunToEnd(CliRunner.ToolPath, "convert", sources[0], target);
        var holds = 0;

        var random = new Random(13);
        var outcomes = new List<string>();
        var midWrites = 0;
        for (var kill = 0; kill < Kills; kill++)
        {
            var next = 1 - holds;
            // Most of a run is the tool starting; the write is its second half: delays cover it and a margin past the end.
            // Every other kill comes at half that moment, then waits on for the write to begin: on a loaded machine the
            // reference run's time may be far from this run's, and these kills still land in the write.
            var waits = kill % 2 == 1;
            var total = durations[next].TotalMilliseconds;
            var delay = TimeSpan.FromMilliseconds(total * (0.35 + 0.8 * random.NextDouble()) * (waits ? 0.5 : 1));
            var pid = KillAfter(delay, waits ? target : null, CliRunner.ToolPath, "convert", sources[next], target, "--force");
            var files = ModelFiles(target);
            string outcome;
            if (Same(files, reference[holds])) outcome = "old";
            else if (Same(files, reference[next])) { outcome = "new"; holds = next; }
            else throw new Xunit.Sdk.XunitException($"kill {kill} after {delay.TotalMilliseconds:F0} ms left a folder that is neither model: {Describe(files)}");
            var midWrite = StagingFolderOf(target, pid);
            if (midWrite) midWrites++;
            outcomes.Add($"{delay.TotalMilliseconds:F0} ms{(waits ? " then the write" : "")}: {outcome}{(midWrite ? " (mid-write)" : "")}");
        }
        output.WriteLine(string.Join("; ", outcomes));
        Assert.True(midWrites > 0, $"no kill landed in a write (all before it began or after it ended): {string.Join("; ", outcomes)}");

        // The next write goes through (no stale lock) and sweeps what the killed writers left beside the folder.
        RunToEnd(CliRunner.ToolPath, "convert", sources[1 - holds], target, "--force");
        Assert.True(Same(ModelFiles(target), reference[1 - holds]));
        Assert.Equal(["model"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
        var embed = CliRunner.Run("\"a cat\"\n", "embed-text", "--model", target);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
    }

    [Fact]
    public async Task Train_killed_at_random_moments_leaves_the_old_or_the_new_model()
    {
        var root = Fixtures.NewTempDir("clip-kill-train");
        var data = TrainData(root);
        var config = Path.Combine(root, "clip_config.json");
        File.WriteAllText(config, """
            { "embed_dim": 16, "image_resolution": 32, "vision_layers": 1, "vision_width": 64, "vision_patch_size": 16,
              "context_length": 77, "vocab_size": 49408, "transformer_width": 64, "transformer_heads": 1, "transformer_layers": 1 }
            """);
        string[] Train(string outDir) => ["--data", data, "--out", outDir, "--config", config, "--batch-size", "2", "--epochs", "1", "--device", "cpu", "--force"];

        // The new model: what an uninterrupted run writes (training on the CPU is deterministic); its last output line and the
        // time from the end of the training step to the exit, where the writes are.
        var newModel = Path.Combine(root, "reference");
        var (tail, _, _) = TimeAfterStep(Train(newModel), killAfter: null);
        var expectedNew = ModelFiles(newModel);
        Assert.Contains("model.clipmodel", expectedNew.Keys);
        Directory.Delete(newModel, recursive: true);

        var midWrites = 0;
        // Two lanes of kills, each into its own folder holding an old model (a converted one; put back when a run got through).
        var lanes = Enumerable.Range(0, 2).Select(lane => Task.Run(() =>
        {
            var target = Path.Combine(root, $"model-{lane}");
            var oldModel = Model(lane == 0 ? "rn.openai.pt" : "vit.openai.pt");
            RunToEnd(CliRunner.ToolPath, "convert", oldModel, target);
            var expectedOld = ModelFiles(target);
            var random = new Random(29 + lane);
            var outcomes = new List<string>();
            for (var kill = 0; kill < Kills / 2; kill++)
            {
                // Every other kill comes at half its moment, then waits on for the write to begin (as in the convert test).
                var waits = kill % 2 == 1;
                var delay = TimeSpan.FromMilliseconds(tail.TotalMilliseconds * 1.1 * random.NextDouble() * (waits ? 0.5 : 1));
                var (_, _, pid) = TimeAfterStep(Train(target), killAfter: delay, waitForWriteOf: waits ? target : null);
                var files = ModelFiles(target);
                string outcome;
                if (Same(files, expectedOld)) outcome = "old";
                else if (Same(files, expectedNew)) outcome = "new";
                else throw new Xunit.Sdk.XunitException($"lane {lane} kill {kill} {delay.TotalMilliseconds:F0} ms after the step left a folder that is neither model: {Describe(files)}");
                var midWrite = StagingFolderOf(target, pid);
                if (midWrite) Interlocked.Increment(ref midWrites);
                outcomes.Add($"{delay.TotalMilliseconds:F0} ms{(waits ? " then the write" : "")}: {outcome}{(midWrite ? " (mid-write)" : "")}");
                if (outcome == "new") RunToEnd(CliRunner.ToolPath, "convert", oldModel, target, "--force");
            }
            return $"lane {lane}: {string.Join("; ", outcomes)}";
        })).ToArray();
        var laneOutcomes = await Task.WhenAll(lanes);
        foreach (var lane in laneOutcomes) output.WriteLine(lane);
        Assert.True(midWrites > 0, $"no kill landed in a write (all before it began or after it ended): {string.Join(" | ", laneOutcomes)}");
        output.WriteLine($"the writes take {tail.TotalMilliseconds:F0} ms after the training step");

        // After the kills a run goes through (no stale lock) and leaves nothing beside the folder.
        var target0 = Path.Combine(root, "model-0");
        TimeAfterStep(Train(target0), killAfter: null);
        Assert.True(Same(ModelFiles(target0), expectedNew));
        Assert.Empty(Directory.GetFileSystemEntries(root, ".model-0*"));
        var embed = CliRunner.Run("\"a cat\"\n", "embed-text", "--model", target0);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
    }

    // Runs clip-train; with killAfter, kills it that long after its training step's line (with waitForWriteOf, not before its
    // write of that folder has begun). Returns the time from that line to the end of the process, whether it was killed, and
    // its process id.
    private static (TimeSpan Tail, bool Killed, int Pid) TimeAfterStep(string[] args, TimeSpan? killAfter, string? waitForWriteOf = null)
    {
        using var process = CliRunner.Start(CliRunner.TrainToolPath, args, Quiet);
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        string? line;
        while ((line = process.StandardOutput.ReadLine()) is not null)
        {
            lines.Add(line);
            if (line.StartsWith("step 1/1", StringComparison.Ordinal)) break;
        }
        var clock = Stopwatch.StartNew();
        var rest = process.StandardOutput.ReadToEndAsync();
        var killed = false;
        if (killAfter is { } delay)
        {
            var finished = process.WaitForExit(delay);
            while (!finished && waitForWriteOf is not null && !StagingFolderOf(waitForWriteOf, process.Id))
                finished = process.WaitForExit(1);
            if (!finished)
            {
                process.Kill();
                killed = true;
            }
        }
        process.WaitForExit();
        var tail = clock.Elapsed;
        if (!killed)
            Assert.True(process.ExitCode == 0, $"clip-train {string.Join(' ', args)}: {string.Join('\n', lines)}\n{rest.Result}\n{stderr.Result}");
        return (tail, killed, process.Id);
    }

    private static string TrainData(string root)
    {
        var images = Directory.CreateDirectory(Path.Combine(root, "img")).FullName;
        string[] names = ["bilevel.png", "palette.png"];
        for (var i = 0; i < names.Length; i++)
            File.Copy(Path.Combine(Fixtures.Root, "images", names[i]), Path.Combine(images, $"{i}.png"));
        var tsv = Path.Combine(root, "pairs.tsv");
        File.WriteAllLines(tsv, ["img/0.png\ta black and white picture", "img/1.png\ta picture with a palette"]);
        return tsv;
    }
}
