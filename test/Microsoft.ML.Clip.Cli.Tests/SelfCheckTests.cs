using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

public class SelfCheckTests
{
    [Fact]
    public void SelfCheckPrintsVersionAndSucceeds()
    {
        var result = CliRunner.Run(null, "self-check");
        Assert.Equal(0, result.ExitCode);
        Assert.StartsWith("clip ", result.Lines[0]);
    }

    [Fact]
    public void UnknownCommandFails()
    {
        var result = CliRunner.Run(null, "no-such-command");
        Assert.NotEqual(0, result.ExitCode);
    }
}
