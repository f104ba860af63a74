using System.Text;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>Pickles that ask for code are refused before anything runs.</summary>
public class PickleSecurityTests
{
    // GLOBAL 'module\nname\n', then the command as argument tuple, REDUCE: pickle's classic way to run a command.
    private static byte[] CallingPickle(string module, string name, string argument, bool stackGlobal = false)
    {
        var s = new MemoryStream();
        s.Write([0x80, (byte)(stackGlobal ? 4 : 2)]);
        if (stackGlobal)
        {
            WriteShortString(s, module);
            WriteShortString(s, name);
            s.WriteByte(0x93); // STACK_GLOBAL
        }
        else
        {
            s.WriteByte((byte)'c');
            s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        }
        WriteShortString(s, argument);
        s.Write([0x85, (byte)'R', (byte)'.']); // TUPLE1, REDUCE, STOP
        return s.ToArray();
    }

    private static void WriteShortString(Stream s, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        s.WriteByte(0x8c); // SHORT_BINUNICODE
        s.WriteByte((byte)bytes.Length);
        s.Write(bytes);
    }

    [Theory]
    [InlineData("posix", "system", false)]
    [InlineData("os", "system", true)]
    [InlineData("builtins", "eval", false)]
    [InlineData("subprocess", "Popen", true)]
    [InlineData("torch.storage", "_load_from_bytes", false)]
    public void ForeignGlobalIsRefusedByName(string module, string name, bool stackGlobal)
    {
        var marker = Path.Combine(Fixtures.NewTempDir(), "pwned");
        var e = Assert.Throws<UnsafePickleException>(() =>
            RestrictedUnpicklerTests.Read(CallingPickle(module, name, $"touch {marker}", stackGlobal), "evil.pkl"));
        Assert.Contains($"{module}.{name}", e.Message);
        Assert.Contains("evil.pkl", e.Message);
        Assert.Equal($"{module}.{name}", e.Global.FullName);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public void CheckpointWithForeignGlobalIsRefusedAndNothingRuns()
    {
        var dir = Fixtures.NewTempDir();
        var marker = Path.Combine(dir, "pwned");
        var path = Path.Combine(dir, "evil.pt");
        TorchSaveWriter.WriteArchive(path, "evil", CallingPickle("posix", "system", $"touch {marker}"), []);

        // Through the public conversion, which reads the file the way every other entry point does.
        var e = Assert.Throws<UnsafePickleException>(() => ClipModelConverter.ConvertToOnnx(path, Path.Combine(dir, "out")));
        Assert.Contains("posix.system", e.Message);
        Assert.Contains(path, e.Message);
        Assert.False(File.Exists(marker));
        Assert.False(Directory.Exists(Path.Combine(dir, "out")));
    }
}
