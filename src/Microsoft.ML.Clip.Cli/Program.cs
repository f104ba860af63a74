using System.CommandLine;
using ClipCli.Commands;

namespace ClipCli;

/// <summary>Entry point of the <c>clip</c> tool.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static int Main(string[] args)
        => args is ["train", .. var rest] ? CommandErrors.Guard(() => TrainForwarding.Run(rest)) : BuildRootCommand().Parse(args).Invoke();

    /// <summary>The root command with every sub-command (one file each under <c>Commands/</c>).</summary>
    public static RootCommand BuildRootCommand()
    {
        var root = new RootCommand("clip: CLIP for .NET — tokenize, embed, classify zero-shot, evaluate and convert CLIP models; `clip train` runs the training add-on (clip-train).");
        foreach (var command in Commands())
            root.Subcommands.Add(command);
        return root;
    }

    private static IEnumerable<Command> Commands()
    {
        yield return SelfCheckCommand.Create();
        yield return TokenizeCommand.Create();
        yield return ConvertCommand.Create();
        yield return EmbedTextCommand.Create();
        yield return EmbedImageCommand.Create();
        yield return ZeroShotCommand.Create();
        yield return ProbeCommand.Create();
        yield return CompareCommand.Create();
        yield return SummarizeCommand.Create();
        yield return EvalRetrievalCommand.Create();
        yield return RestoreModelsCommand.Create();
        yield return TrainForwarding.HelpEntry();
    }
}
