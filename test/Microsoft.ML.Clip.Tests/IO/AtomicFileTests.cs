using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.IO;

public class AtomicFileTests
{
    [Fact]
    public void The_first_write_into_a_folder_sweeps_every_dead_writers_temporary_file_and_later_writes_do_not_list_it_again()
    {
        var folder = Fixtures.NewTempDir("clip-atomic");
        var dead = DeadProcess.Id();
        string Abandoned(string name) => Path.Combine(folder, $"{name}.p{dead}s1-abcd1234.tmp");
        var live = Path.Combine(folder, $"b.png.p{Environment.ProcessId}s0-live0000.tmp");
        foreach (var path in new[] { Abandoned("a.png"), Abandoned("b.png"), Abandoned("name.with.dots.png"), live })
            File.WriteAllText(path, "half");

        AtomicFile.Write(Path.Combine(folder, "a.png"), s => s.Write("a"u8));

        // Every file's leftovers go, not just a.png's (before: b.png's stayed until b.png itself was written again).
        Assert.False(File.Exists(Abandoned("a.png")));
        Assert.False(File.Exists(Abandoned("b.png")), "another file's abandoned temporary file was not swept");
        Assert.False(File.Exists(Abandoned("name.with.dots.png")));
        Assert.True(File.Exists(live), "a live writer's temporary file was removed");

        // Once per folder and process: filling a folder of N files lists it once, not N times (quadratic before). A writer
        // killed after the sweep leaves its file to the next process's first write there.
        File.WriteAllText(Abandoned("a.png"), "half");
        AtomicFile.Write(Path.Combine(folder, "a.png"), s => s.Write("a2"u8));
        AtomicFile.Write(Path.Combine(folder, "b.png"), s => s.Write("b"u8));
        Assert.True(File.Exists(Abandoned("a.png")), "the folder was listed again by a later write of the same process");
        Assert.Equal("a2", File.ReadAllText(Path.Combine(folder, "a.png")));
        Assert.Equal("b", File.ReadAllText(Path.Combine(folder, "b.png")));
    }

    [Fact]
    public void A_folder_that_did_not_exist_at_a_first_write_is_swept_once_it_does()
    {
        var folder = Path.Combine(Fixtures.NewTempDir("clip-atomic"), "later");
        Assert.ThrowsAny<IOException>(() => AtomicFile.Write(Path.Combine(folder, "a.png"), s => s.Write("a"u8)));
        Directory.CreateDirectory(folder);
        var abandoned = Path.Combine(folder, $"b.png.p{DeadProcess.Id()}s1-abcd1234.tmp");
        File.WriteAllText(abandoned, "half");

        AtomicFile.Write(Path.Combine(folder, "a.png"), s => s.Write("a"u8));

        // The failed write found no folder to list; it must not count as this process's sweep of it.
        Assert.False(File.Exists(abandoned), "the folder was never swept: a write before it existed counted as its sweep");
    }
}
