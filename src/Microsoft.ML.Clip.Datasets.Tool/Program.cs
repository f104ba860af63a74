using System.CommandLine;

namespace ClipData;

/// <summary>Entry point of <c>clip-data</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line; returns the exit code.</summary>
    public static int Main(string[] args)
    {
        // The temporary files of cache and TSV writes go with the process on Ctrl-C and SIGTERM too (a SIGKILL leaves them to
        // the next write of the same file).
        Microsoft.ML.Clip.IO.TemporaryPaths.RemoveOnTerminatingSignals();
        var root = new RootCommand("clip-data: turns the real data sets into plain files for the `clip` tool.");
        root.Subcommands.Add(PrepareCommand.Create());
        return root.Parse(args).Invoke();
    }
}
