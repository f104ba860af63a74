using System.Diagnostics;
using System.Xml.Linq;
using Microsoft.ML.Clip.Datasets.Icons;
using Microsoft.ML.Clip.Datasets.Images;
using Microsoft.ML.Clip.Tsv;
using SkiaSharp;
using Xunit.Abstractions;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// The cache files (PNGs rendered from SVG, prepared PNGs, Game Icons SVG documents) and the TSVs appear whole or not at
/// all, and their temporary files never outlive their process: removed when a write fails, and one left by a killed
/// process (SIGKILL) is removed by the next write of the same file once its owner provably no longer runs (the shared
/// <c>src/Shared/AtomicFile.cs</c>). Before: each writer wrote <c>&lt;file&gt;.&lt;pid&gt;.tmp</c> and renamed it, so a failed
/// rename or a kill between the two left that file in the cache for good.
/// </summary>
public class CacheWriteTests(ITestOutputHelper output)
{
    public static TheoryData<string> Writers => ["render", "prepare", "game-icons-svg", "tsv"];

    /// <summary>Sets up a source for <paramref name="writer"/> under <paramref name="root"/>; returns the file it writes and the write.</summary>
    private static (string Target, Action Write) Writer(string writer, TempFolder root)
    {
        var cache = Path.Combine(root.Path, "cache");
        switch (writer)
        {
            case "render":
                var svg = root.Write("in/coin.svg",
                    """<svg xmlns="http://www.w3.org/2000/svg" width="60" height="60"><rect x="10" y="10" width="40" height="40" fill="#1EC8E6"/></svg>""");
                var rasterizer = new SvgRasterizer(Path.Combine(cache, "svg-32"), 32);
                return (Path.Combine(cache, "svg-32", "set", "coin.png"), () => rasterizer.GetOrRender(svg, "set/coin"));
            case "prepare":
                var png = root.Write("in/coin.png", SyntheticData.Png(40, 20));
                var preparer = new ImagePreparer(cache, 16, background: null);
                return (Path.Combine(cache, "prepared-16", "set", "coin.png"), () => preparer.GetOrPrepare(png, "set/coin"));
            case "game-icons-svg":
                root.Write("data/game-icons/icons.json",
                    File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "game-icons", "icons.json")));
                var options = new DatasetOptions { SvgRenderSize = 32, CacheDirectory = cache };
                return (Path.Combine(cache, "game-icons-svg", "square.svg"),
                    () => GameIconsDataset.Read(Path.Combine(root.Path, "data"), options).ToList());
            case "tsv":
                var image = root.Write("out/images/a.png", SyntheticData.Png());
                var tsv = Path.Combine(root.Path, "out", "train.tsv");
                return (tsv, () => ImageTextTsv.Write(tsv, "label", [(image, "a")]));
            default:
                throw new ArgumentOutOfRangeException(nameof(writer));
        }
    }

    private static string[] Temporaries(string folder) => Directory.Exists(folder)
        ? [.. Directory.GetFiles(folder, "*.tmp", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(folder, f)).Order(StringComparer.Ordinal)]
        : [];

    [Theory]
    [MemberData(nameof(Writers))]
    public void A_failed_write_leaves_no_temporary_file(string writer)
    {
        using var root = new TempFolder();
        var (target, write) = Writer(writer, root);
        // A folder where the file goes: the temporary file is written, then its rename fails.
        Directory.CreateDirectory(Path.Combine(target, "in-the-way"));

        Assert.ThrowsAny<IOException>(write);

        // Before (render, prepare, game-icons-svg): '<file>.<pid>.tmp' was left beside the folder in the way.
        Assert.Empty(Temporaries(root.Path));
        Assert.True(Directory.Exists(target));
    }

    [Theory]
    [MemberData(nameof(Writers))]
    public void Abandoned_temporary_files_of_dead_processes_are_swept_by_the_next_write_into_their_folder(string writer)
    {
        using var root = new TempFolder();
        var (target, write) = Writer(writer, root);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var name = Path.GetFileName(target);
        var dead = Microsoft.ML.Clip.TestUtilities.DeadProcess.Id();
        // A killed writer's partial file, a live writer's (this process: not proven abandoned) and a dead writer's of another file.
        var abandoned = Path.Combine(folder, $"{name}.p{dead}s1-abcd1234.tmp");
        var live = Path.Combine(folder, $"{name}.p{Environment.ProcessId}s0-live0000.tmp");
        var other = Path.Combine(folder, $"other-{name}.p{dead}s1-abcd1234.tmp");
        foreach (var path in new[] { abandoned, live, other })
            File.WriteAllBytes(path, [0x89, (byte)'P']);

        write();

        Assert.True(File.Exists(target));
        // Before: the dead writer's file stayed for good.
        Assert.False(File.Exists(abandoned), "the dead writer's temporary file was not swept");
        Assert.True(File.Exists(live), "a live writer's temporary file was removed");
        // The folder is swept as a whole, once per process (AtomicFile), so another file's leftovers go too.
        Assert.False(File.Exists(other), "another file's abandoned temporary file was not swept");
    }

    private const int Kills = 8;

    [Fact]
    public void Prepare_killed_at_random_moments_leaves_whole_cache_files_and_the_next_run_no_temporary()
    {
        // A reference run: how long the tool spends writing images once its cache folder exists.
        using var root = new TempFolder();
        var reference = RunPrepare(root, "reference", kill: null);
        output.WriteLine($"reference: {reference.Files} cache files, written in {reference.Writing.TotalMilliseconds:F0} ms");
        Assert.True(reference.Files >= 50, $"only {reference.Files} cache files");

        var random = new Random(17);
        var outcomes = new List<string>();
        var midWrites = 0;
        for (var kill = 0; kill < Kills; kill++)
        {
            // Somewhere in the image writes, or a little after them; every other kill comes at half that moment and waits on
            // from there for a temporary file to show (a write under way), so that some kills certainly land in a write: on a
            // loaded machine the reference run's time may be far from this run's, and half of it is still inside the writes.
            var onTemporary = kill % 2 == 1;
            var delay = TimeSpan.FromMilliseconds(reference.Writing.TotalMilliseconds * 1.1 * random.NextDouble() * (onTemporary ? 0.5 : 1));
            var name = $"kill-{kill}";
            var killed = RunPrepare(root, name, kill: delay, onTemporary);
            var cache = Path.Combine(root.Path, name, "data", "cache");
            var left = Temporaries(cache);
            // Killed while the writes were under way: a temporary file was left (SIGKILL runs no clean-up), or some but not
            // all cache files were written.
            var midWrite = killed.Killed && (left.Length > 0 || (killed.Files > 0 && killed.Files < reference.Files));
            if (midWrite) midWrites++;
            // Every cache file a later read would trust (its name is all it checks) is whole.
            foreach (var file in Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".tmp", StringComparison.Ordinal)))
                AssertWhole(file, $"kill {kill} after {delay.TotalMilliseconds:F0} ms");
            outcomes.Add($"{delay.TotalMilliseconds:F0} ms{(onTemporary ? ", then a temporary file" : "")}: "
                + $"{(killed.Killed ? $"killed after {killed.Writing.TotalMilliseconds:F0} ms" : "finished")}, {killed.Files} cache files, {left.Length} temporary{(midWrite ? " (mid-write)" : "")}");

            // One more normal run on the same data folder: done, every image there, and no temporary file anywhere.
            var again = RunPrepare(root, name, kill: null);
            Assert.Equal(reference.Files, again.Files);
            Assert.True(Temporaries(Path.Combine(root.Path, name)).Length == 0,
                $"kill {kill} after {delay.TotalMilliseconds:F0} ms: left after the next run: {string.Join(", ", Temporaries(Path.Combine(root.Path, name)))}");
        }
        output.WriteLine(string.Join("; ", outcomes));
        // Kills that all came before the first write or after the last would prove nothing.
        Assert.True(midWrites > 0, $"no kill landed while the cache was being written: {string.Join("; ", outcomes)}");
    }

    /// <summary>
    /// Runs the built <c>clip-data prepare</c> on a synthetic data folder <c>&lt;root&gt;/&lt;name&gt;/data</c> (written first when
    /// missing); with <paramref name="kill"/>, SIGKILLs it that long after its cache folder appeared (unless it finished
    /// first) — with <paramref name="onTemporary"/>, as soon as a temporary file shows in the cache after that (a write under way).
    /// Returns the cache files then present (temporary ones aside), the time from the cache folder's appearance to the end,
    /// and whether it was killed.
    /// </summary>
    private static (int Files, TimeSpan Writing, bool Killed) RunPrepare(TempFolder root, string name, TimeSpan? kill, bool onTemporary = false)
    {
        var data = Path.Combine(root.Path, name, "data");
        if (!Directory.Exists(data))
            SyntheticDataFolder.Write(data, full: true);
        var cache = Path.Combine(data, "cache");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { PrepareTests.ToolPath(), "prepare", "--data", data, "--out", Path.Combine(root.Path, name, "out") })
            psi.ArgumentList.Add(a);
        psi.Environment.Remove(DataPaths.EnvironmentVariable);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (!Directory.Exists(cache) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
            Thread.Sleep(1);
        var writing = Stopwatch.StartNew();
        var killed = false;
        if (kill is { } delay)
        {
            process.WaitForExit(delay);
            while (onTemporary && !process.HasExited && Temporaries(cache).Length == 0)
                Thread.SpinWait(100);
            if (!process.HasExited)
            {
                process.Kill(); // SIGKILL: no handler runs
                killed = true;
            }
        }
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("clip-data prepare did not finish in 5 minutes.");
        }
        writing.Stop();
        process.WaitForExit();
        Assert.True(killed || process.ExitCode == 0, $"clip-data prepare failed on its own: {stdout.Result}{stderr.Result}");
        var files = Directory.Exists(cache)
            ? Directory.GetFiles(cache, "*", SearchOption.AllDirectories).Count(f => !f.EndsWith(".tmp", StringComparison.Ordinal))
            : 0;
        return (files, writing.Elapsed, killed);
    }

    private static readonly byte[] PngEnd = [0, 0, 0, 0, (byte)'I', (byte)'E', (byte)'N', (byte)'D', 0xAE, 0x42, 0x60, 0x82];

    /// <summary>A PNG decodes completely and ends with its IEND chunk; an SVG is a whole XML document.</summary>
    private static void AssertWhole(string file, string when)
    {
        if (file.EndsWith(".svg", StringComparison.Ordinal))
        {
            var root = XDocument.Load(file).Root;
            Assert.True(root?.Name.LocalName == "svg", $"{when}: '{file}' is not an SVG document");
            return;
        }
        Assert.True(file.EndsWith(".png", StringComparison.Ordinal), $"{when}: unexpected cache file '{file}'");
        var bytes = File.ReadAllBytes(file);
        Assert.True(bytes.AsSpan().EndsWith(PngEnd), $"{when}: '{file}' ({bytes.Length} bytes) does not end with IEND");
        using var codec = SKCodec.Create(new SKMemoryStream(bytes)) ?? throw new Xunit.Sdk.XunitException($"{when}: '{file}' is not an image");
        using var bitmap = new SKBitmap(codec.Info);
        Assert.True(codec.GetPixels(codec.Info, bitmap.GetPixels()) == SKCodecResult.Success, $"{when}: '{file}' does not decode whole");
    }

}
