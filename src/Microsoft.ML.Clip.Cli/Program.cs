namespace Microsoft.ML.Clip.Cli;

/// <summary>Entry point of the <c>clip</c> tool.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("clip: no commands yet");
        return args.Length == 0 ? 0 : 1;
    }
}
