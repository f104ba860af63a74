using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip train ARGS</c>: training needs libtorch, which the <c>clip</c> tool does not bring (so that inference, conversion
/// and evaluation install small); it lives in the add-on tool <c>clip-train</c>, to which this passes every argument on
/// with the console shared, returning its exit code. Without the add-on it says how to install it.
/// </summary>
internal static class TrainForwarding
{
    /// <summary>The add-on's command name.</summary>
    public const string ToolName = "clip-train";

    /// <summary>The add-on's NuGet package (a .NET tool).</summary>
    public const string PackageId = "Microsoft.ML.Clip.Cli.Training";

    /// <summary>Environment variable that names the add-on's executable or <c>clip-train.dll</c>, overriding the search.</summary>
    public const string PathVariable = "CLIP_TRAIN_TOOL";

    /// <summary>The entry in <c>clip --help</c> (<see cref="Program.Main"/> forwards before parsing, so it never runs itself).</summary>
    public static Command HelpEntry() => new("train",
        $"Train or fine-tune a CLIP model: runs the add-on tool {ToolName} with the same arguments (`dotnet tool install -g {PackageId}`; `clip train --help` lists its options).");

    /// <summary>Runs the add-on with <paramref name="args"/> (the words after <c>train</c>); returns its exit code.</summary>
    public static int Run(string[] args)
    {
        var start = Find();
        if (start is null)
        {
            Console.Error.WriteLine($"error: training needs the add-on tool {ToolName}, which brings libtorch: install it with " +
                $"`dotnet tool install -g {PackageId}` (then `clip train ...` or `{ToolName} ...` both work), or set {PathVariable} to its path.");
            return 1;
        }
        foreach (var a in args) start.ArgumentList.Add(a);
        start.UseShellExecute = false;
        using var child = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        // Ctrl-C reaches both processes (one console); the add-on saves a checkpoint and exits, so this one only waits.
        ConsoleCancelEventHandler keepWaiting = (_, e) => e.Cancel = true;
        Console.CancelKeyPress += keepWaiting;
        // SIGTERM is sent to this process alone: pass it on so that the add-on can stop cleanly too.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            SendTerminate(child);
        });
        try
        {
            child.WaitForExit();
            return child.ExitCode;
        }
        finally
        {
            Console.CancelKeyPress -= keepWaiting;
        }
    }

    // The add-on as CLIP_TRAIN_TOOL names it, beside this tool (both installed into one folder), or on the PATH.
    private static ProcessStartInfo? Find()
    {
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured)
            return File.Exists(configured) ? For(configured)
                : throw new FileNotFoundException($"{PathVariable} names '{configured}', which does not exist.", configured);
        var here = AppContext.BaseDirectory;
        foreach (var name in new[] { ToolName, ToolName + ".exe", ToolName + ".dll" })
            if (File.Exists(Path.Combine(here, name)))
                return For(Path.Combine(here, name));
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            foreach (var name in new[] { ToolName, ToolName + ".exe" })
                if (File.Exists(Path.Combine(folder, name)))
                    return For(Path.Combine(folder, name));
        return null;
    }

    private static ProcessStartInfo For(string path)
    {
        if (!path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase))
            return new ProcessStartInfo(path);
        var start = new ProcessStartInfo(Environment.ProcessPath is { } host && Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : "dotnet");
        start.ArgumentList.Add(path);
        return start;
    }

    private static void SendTerminate(Process child)
    {
        try
        {
            if (!OperatingSystem.IsWindows()) _ = Kill(child.Id, 15);
            else child.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { } // already gone
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
