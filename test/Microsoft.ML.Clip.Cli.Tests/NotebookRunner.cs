using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>One failed cell of an executed notebook: its 1-based position among the code cells, its first line, the error.</summary>
public sealed record NotebookCellError(int CodeCell, string FirstLine, string Error)
{
    /// <inheritdoc/>
    public override string ToString() => $"code cell {CodeCell} ({FirstLine}): {Error}";
}

/// <summary>What one headless run of a notebook gave.</summary>
/// <param name="ExitCode">dotnet-repl's exit code (non-zero when a cell failed).</param>
/// <param name="Errors">The error outputs found in the executed copy.</param>
/// <param name="ExecutedCopy">The executed notebook, with every cell's output.</param>
/// <param name="Log">dotnet-repl's standard output and error.</param>
public sealed record NotebookRun(int ExitCode, IReadOnlyList<NotebookCellError> Errors, string ExecutedCopy, string Log)
{
    /// <summary>True when dotnet-repl succeeded and no cell has an error output.</summary>
    public bool Succeeded => ExitCode == 0 && Errors.Count == 0;
}

/// <summary>
/// Runs the notebooks of <c>docs/notebooks</c> headless with dotnet-repl, as <c>build/run-notebooks.sh</c> does:
/// from the notebooks' folder (their <c>#r</c> paths are relative to it), against the Release build of the
/// <c>clip</c> tool. dotnet-repl is installed into <c>.tools/</c> by <c>build/install-tools.sh</c> (which
/// <c>build/setup.sh</c> runs); when it is missing the first run calls that script, once per process.
/// </summary>
public static class NotebookRunner
{
    private static readonly object InstallLock = new();
    private static bool _installed;

    /// <summary>The repository root (above <c>test/fixtures</c>).</summary>
    public static string RepoRoot { get; } = Directory.GetParent(Fixtures.Root)!.Parent!.FullName;

    /// <summary><c>docs/notebooks</c>.</summary>
    public static string NotebookFolder => Path.Combine(RepoRoot, "docs", "notebooks");

    /// <summary>The file names of every notebook, sorted.</summary>
    public static IEnumerable<string> Notebooks() =>
        Directory.GetFiles(NotebookFolder, "*.ipynb").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    /// <summary>Runs <paramref name="notebook"/> (a file name in <see cref="NotebookFolder"/>) and reads back the executed copy.</summary>
    public static NotebookRun Run(string notebook, TimeSpan timeout)
    {
        var toolBuild = Path.Combine(RepoRoot, "src", "Microsoft.ML.Clip.Cli", "bin", "Release", "net10.0", "Microsoft.ML.Clip.dll");
        if (!File.Exists(toolBuild))
            throw new FileNotFoundException($"The notebooks load the library from the clip tool's Release build, which is missing: '{toolBuild}'. Run 'dotnet build src/Microsoft.ML.Clip.Cli -c Release'.", toolBuild);
        var repl = EnsureDotnetRepl();
        var executed = Path.Combine(Fixtures.NewTempDir("clip-notebook-run"), notebook);
        var psi = new ProcessStartInfo(repl)
        {
            WorkingDirectory = NotebookFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--run", notebook, "--exit-after-run", "--output-path", executed })
            psi.ArgumentList.Add(arg);
        var (exitCode, log) = RunProcess(psi, timeout, $"dotnet-repl --run {notebook}");
        if (!File.Exists(executed))
            return new NotebookRun(exitCode, [new NotebookCellError(0, "", "dotnet-repl wrote no executed notebook")], executed, log);
        return new NotebookRun(exitCode, ReadErrors(executed), executed, log);
    }

    /// <summary>The error outputs of an executed notebook, in cell order.</summary>
    public static IReadOnlyList<NotebookCellError> ReadErrors(string executedNotebook)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(executedNotebook));
        var errors = new List<NotebookCellError>();
        var codeCell = 0;
        foreach (var cell in document.RootElement.GetProperty("cells").EnumerateArray())
        {
            if (cell.GetProperty("cell_type").GetString() != "code") continue;
            codeCell++;
            if (!cell.TryGetProperty("outputs", out var outputs)) continue;
            foreach (var output in outputs.EnumerateArray())
            {
                if (output.GetProperty("output_type").GetString() != "error") continue;
                var source = cell.GetProperty("source");
                var text = source.ValueKind == JsonValueKind.Array
                    ? string.Concat(source.EnumerateArray().Select(s => s.GetString()))
                    : source.GetString() ?? "";
                var firstLine = text.Split('\n').FirstOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";
                var error = output.TryGetProperty("evalue", out var value) ? value.GetString() ?? "" : "";
                errors.Add(new NotebookCellError(codeCell, firstLine, error));
            }
        }
        return errors;
    }

    private static string EnsureDotnetRepl()
    {
        var repl = Path.Combine(RepoRoot, ".tools", OperatingSystem.IsWindows() ? "dotnet-repl.exe" : "dotnet-repl");
        lock (InstallLock)
        {
            if (!_installed)
            {
                // The script does nothing when the pinned version is there, and installs or replaces it otherwise.
                var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
                psi.ArgumentList.Add(Path.Combine(RepoRoot, "build", "install-tools.sh"));
                var (exitCode, log) = RunProcess(psi, TimeSpan.FromMinutes(5), "build/install-tools.sh");
                if (exitCode != 0 || !File.Exists(repl))
                    throw new InvalidOperationException($"build/install-tools.sh did not install dotnet-repl into '{repl}' (exit code {exitCode}):\n{log}");
                _installed = true;
            }
        }
        return repl;
    }

    private static (int ExitCode, string Log) RunProcess(ProcessStartInfo psi, TimeSpan timeout, string what)
    {
        using var process = Process.Start(psi)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish in {timeout.TotalMinutes:F0} minutes.");
        }
        var log = new StringBuilder().Append(stdout.Result).Append(stderr.Result).ToString();
        return (process.ExitCode, log);
    }
}
