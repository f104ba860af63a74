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

    /// <summary>Runs <c>clip args…</c> with <paramref name="stdin"/> on standard input.</summary>
    public static CliResult Run(string? stdin, params string[] args) => RunTool(ToolPath, stdin, args);

    /// <summary>Runs the <c>clip.dll</c> at <paramref name="toolPath"/> (e.g. a copy of the tool) with <paramref name="args"/>.</summary>
    public static CliResult RunTool(string toolPath, string? stdin, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(toolPath);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
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

    private static string FindTool()
    {
        var config = AppContext.BaseDirectory.Contains("/Debug/") ? "Debug" : "Release";
        var repo = Directory.GetParent(Fixtures.Root)!.Parent!.FullName;
        var path = Path.Combine(repo, "src", "Microsoft.ML.Clip.Cli", "bin", config, "net10.0", "clip.dll");
        if (!File.Exists(path))
            throw new FileNotFoundException($"The clip tool is not built at '{path}'.", path);
        return path;
    }
}
