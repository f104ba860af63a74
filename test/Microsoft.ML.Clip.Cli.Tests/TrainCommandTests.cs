using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

public class TrainCommandTests
{
    private static readonly string[] Images = ["bilevel.png", "gray16.png", "gray_alpha.png", "palette.png", "palette_trns.png", "rgb16.png", "rgb_trns.png", "bilevel.png"];

    // A TSV with images in a sub-folder (paths relative to the TSV) and one caption each.
    private static string WriteData(string dir, string? missing = null, string captionPrefix = "a picture number")
    {
        var images = Directory.CreateDirectory(Path.Combine(dir, "img")).FullName;
        var lines = new List<string> { "# image<TAB>caption" };
        for (var i = 0; i < Images.Length; i++)
        {
            File.Copy(Path.Combine(Fixtures.Root, "images", Images[i]), Path.Combine(images, $"{i}.png"), overwrite: true);
            lines.Add($"img/{i}.png\t{captionPrefix} {i}");
        }
        if (missing != null) lines.Add($"img/{missing}\ta missing picture");
        var tsv = Path.Combine(dir, "pairs.tsv");
        File.WriteAllLines(tsv, lines);
        return tsv;
    }

    [Fact]
    public void Train_writes_a_model_folder_that_the_other_commands_load_and_resumes()
    {
        var dir = Fixtures.NewTempDir("clip-cli-train");
        var tsv = WriteData(dir);
        // Named like a trainer option (Seed): the refused resumes below must name the checkpoint as it is.
        var outDir = Path.Combine(dir, "Seed");
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", outDir, "--preset", "tiny", "--batch-size", "4", "--epochs", "1", "--chunk-size", "2", "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.Contains(result.Lines, l => l.StartsWith("step 2/2 epoch 1 loss", StringComparison.Ordinal));
        foreach (var file in new[] { "image.onnx", "text.onnx", ClipModelInfo.FileName, "model.clipmodel", "checkpoint.clipckpt" })
            Assert.True(File.Exists(Path.Combine(outDir, file)), file);
        var info = ClipModelInfo.Load(Path.Combine(outDir, ClipModelInfo.FileName));
        Assert.Equal((64, 64), (info.EmbedDim, info.ImageResolution));

        var embed = CliRunner.Run("\"a picture number 3\"\n", "embed-text", "--model", outDir);
        Assert.True(embed.ExitCode == 0, embed.StdErr);
        var converted = CliRunner.Run(null, "convert", Path.Combine(outDir, "safetensors"), Path.Combine(dir, "converted"));
        Assert.True(converted.ExitCode == 0, converted.StdErr);

        // Resuming the finished run with its own options: nothing left to train, the folder is written again (no --force needed).
        var resumed = CliRunner.Run(null, "train", "--data", tsv, "--out", outDir, "--batch-size", "4", "--epochs", "1", "--resume-from", outDir, "--device", "cpu");
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        Assert.DoesNotContain(resumed.Lines, l => l.StartsWith("step ", StringComparison.Ordinal));

        // Issue 13: resuming is continuing the same run; before, another architecture, learning rate or data of the same size
        // was accepted silently. Each is refused naming what differs.
        string[] Resume(string data, params string[] extra) =>
            ["train", "--data", data, "--out", outDir, "--batch-size", "4", "--resume-from", outDir, "--device", "cpu", .. extra.Contains("--epochs") ? extra : [.. extra, "--epochs", "1"]];
        var otherRate = CliRunner.Run(null, Resume(tsv, "--learning-rate", "0.01"));
        Assert.Equal(1, otherRate.ExitCode);
        Assert.Contains("--learning-rate 0.01 (the checkpoint's run: 0.0005)", otherRate.StdErr);
        // Before: clip train recognised this error by its words and replaced every option name in it, the path's "Seed" too
        // ("…/--seed/checkpoint.clipckpt").
        Assert.Contains($"{Path.Combine(outDir, "checkpoint.clipckpt")} was written by a run with other options", otherRate.StdErr);
        Assert.Contains("start a new run from its model (--initial-checkpoint)", otherRate.StdErr);
        var otherConfig = CliRunner.Run(null, Resume(tsv, "--preset", "small"));
        Assert.Equal(1, otherConfig.ExitCode);
        Assert.Contains("--config/--preset", otherConfig.StdErr);
        var otherWarmup = CliRunner.Run(null, Resume(tsv, "--warmup-steps", "3", "--epochs", "2"));
        Assert.Contains("--warmup-steps 3 (the checkpoint's run: 10)", otherWarmup.StdErr);
        Assert.Contains("--epochs 2 (the checkpoint's run: 1)", otherWarmup.StdErr);
        var otherData = WriteData(Fixtures.NewTempDir("clip-cli-train-other"), captionPrefix: "another picture");
        var sameSize = CliRunner.Run(null, Resume(otherData));
        Assert.Equal(1, sameSize.ExitCode);
        Assert.Contains("The data differ from the run the checkpoint came from: the same 8 rows in number", sameSize.StdErr);
    }

    [Fact]
    public void Train_with_a_frozen_resnet18_encoder_caches_features_and_exports_a_model_the_other_commands_load()
    {
        var dir = Fixtures.NewTempDir("clip-cli-train-lit");
        var tsv = WriteData(dir);
        var outDir = Path.Combine(dir, "out");
        var cache = Path.Combine(dir, "cache");
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", outDir, "--preset", "tiny", "--batch-size", "4", "--epochs", "2",
            "--image-encoder", "resnet18", "--feature-cache-directory", cache, "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.StdErr);
        // 8 rows, 7 distinct images (bilevel.png twice): each encoded once before training; the epochs read the cache.
        Assert.Contains(result.Lines, l => l.StartsWith("Encoded 7 images with 'resnet18'", StringComparison.Ordinal) && l.EndsWith("; 1 rows were in the cache already.", StringComparison.Ordinal));
        Assert.Contains("Epoch 2: image features of 8 images from the cache, 0 encoded.", result.Lines);
        var info = ClipModelInfo.Load(Path.Combine(outDir, ClipModelInfo.FileName));
        Assert.Equal(("onnx-features", 224, 64), (info.VisionKind, info.ImageResolution, info.EmbedDim));
        Assert.Equal([0f, 0f, 0f], info.Preprocess.Mean);
        Assert.False(Directory.Exists(Path.Combine(outDir, "safetensors")));

        // The exported folder works with the inference commands, and model.clipmodel converts to the same image graph.
        var zeroShot = CliRunner.Run(null, "zeroshot", "--model", outDir, "--classes", "picture,drawing", Path.Combine(dir, "img", "0.png"));
        Assert.True(zeroShot.ExitCode == 0, zeroShot.StdErr);
        var converted = Path.Combine(dir, "converted");
        var convert = CliRunner.Run(null, "convert", Path.Combine(outDir, "model.clipmodel"), converted);
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        Assert.Equal(File.ReadAllBytes(Path.Combine(outDir, info.ImageModelFile)), File.ReadAllBytes(Path.Combine(converted, info.ImageModelFile)));

        // Resuming the finished run needs the same encoder.
        var resumed = CliRunner.Run(null, "train", "--data", tsv, "--out", outDir, "--batch-size", "4", "--epochs", "2", "--resume-from", outDir, "--device", "cpu");
        Assert.NotEqual(0, resumed.ExitCode);
        Assert.Contains("frozen image encoder 'resnet18'", resumed.StdErr);
    }

    [Fact]
    public void Config_takes_a_clip_config_file_and_points_a_preset_name_to_preset()
    {
        var dir = Fixtures.NewTempDir("clip-cli-train-config");
        var tsv = WriteData(dir);
        var config = Path.Combine(dir, "clip_config.json");
        File.WriteAllText(config, """
            { "embed_dim": 16, "image_resolution": 32, "vision_layers": 1, "vision_width": 64, "vision_patch_size": 16,
              "context_length": 77, "vocab_size": 49408, "transformer_width": 64, "transformer_heads": 1, "transformer_layers": 1 }
            """);
        var outDir = Path.Combine(dir, "out");
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", outDir, "--config", config, "--batch-size", "4", "--epochs", "1", "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.StdErr);
        var info = ClipModelInfo.Load(Path.Combine(outDir, ClipModelInfo.FileName));
        Assert.Equal((16, 32), (info.EmbedDim, info.ImageResolution));

        var named = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out2"), "--config", "tiny");
        Assert.NotEqual(0, named.ExitCode);
        Assert.Contains("use --preset tiny", named.StdErr);
        var both = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out3"), "--config", config, "--preset", "tiny");
        Assert.NotEqual(0, both.ExitCode);
        Assert.Contains("--preset and --config", both.StdErr);
    }

    [Fact]
    public void A_bad_training_image_is_reported_with_its_TSV_file_and_line()
    {
        // Before: "Column 'ImagePath', row 1: ..." — a 0-based row of the data view, without the TSV file.
        var dir = Fixtures.NewTempDir("clip-cli-train-badimage");
        Directory.CreateDirectory(Path.Combine(dir, "img"));
        File.Copy(Path.Combine(Fixtures.Root, "images", "palette.png"), Path.Combine(dir, "img", "good.png"));
        File.WriteAllText(Path.Combine(dir, "img", "bad.png"), "not a png");
        var tsv = Path.Combine(dir, "pairs.tsv");
        File.WriteAllLines(tsv, ["# two pairs", "image\tcaption", "img/good.png\ta good picture", "img/bad.png\ta broken picture"]);
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"TSV file '{tsv}' line 4 (image '{Path.Combine(dir, "img", "bad.png")}')", result.StdErr);
        Assert.DoesNotContain("row 1", result.StdErr);
    }

    [Fact]
    public void A_path_holding_the_words_of_a_row_does_not_move_the_line()
    {
        // Everything in a folder named like the trainer's "Column 'ImagePath', row N": the tool takes the row of a bad image
        // from the trainer's error as data, not from words in its message, which may come from a path.
        var dir = Path.Combine(Fixtures.NewTempDir("clip-cli-train-rowpath"), "Column 'ImagePath', row 5");
        var tsv = WriteData(Directory.CreateDirectory(dir).FullName);

        // Before: "TSV file '…/pairs.tsv' line 7 (image '…/img/5.png'): absent.pt' does not exist." — image 5 blamed.
        var checkpoint = Path.Combine(dir, "absent.pt");
        var missing = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--initial-checkpoint", checkpoint, "--device", "cpu");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains($"Initial checkpoint '{checkpoint}' does not exist.", missing.StdErr);
        Assert.DoesNotContain("TSV file", missing.StdErr);

        // A bad image there (data row 1) is named by its own line, 3, not by the row in the folder's name.
        var bad = Path.Combine(dir, "img", "1.png");
        File.WriteAllText(bad, "not a png");
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"TSV file '{tsv}' line 3 (image '{bad}'): ", result.StdErr);
        Assert.DoesNotContain("line 7", result.StdErr);
    }

    [Fact]
    public void Image_variant_probability_without_an_image_encoder_is_refused_under_the_option_name()
    {
        // Before: "ImageVariantProbability swaps the cached features of a frozen image encoder for its variants' features: it
        // needs ImageEncoder. (Parameter 'ImageVariantProbability')" — the trainer's field names, and no value.
        var dir = Fixtures.NewTempDir("clip-cli-train-variants");
        var tsv = WriteData(dir);
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--image-variant-probability", "0.5", "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--image-variant-probability must be 0 without --image-encoder", result.StdErr);
        Assert.Contains("got 0.5", result.StdErr);
        Assert.DoesNotContain("ImageVariantProbability", result.StdErr);
        Assert.DoesNotContain("ImageEncoder", result.StdErr);
        Assert.DoesNotContain(result.Lines, l => l.StartsWith("step ", StringComparison.Ordinal));
    }

    // Combinations the trainer refuses in its own field names (ClipTrainerOptions.X: 'LockImageTower', 'ImageEncoder', ...),
    // which the user of the tool never typed. Before, e.g. "ImageEncoder already freezes the image encoder; LockImageTower
    // would also freeze the projection trained on top of it. (Parameter 'LockImageTower')", after the out folder was made.
    [Theory]
    [InlineData("--random-resized-crop-min-scale", "0 with --image-encoder", "0.9", "--image-encoder", "resnet18", "--random-resized-crop-min-scale", "0.9")]
    [InlineData("--orthogonal-feature-projections", "false without --image-encoder or --text-encoder", "true", "--orthogonal-feature-projections")]
    [InlineData("--lock-image-tower", "false with --image-encoder", "true", "--image-encoder", "resnet18", "--lock-image-tower")]
    [InlineData("--lock-text-tower", "false with --text-encoder", "true", "--text-encoder", "minilm", "--lock-text-tower", "true")]
    [InlineData("--lock-text-tower", "false with --lock-image-tower", "true", "--lock-image-tower", "--lock-text-tower")]
    [InlineData("--image-encoder-resolution", "left out without --image-encoder", "128", "--image-encoder-resolution", "128")]
    public void A_combination_the_trainer_refuses_is_refused_under_the_option_names(string option, string rule, string value, params string[] args)
    {
        var dir = Fixtures.NewTempDir("clip-cli-train-combination");
        var tsv = WriteData(dir);
        var outDir = Path.Combine(dir, "out");
        var result = CliRunner.Run(null, ["train", "--data", tsv, "--out", outDir, "--preset", "tiny", "--batch-size", "2", "--epochs", "1", "--device", "cpu", .. args]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"error: {option} must be {rule} (", result.StdErr);
        Assert.Contains($"), got {value}.", result.StdErr);
        Assert.DoesNotContain("ClipTrainerOptions", result.StdErr);
        Assert.DoesNotContain("(Parameter", result.StdErr);
        foreach (var field in new[] { "RandomResizedCropMinScale", "OrthogonalFeatureProjections", "LockImageTower", "LockTextTower", "ImageEncoder", "TextEncoder" })
            Assert.DoesNotContain(field, result.StdErr);
        Assert.False(Directory.Exists(outDir), "the out folder was touched");
        Assert.DoesNotContain(result.Lines, l => l.StartsWith("step ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_combination_given_as_false_or_0_is_not_refused()
    {
        // An option given with its off value contradicts nothing: refused before is only a value that turns it on.
        var dir = Fixtures.NewTempDir("clip-cli-train-combination-off");
        var tsv = WriteData(dir);
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"), "--preset", "tiny", "--batch-size", "4", "--epochs", "1", "--device", "cpu",
            "--lock-image-tower", "false", "--lock-text-tower", "false", "--orthogonal-feature-projections", "false", "--image-variant-probability", "0");
        Assert.True(result.ExitCode == 0, result.StdErr);
    }

    [Fact]
    public void Option_helps_give_the_locked_towers_values_of_the_recipe()
    {
        // The --text-encoder help lists the locked-towers recipe, read from ClipTrainerOptions.LockedTowers(); the helps of
        // --embedding-size and --image-variant-probability must give the same values (before, they were a hard-coded 512 and
        // 0.25 that would not follow a change of the recipe). This project does not reference the trainer library, so the
        // recipe is read from the help.
        var help = CliRunner.RunTool(CliRunner.TrainToolPath, null, ["--help"]);
        Assert.True(help.ExitCode == 0, help.StdErr);
        var text = System.Text.RegularExpressions.Regex.Replace(help.StdOut, @"\s+", " ");
        var recipe = System.Text.RegularExpressions.Regex.Match(text, @"locked-towers recipe: embedding size ([0-9]+),.*?image variant probability ([0-9]+(?:\.[0-9]+)?)");
        Assert.True(recipe.Success, text);
        var size = System.Text.RegularExpressions.Regex.Match(text, @"--embedding-size <embedding-size> (.*?) --");
        Assert.True(size.Success, text);
        Assert.Contains($"(default: the preset's; {recipe.Groups[1].Value} with both towers locked)", size.Groups[1].Value);
        var variants = System.Text.RegularExpressions.Regex.Match(text, @"--image-variant-probability <image-variant-probability> (.*?)\[default: 0\]");
        Assert.True(variants.Success, text);
        Assert.Contains($"; {recipe.Groups[2].Value} with both towers locked", variants.Groups[1].Value);
    }

    [Fact]
    public void A_missing_image_is_reported_with_its_line()
    {
        var dir = Fixtures.NewTempDir("clip-cli-train-bad");
        var tsv = WriteData(dir, missing: "nope.png");
        var result = CliRunner.Run(null, "train", "--data", tsv, "--out", Path.Combine(dir, "out"));
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("line 10", result.StdErr);
        Assert.Contains("nope.png", result.StdErr);
    }
}
