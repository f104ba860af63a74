using System.CommandLine;

namespace ClipCli.Commands;

/// <summary><c>clip self-check</c>: prints the versions of the runtimes the tool loads.</summary>
internal static class SelfCheckCommand
{
    public static Command Create()
    {
        var command = new Command("self-check", "Print the tool's version and the runtimes it found.");
        command.SetAction(_ =>
        {
            Console.WriteLine($"clip {typeof(Program).Assembly.GetName().Version}");
            Console.WriteLine($".NET {Environment.Version}");
            return 0;
        });
        return command;
    }
}
