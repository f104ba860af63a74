using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>
/// Set-up that follows the machine (issue 13): <c>build/setup.sh</c> writes its Debian 13 source with the archive URI the
/// machine's apt already uses (<c>build/apt-mirror.sh</c> reads it), and the repository names no package registry's host,
/// so that a machine behind a local mirror or with its own NuGet configuration builds as it is.
/// </summary>
public class SetupScriptTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.Clip.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Microsoft.ML.Clip.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int ExitCode, string Output) Run(string file, params string[] args)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot() };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, stdout.Result.Trim() + stderr.Result);
    }

    private static string AptRoot(Dictionary<string, string> files)
    {
        var root = Path.Combine(Path.GetTempPath(), $"clip-apt-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path.Combine(root, "sources.list.d"));
        foreach (var (name, text) in files)
            File.WriteAllText(Path.Combine(root, name), text);
        return root;
    }

    [Theory]
    // deb822, as Debian 12 writes it (security archive first, a comment inside the stanza).
    [InlineData("sources.list.d/debian.sources", "Types: deb\nURIs: http://mirror.example:3142/debian-security\nSuites: bookworm-security\nComponents: main\n\n" +
        "Types: deb\n# a snapshot once\nURIs: http://mirror.example:3142/debian/ \nSuites: bookworm bookworm-updates\nComponents: main\n", "http://mirror.example:3142/debian")]
    // One-line entries with options; a disabled stanza does not count.
    [InlineData("sources.list", "# deb http://old.example/debian bookworm main\ndeb [arch=amd64 signed-by=/k.gpg] https://local.mirror/debian bookworm main contrib\n",
        "https://local.mirror/debian")]
    [InlineData("sources.list.d/off.sources", "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n", null)]
    // A third-party repository that reuses the suite name without Debian's main component does not count (either form);
    // the Debian entry after it does.
    [InlineData("sources.list.d/vendor.sources", "Types: deb\nURIs: https://vendor.example/apt\nSuites: bookworm\nComponents: stable\n\n" +
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main contrib\n", "http://mirror.example/debian")]
    [InlineData("sources.list", "deb https://vendor.example/apt bookworm stable\ndeb http://mirror.example/debian bookworm contrib main\n",
        "http://mirror.example/debian")]
    [InlineData("sources.list", "deb https://vendor.example/apt bookworm stable non-main\n", null)]
    public void The_debian_13_source_reuses_the_mirror_the_machine_uses(string file, string text, string? expected)
    {
        var root = AptRoot(new() { [file] = text });
        try
        {
            var (code, output) = Run("bash", "build/apt-mirror.sh", root, "bookworm");
            if (expected is null)
            {
                Assert.Equal(1, code);
                Assert.Equal("", output);
            }
            else
            {
                Assert.True(code == 0, output);
                Assert.Equal(expected, output);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public void Setup_writes_no_host_of_its_own()
    {
        // Before: setup.sh wrote the public Debian host (deb.debian.org) into its URIs line whatever mirror the machine used.
        var setup = File.ReadAllText(Path.Combine(RepoRoot(), "build", "setup.sh"));
        Assert.Contains("build/apt-mirror.sh", setup);
        Assert.Contains("URIs: $mirror", setup);
    }

    [Fact]
    public void No_tracked_file_names_a_package_registry_host()
    {
        // Before: NuGet.config named api.nuget.org and build/setup.sh deb.debian.org. The machine's own configuration (its
        // NuGet.Config, its apt sources) says where packages come from.
        var (code, files) = Run("git", "ls-files", "-z");
        Assert.Equal(0, code);
        var registry = new Regex(@"(https?://|//)[^\s""'<>)]*(debian\.org|ubuntu\.com|nuget\.org|npmjs\.(org|com)|yarnpkg\.com|pypi\.org|pythonhosted\.org|crates\.io|rubygems\.org|proxy\.golang\.org|repo\.maven|repo1\.maven|conda\.anaconda\.org)",
            RegexOptions.IgnoreCase);
        var root = RepoRoot();
        var offenders = new List<string>();
        foreach (var file in files.Split('\0', StringSplitOptions.RemoveEmptyEntries))
        {
            var path = Path.Combine(root, file);
            if (!File.Exists(path) || new FileInfo(path).Length > 4 << 20) continue;
            var bytes = File.ReadAllBytes(path);
            if (bytes.AsSpan(0, Math.Min(bytes.Length, 8000)).Contains((byte)0)) continue; // binary
            var lines = System.Text.Encoding.UTF8.GetString(bytes).Split('\n');
            for (var i = 0; i < lines.Length; i++)
                if (registry.IsMatch(lines[i]))
                    offenders.Add($"{file}:{i + 1}: {lines[i].Trim()}");
        }
        Assert.True(offenders.Count == 0, "package registry URLs in tracked files:\n" + string.Join('\n', offenders));
        Assert.False(File.Exists(Path.Combine(root, "NuGet.config")), "NuGet.config: the machine's NuGet configuration decides the package source");
    }
}
