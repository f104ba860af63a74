using System.Diagnostics;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>What one run of the <c>clip</c> tool printed and returned.</summary>
public sealed record CliResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Non-empty lines of standard output.</summary>
    public string[] Lines => StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}

/// <summary>Runs the built <c>clip</c> tool (Release or Debug, whichever this test build is) as a separate process.</summary>
public static class CliRunner
{
    /// <summary>The built tool's <c>clip.dll</c>.</summary>
    public static string ToolPath { get; } = FindTool();


    /// <summary>The built training add-on's <c>clip-train.dll</c>, which <c>clip train</c> runs.</summary>
    public static string TrainToolPath { get; } = FindTool("Microsoft.ML.Clip.Cli.Training", "clip-train.dll");

    /// <summary>Runs <c>clip args…</c> with <paramref name="stdin"/> on standard input; <c>clip train</c> finds the built add-on.</summary>
    public static CliResult Run(string? stdin, params string[] args) => RunTool(ToolPath, stdin, args);

    /// <summary>Runs <c>clip args…</c> as a user who has not installed the training add-on (nothing tells <c>clip</c> where it is).</summary>
    public static CliResult RunWithoutTrainingAddOn(string? stdin, params string[] args) => RunTool(ToolPath, stdin, args, trainingAddOn: false);

    /// <summary>Runs the <c>clip.dll</c> at <paramref name="toolPath"/> with <paramref name="args"/>.</summary>
    public static CliResult RunTool(string toolPath, string? stdin, string[] args, bool trainingAddOn = true, IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var process = Process.Start(StartInfo(toolPath, args, trainingAddOn, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin != null) process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"clip {string.Join(' ', args)} did not finish in 10 minutes.");
        }
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Runs <c>clip args…</c> with extra environment variables (e.g. a private <c>TMPDIR</c>).</summary>
    public static CliResult RunWith(IReadOnlyDictionary<string, string?> environment, string? stdin, params string[] args)
        => RunTool(ToolPath, stdin, args, environment: environment);

    /// <summary>
    /// Starts the tool at <paramref name="toolPath"/> (<see cref="ToolPath"/> or <see cref="TrainToolPath"/>) without waiting:
    /// for tests that signal or kill it. Standard input is redirected and left open; the caller reads the output streams.
    /// </summary>
    public static Process Start(string toolPath, string[] args, IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null)
    {
        var start = StartInfo(toolPath, args, trainingAddOn: true, environment);
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        return Process.Start(start)!;
    }

    private static ProcessStartInfo StartInfo(string toolPath, string[] args, bool trainingAddOn, IReadOnlyDictionary<string, string?>? environment)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(toolPath);
        // `clip train` runs the add-on named here (in an installation it sits beside clip or on the PATH).
        psi.Environment["CLIP_TRAIN_TOOL"] = trainingAddOn ? TrainToolPath : null;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) psi.Environment[name] = value;
        foreach (var a in args) psi.ArgumentList.Add(a);
        return psi;
    }

    private static string FindTool(string project = "Microsoft.ML.Clip.Cli", string file = "clip.dll")
    {
        var config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        var repo = Directory.GetParent(Fixtures.Root)!.Parent!.FullName;
        var path = Path.Combine(repo, "src", project, "bin", config, "net10.0", file);
        if (!File.Exists(path))
            throw new FileNotFoundException($"The tool is not built at '{path}'.", path);
        return path;
    }
}
