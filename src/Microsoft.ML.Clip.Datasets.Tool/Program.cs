using System.CommandLine;

namespace ClipData;

/// <summary>Entry point of <c>clip-data</c>.</summary>
public static class Program
{
    /// <summary>Runs the command line; returns the exit code.</summary>
    public static int Main(string[] args)
    {
        var root = new RootCommand("clip-data: turns the real data sets into plain files for the `clip` tool.");
        root.Subcommands.Add(PrepareCommand.Create());
        return root.Parse(args).Invoke();
    }
}
