namespace ClipCli.Commands;

/// <summary>How the tools (<c>clip</c> and <c>clip-train</c>, which links this file) report bad input: one line on stderr, exit code 1.</summary>
internal static class CommandErrors
{
    /// <summary>Runs <paramref name="body"/>; input errors go to stderr with exit code 1 and no stack trace.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or NotSupportedException
                                   or UnauthorizedAccessException or InvalidOperationException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
