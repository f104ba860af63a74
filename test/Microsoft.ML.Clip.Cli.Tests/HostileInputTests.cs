using System.Text.Json;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Issue 13's command-line cases: strict options, JSON-lines discipline, <c>--skip-bad-files</c> and the messages that named
/// the wrong thing. Each test says what the tool did before.
/// </summary>
public class HostileInputTests(ConvertedVitFolder vit) : IClassFixture<ConvertedVitFolder>
{
    private static string Image(string name) => Path.Combine(Fixtures.Root, "images", name);

    private static string[] OutputLines(CliResult r) => r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    // ---- strict command lines

    [Fact]
    public void An_unknown_option_is_an_error_not_a_file_name_and_double_dash_ends_the_options()
    {
        // Before: "Image file '--normalise' was not found" (the misspelt option became a file to classify).
        var r = CliRunner.Run(null, "zeroshot", "-m", vit.Path, "--classes", "a,b", "--normalise", Image("gray.jpg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("unknown option '--normalise'", r.StdErr);
        Assert.DoesNotContain("was not found", r.StdErr);

        // After `--` a name starting with '-' is a file (here relative to the tool's working folder).
        var dir = Fixtures.NewTempDir("clip-dash");
        File.Copy(Image("gray.jpg"), Path.Combine(dir, "-odd.jpg"));
        var ok = RunBytes([], ["zeroshot", "-m", vit.Path, "--classes", "a,b", "--", "-odd.jpg"], workingDirectory: dir);
        Assert.True(ok.ExitCode == 0, ok.StdErr);
        Assert.Contains("\"file\":\"-odd.jpg\",\"label\"", ok.StdOut);
        var refused = RunBytes([], ["zeroshot", "-m", vit.Path, "--classes", "a,b", "-odd.jpg"], workingDirectory: dir);
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("unknown option '-odd.jpg'", refused.StdErr);
    }

    [Theory]
    // Before: --scale NaN gave an empty label and null scores, -1 inverted the ranking; --context 2000000000 died of
    // OutOfMemoryException; --gpu -1 went on to CUDA device -1.
    [InlineData("--scale", "NaN", "--scale must be a finite number > 0, got NaN")]
    [InlineData("--scale", "-1", "--scale must be a finite number > 0, got -1")]
    [InlineData("--gpu", "-1", "--gpu must be a CUDA device id (0 or more), got -1")]
    public void Numeric_options_are_range_checked_with_their_own_name(string option, string value, string message)
    {
        var r = CliRunner.Run(null, "zeroshot", "-m", vit.Path, "--classes", "a,b", option, value, Image("gray.jpg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.StdErr);
        Assert.Empty(r.StdOut);
    }

    [Fact]
    public void An_absurd_context_length_is_refused_before_anything_is_allocated()
    {
        var r = CliRunner.Run("\"a\"\n", "tokenize", "--context", "2000000000");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--context must be a context length in 1..65536, got 2000000000", r.StdErr);
        Assert.DoesNotContain("OutOfMemory", r.StdErr);
    }

    [Fact]
    public void Duplicate_classes_are_refused()
    {
        // Before: accepted; the two 'cat' classes split one probability and the label was whichever came first.
        var r = CliRunner.Run(null, "zeroshot", "-m", vit.Path, "--classes", "cat,dog,cat", Image("gray.jpg"));
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("names the class 'cat' 2 times", r.StdErr);
    }

    [Fact]
    public void Train_options_are_checked_under_their_own_names()
    {
        // Before: "ClipTrainerOptions.BatchSize must be at least 2" — a name the user of the tool never typed.
        var r = CliRunner.Run(null, "train", "--data", "pairs.tsv", "--out", "out", "--batch-size", "0");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("--batch-size must be at least 2 (contrastive pairs), got 0", r.StdErr);
        Assert.DoesNotContain("ClipTrainerOptions", r.StdErr);
        var lr = CliRunner.Run(null, "train", "--data", "pairs.tsv", "--out", "out", "--learning-rate", "NaN");
        Assert.Contains("--learning-rate must be a finite number > 0, got NaN", lr.StdErr);
        var variants = CliRunner.Run(null, "train", "--data", "pairs.tsv", "--out", "out", "--image-variant-probability", "1.5");
        Assert.Contains("--image-variant-probability must be in [0, 1] (0: off), got 1.5", variants.StdErr);
    }

    // ---- JSON lines

    [Fact]
    public void Tokenize_reports_a_lone_surrogate_by_line_and_goes_on()
    {
        // Before: an unhandled InvalidOperationException with a stack trace; "after" was never tokenized.
        var r = CliRunner.Run("\"x \\ud800 y\"\n\"after\"\n", "tokenize");
        Assert.Equal(1, r.ExitCode);
        var lines = OutputLines(r);
        Assert.Equal(2, lines.Length);
        Assert.Equal("null", lines[0]);
        Assert.StartsWith("[", lines[1]);
        Assert.Contains("line 1: the string has a lone surrogate", r.StdErr);
        Assert.DoesNotContain("Unhandled", r.StdErr);
    }

    [Fact]
    public void JSON_lines_commands_keep_one_output_line_per_input_line()
    {
        // Input: a BOM on line 1, an empty line, invalid UTF-8, a number, a lone surrogate, then a good line.
        var input = new MemoryStream();
        input.Write([0xEF, 0xBB, 0xBF]);
        input.Write("\"a cat\"\n\n\"caf"u8);
        input.Write([0xFF]);
        input.Write("\"\n42\n\"\\udc00\"\n\"a dog\"\n"u8);

        // Before: the BOM line was refused, the empty line dropped (the outputs shifted), invalid UTF-8 silently replaced.
        foreach (var command in new[] { new[] { "tokenize" }, new[] { "embed-text", "--model", vit.Path } })
        {
            var r = RunBytes(input.ToArray(), command);
            var lines = OutputLines(r);
            Assert.True(lines.Length == 6, $"{command[0]}: {r.StdOut}\n{r.StdErr}");
            Assert.NotEqual("null", lines[0]);
            Assert.Equal(["null", "null", "null", "null"], lines[1..5]);
            Assert.NotEqual("null", lines[5]);
            Assert.Equal(1, r.ExitCode);
            foreach (var (line, problem) in new[] { (2, "empty line"), (3, "not valid UTF-8"), (4, "not a JSON string but a number"), (5, "the string has a lone surrogate") })
                Assert.Contains($"line {line}: {problem}", r.StdErr);
            Assert.DoesNotContain("line 1:", r.StdErr);
            Assert.DoesNotContain("line 6:", r.StdErr);
        }
    }

    // Runs the tool with raw bytes on standard input (CliRunner writes text).
    private static CliResult RunBytes(byte[] stdin, string[] args, string? workingDirectory = null)
    {
        using var process = CliRunner.Start(CliRunner.ToolPath, args, workingDirectory: workingDirectory);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.BaseStream.Write(stdin);
        process.StandardInput.Close();
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    // ---- --skip-bad-files

    [Fact]
    public void Skip_bad_files_lists_each_file_and_why_and_fails_when_nothing_was_read()
    {
        var dir = Fixtures.NewTempDir("clip-skip");
        var broken = Path.Combine(dir, "broken.png");
        File.WriteAllText(broken, "not a png");
        var missing = Path.Combine(dir, "missing.png");
        var folder = Directory.CreateDirectory(Path.Combine(dir, "folder.png")).FullName;

        // Before: zeroshot had no --skip-bad-files; embed-image said only "Skipped 3 of 4", no names or reasons, exit 0
        // even when every file failed.
        foreach (var command in new[] { new[] { "embed-image", "-m", vit.Path, "--skip-bad-files" }, new[] { "zeroshot", "-m", vit.Path, "--classes", "a,b", "--skip-bad-files" } })
        {
            var some = CliRunner.Run(null, [.. command, Image("gray.jpg"), broken, missing, folder]);
            Assert.True(some.ExitCode == 0, some.StdErr);
            var lines = OutputLines(some).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
            Assert.Equal(4, lines.Length);
            Assert.False(lines[0].TryGetProperty("error", out _));
            Assert.All(lines[1..], l => Assert.True(l.TryGetProperty("error", out _)));
            Assert.Contains($"skipped '{broken}': ", some.StdErr);
            Assert.Contains($"skipped '{missing}': Image file '{missing}' was not found", some.StdErr);
            Assert.Contains($"skipped '{folder}': Image file '{folder}' is a folder", some.StdErr);
            Assert.Contains("skipped 3 of 4 image files", some.StdErr);

            var none = CliRunner.Run(null, [.. command, broken, missing]);
            Assert.Equal(1, none.ExitCode);
            Assert.Equal(2, OutputLines(none).Length);
        }
    }

    // ---- messages that named the wrong thing

    [Fact]
    public void A_folder_given_as_an_image_is_called_a_folder()
    {
        // Before: "Image file '/tmp' was not found".
        var dir = Fixtures.NewTempDir("clip-dir-image");
        var r = CliRunner.Run(null, "zeroshot", "-m", vit.Path, "--classes", "a,b", dir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"'{dir}' is a folder, not an image file", r.StdErr);
    }

    [Fact]
    public void A_folder_without_clip_model_json_is_said_to_be_no_model_folder()
    {
        // Before: "The folder 'X' has no model.safetensors." — as if the ONNX export were a broken checkpoint.
        var dir = Fixtures.NewTempDir("clip-no-json");
        File.Copy(Path.Combine(vit.Path, "image.onnx"), Path.Combine(dir, "image.onnx"));
        var r = CliRunner.Run("\"a\"\n", "embed-text", "-m", dir);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("holds no clip_model.json", r.StdErr);
        Assert.Contains(dir, r.StdErr);
    }

    [Fact]
    public void A_garbage_npy_is_named()
    {
        // Before: "Index and count must refer to a location within the buffer", without the file.
        var dir = Fixtures.NewTempDir("clip-npy");
        var npy = Path.Combine(dir, "pixels.npy");
        File.WriteAllBytes(npy, [0x93, .. "NUMPY"u8, 1, 0, 0xFF, 0x00, .. "{'descr'"u8]);
        var r = CliRunner.Run(null, "embed-image", "-m", vit.Path, "--pixels", npy);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"'{npy}' is truncated", r.StdErr);
    }

    [Fact]
    public void A_gpu_that_cannot_be_used_gives_one_clean_message_per_encoder_without_onnx_runtime_lines()
    {
        // Before: ONNX Runtime's own "[E:onnxruntime:...] Failed to load library ... libonnxruntime_providers_cuda.so" lines
        // (in colour) came before the fallback message.
        var r = CliRunner.Run(null, "zeroshot", "-m", vit.Path, "--classes", "a,b", "--gpu", "7", Image("gray.jpg"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        if (r.StdErr.Contains("on CUDA:7", StringComparison.Ordinal)) return; // a machine with eight GPUs
        Assert.Contains("CUDA device 7 is not usable", r.StdErr);
        Assert.Contains("running on the CPU", r.StdErr);
        Assert.DoesNotContain("onnxruntime:", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b[", r.StdErr, StringComparison.Ordinal);
    }
}
