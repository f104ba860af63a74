using System.Diagnostics;

namespace Microsoft.ML.Clip.Cli.Tests.Packaging;

/// <summary>
/// Runs <c>dotnet …</c> (or an installed tool) as a user's shell would: none of the MSBuild or test-host variables of
/// the <c>dotnet test</c> run that started this test leak into it, no build server or MSBuild node outlives it, and
/// NuGet restores into the folder given (never the machine's global packages folder).
/// </summary>
internal sealed class DotnetCommand(string workingDirectory, IReadOnlyDictionary<string, string?> environment)
{
    /// <summary>Runs <paramref name="fileName"/> with <paramref name="args"/>; fails the test, with its output, unless it exits 0.</summary>
    public string Run(string fileName, params string[] args)
    {
        var result = RunAllowingFailure(fileName, args);
        return result.ExitCode == 0 ? result.StdOut
            : throw new Xunit.Sdk.XunitException($"`{fileName} {string.Join(' ', args)}` exited with {result.ExitCode}:\n{Last(result.StdOut, 6000)}\n{Last(result.StdErr, 3000)}");
    }

    /// <summary>Runs <c>dotnet args…</c>; fails the test unless it exits 0.</summary>
    public string Dotnet(params string[] args) => Run("dotnet", args);

    /// <summary>Runs and returns the exit code and output, whatever they are.</summary>
    public CliResult RunAllowingFailure(string fileName, params string[] args)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var name in start.Environment.Keys.ToList())
            if (name.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || name.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("TESTINGPLATFORM", StringComparison.OrdinalIgnoreCase) || name is "DOTNET_HOST_PATH" or "CLIP_TRAIN_TOOL")
                start.Environment.Remove(name);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";   // no MSBuild node stays behind
        start.Environment["UseSharedCompilation"] = "false";   // nor a compiler server (an MSBuild property, read from the environment)
        foreach (var (name, value) in environment)
            start.Environment[name] = value;
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(8)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{fileName} {string.Join(' ', args)}` did not finish in 8 minutes.");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Last(string text, int length) => text.Length <= length ? text : "…" + text[^length..];
}
