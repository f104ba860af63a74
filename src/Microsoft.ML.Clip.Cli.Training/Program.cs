using ClipCli.Commands;

namespace ClipCli;

/// <summary>Entry point of the <c>clip-train</c> tool: the <c>clip</c> tool's training add-on.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static int Main(string[] args) => CommandLineRules.Invoke(TrainCommand.Create(), args);
}
