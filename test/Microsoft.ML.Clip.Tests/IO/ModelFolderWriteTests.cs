using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.IO;

/// <summary>
/// Whole or nothing on disk (issue 13): model folders are built beside their target and swapped in, their files carry
/// their hashes, loaders refuse a mix, interrupted writers are cleaned up after. The kill tests of the tool
/// (<c>Microsoft.ML.Clip.Cli.Tests/KillTests</c>) do the same with real processes killed at random moments.
/// </summary>
[Collection(nameof(DirectorySwapHooks))]
public class ModelFolderWriteTests
{
    private static string Model(string name) => Fixtures.Reference("models", name);

    private static Dictionary<string, string> Hashes(string folder) => Directory.GetFiles(folder, "*", SearchOption.AllDirectories)
        .ToDictionary(f => Path.GetRelativePath(folder, f), ModelFolderFiles.Hash);

    [Fact]
    public void Converting_to_safetensors_over_an_onnx_folder_replaces_it_instead_of_merging()
    {
        // Before: the safetensors files were written beside the ONNX model, which went on loading and answering.
        var dir = Path.Combine(Fixtures.NewTempDir("clip-replace"), "model");
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir);
        ClipModelConverter.ConvertToSafetensors(Model("rn.openai.pt"), dir);
        Assert.Equal(["clip_config.json", "model.safetensors"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var e = Assert.Throws<FileNotFoundException>(() => ClipModel.Load(dir));
        Assert.Contains("holds no clip_model.json", e.Message);
        // Nothing is left beside the folder either: no staging folder, no lock file.
        Assert.Equal(["model"], Directory.GetFileSystemEntries(Path.GetDirectoryName(dir)!).Select(Path.GetFileName));
    }

    [Fact]
    public void Every_file_is_hashed_and_a_folder_mixing_two_models_is_refused()
    {
        // Before: a folder with one model's image.onnx beside another's text.onnx and clip_model.json loaded and answered.
        var root = Fixtures.NewTempDir("clip-mix");
        var vit = Path.Combine(root, "vit");
        var info = ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), vit);
        Assert.Equal(["image.onnx", "text.onnx"], info.Files!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(ModelFolderFiles.Hash(Path.Combine(vit, "image.onnx")), info.Files["image.onnx"]);
        using (var whole = ClipModel.Load(vit)) Assert.Equal(64, whole.EmbeddingSize);

        // The ViT's text encoder over the one written with a fp16 conversion of the same checkpoint: same shapes, other bytes.
        var other = Path.Combine(root, "fp16");
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), other, new ClipConversionOptions { WeightsAsFloat16 = true });
        File.Copy(Path.Combine(other, "text.onnx"), Path.Combine(vit, "text.onnx"), overwrite: true);
        var e = Assert.Throws<InvalidDataException>(() => ClipModel.Load(vit));
        Assert.Contains(Path.Combine(vit, "text.onnx"), e.Message);
        Assert.Contains("mixes files of different models", e.Message);

        // A folder without the hashes (written before they were recorded) still loads.
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(other, ClipModelInfo.FileName)))!.AsObject();
        json.Remove("files");
        File.WriteAllText(Path.Combine(other, ClipModelInfo.FileName), json.ToJsonString());
        using var unchecked_ = ClipModel.Load(other);
        Assert.Null(unchecked_.Info.Files);
    }

    [Fact]
    public void A_folder_holding_files_that_are_not_a_models_is_refused_and_left_alone()
    {
        var dir = Fixtures.NewTempDir("clip-foreign");
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        var e = Assert.Throws<IOException>(() => ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir));
        Assert.Contains("notes.txt", e.Message);
        Assert.Equal(["notes.txt"], Directory.GetFileSystemEntries(dir).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(dir)!, $".{Path.GetFileName(dir)}*"));
    }

    [Fact]
    public void A_failed_write_leaves_the_old_folder_as_it_was_and_nothing_beside_it()
    {
        var root = Fixtures.NewTempDir("clip-fail");
        var dir = Path.Combine(root, "model");
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir);
        var before = Hashes(dir);
        var broken = Path.Combine(root, "broken.pt");
        File.WriteAllBytes(broken, File.ReadAllBytes(Model("rn.openai.pt"))[..4096]);
        Assert.ThrowsAny<Exception>(() => ClipModelConverter.ConvertToOnnx(broken, dir));
        Assert.Equal(before, Hashes(dir));
        Assert.Equal(["broken.pt", "model"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_two_step_swap_cut_between_its_steps_is_undone_by_the_next_load_and_the_next_write()
    {
        // Where renameat2's exchange is not available the swap takes two renames; a process that dies between them leaves
        // the old folder aside. Here the "death" is an exception between the steps, and the folder aside is given the name a
        // process that no longer runs would have given it.
        var root = Fixtures.NewTempDir("clip-twostep");
        var dir = Path.Combine(root, "model");
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir);
        var old = Hashes(dir);
        DirectorySwap.ForceTwoStep = true;
        DirectorySwap.BetweenSteps = () => throw new IOException("killed between the renames");
        try
        {
            Assert.Throws<IOException>(() => ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir));
        }
        finally
        {
            DirectorySwap.ForceTwoStep = false;
            DirectorySwap.BetweenSteps = null;
        }
        Assert.False(Directory.Exists(dir));
        var aside = Assert.Single(Directory.GetDirectories(root, ".model.clip-old-*"));
        var dead = Path.Combine(root, $".model.clip-old-p{Microsoft.ML.Clip.TestUtilities.DeadProcess.Id()}s1-0000");
        Directory.Move(aside, dead);

        using (var model = ClipModel.Load(dir)) Assert.Equal("vit", model.Info.VisionKind);
        Assert.Equal(old, Hashes(dir));

        // The next write finds the folder whole and replaces it.
        DirectorySwap.ForceTwoStep = true;
        try
        {
            Assert.Equal("resnet", ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir).VisionKind);
        }
        finally
        {
            DirectorySwap.ForceTwoStep = false;
        }
        Assert.Equal(["model"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
    }

    [Fact]
    public void Staging_folders_and_temporary_files_of_dead_writers_are_swept_by_the_next_write()
    {
        var root = Fixtures.NewTempDir("clip-sweep");
        var dir = Path.Combine(root, "model");
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir);
        var pid = Microsoft.ML.Clip.TestUtilities.DeadProcess.Id();
        Directory.CreateDirectory(Path.Combine(root, $".model.clip-staging-p{pid}s1-abcd"));
        File.WriteAllText(Path.Combine(root, ".model.clip-lock"), "{}"); // a lock file left by a killed writer locks nothing
        File.WriteAllText(Path.Combine(dir, $"image.onnx.p{pid}s1-abcd.tmp"), "half");
        var ckpt = Path.Combine(root, "checkpoint.clipckpt");
        File.WriteAllText(Path.Combine(root, $"checkpoint.clipckpt.p{pid}s1-abcd.tmp"), "half");

        ClipModelConverter.ConvertToOnnx(Model("rn.openai.pt"), dir);
        AtomicFile.Write(ckpt, s => s.Write("new"u8));
        Assert.Equal(["checkpoint.clipckpt", "model"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.DoesNotContain(Directory.GetFiles(dir), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Another_thread_of_the_process_is_refused_while_a_write_holds_the_folder()
    {
        var dir = Path.Combine(Fixtures.NewTempDir("clip-lock"), "model");
        using var held = OutputFolderLock.Acquire(dir);
        Exception? thrown = null;
        var other = new Thread(() =>
        {
            try { ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir); }
            catch (Exception ex) { thrown = ex; }
        });
        other.Start();
        other.Join();
        var e = Assert.IsType<IOException>(thrown);
        Assert.Contains(dir, e.Message);
        Assert.Contains("another thread", e.Message);
        // The holder's own thread may write (nested writers share the hold).
        ClipModelConverter.ConvertToOnnx(Model("vit.openai.pt"), dir);
        Assert.True(File.Exists(Path.Combine(dir, ClipModelInfo.FileName)));
    }

}

/// <summary>Tests that set <see cref="DirectorySwap"/>'s static test hooks run one at a time.</summary>
[CollectionDefinition(nameof(DirectorySwapHooks), DisableParallelization = true)]
public class DirectorySwapHooks;
