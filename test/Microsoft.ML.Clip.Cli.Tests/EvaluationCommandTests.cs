using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

public class EvaluationCommandTests
{
    // Small sweeps keep every run to a few seconds.
    private static readonly string[] FastSweep = ["--l2-min", "0.001", "--l2-max", "10", "--l2-steps", "3"];

    private static (string Dir, string Train, string Test) TsvSet(int trainPerClass = 6, int testPerClass = 3)
    {
        var dir = Fixtures.NewTempDir("cli-eval-set");
        var train = EvaluationData.WriteTsv(Path.Combine(dir, "train.tsv"), EvaluationData.WriteImages(dir, trainPerClass, seed: 1));
        var test = EvaluationData.WriteTsv(Path.Combine(dir, "test.tsv"), EvaluationData.WriteImages(dir, testPerClass, seed: 2));
        return (dir, train, test);
    }

    private static double Percent(string text, string prefix)
    {
        var m = Regex.Match(text, Regex.Escape(prefix) + @"\s*([0-9.]+)%");
        Assert.True(m.Success, $"'{prefix}' not found in:\n{text}");
        return double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 100;
    }

    [Fact]
    public void ProbeSeparatesColouredSquares()
    {
        var (_, train, test) = TsvSet();
        var r = CliRunner.Run(null, ["probe", "--model", EvaluationData.Model, "--train", train, "--test", test, .. FastSweep]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("| λ | validation accuracy | |", r.StdOut);
        Assert.Equal(3, Regex.Matches(r.StdOut, @"^\| [0-9.e+-]+ \| [0-9.]+% \|", RegexOptions.Multiline).Count);
        Assert.Contains("chosen λ:", r.StdOut);
        Assert.Contains("refitted on 18 rows", r.StdOut);
        Assert.True(Percent(r.StdOut, "test accuracy top-1:") >= 0.99, r.StdOut);
    }

    [Fact]
    public void ProbeReportsMissingFilesAndUnknownLabels()
    {
        var (dir, train, test) = TsvSet(2, 1);
        var missing = CliRunner.Run(null, "probe", "--model", EvaluationData.Model, "--train", train, "--test", Path.Combine(dir, "nope.tsv"));
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("nope.tsv", missing.StdErr);

        var badLabel = EvaluationData.WriteTsv(Path.Combine(dir, "bad.tsv"), [(Path.Combine("red_square", "red_square_2_0.png"), "purple_square")]);
        var unknown = CliRunner.Run(null, "probe", "--model", EvaluationData.Model, "--train", train, "--test", badLabel);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("'purple_square'", unknown.StdErr);

        var noModel = CliRunner.Run(null, "probe", "--train", train, "--test", test);
        Assert.Equal(1, noModel.ExitCode);
        Assert.Contains("--model", noModel.StdErr);
    }

    [Fact]
    public void Probe_checks_the_test_labels_before_embedding_with_skip_bad_files()
    {
        // A training image that is not an image, and a test label that no training row has: with --skip-bad-files the label
        // error must still come before the model is loaded and any image is embedded (as without the flag).
        var (dir, train, _) = TsvSet(2, 1);
        var broken = Path.Combine(dir, "red_square", "red_square_1_0.png");
        File.WriteAllText(broken, "not a png");
        var badLabel = EvaluationData.WriteTsv(Path.Combine(dir, "bad.tsv"), [(Path.Combine("green_square", "green_square_2_0.png"), "purple_square")]);

        // Before: the labels were checked only after the embedding pass ('skipped ...', 'CLIP: embedded ...' came first).
        var r = CliRunner.Run(null, ["probe", "--model", EvaluationData.Model, "--train", train, "--test", badLabel, "--skip-bad-files", .. FastSweep]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{badLabel}: label 'purple_square' of '{Path.Combine(dir, "green_square", "green_square_2_0.png")}' is not a class of the training set.", r.StdErr);
        Assert.DoesNotContain("CLIP: embedded", r.StdErr);
        Assert.DoesNotContain("red_square_1_0.png", r.StdErr);
        Assert.DoesNotContain("Loaded CLIP model", r.StdErr);

        // The check after the pass stays: a class whose every training image was left out is no class.
        var onlyRed = Path.Combine(dir, "red_square", "red_square_1_1.png");
        File.WriteAllText(onlyRed, "not a png either");
        var red = EvaluationData.WriteTsv(Path.Combine(dir, "red.tsv"), [(Path.Combine("red_square", "red_square_2_0.png"), "red_square")]);
        var emptied = CliRunner.Run(null, ["probe", "--model", EvaluationData.Model, "--train", train, "--test", red, "--skip-bad-files", .. FastSweep]);
        Assert.Equal(1, emptied.ExitCode);
        Assert.Contains("CLIP: embedded", emptied.StdErr);
        Assert.Contains($"{red}: label 'red_square' of '{Path.Combine(dir, "red_square", "red_square_2_0.png")}' is not a class of the training set.", emptied.StdErr);
    }

    [Theory]
    [InlineData("clip")]
    [InlineData("resnet18")]
    public void Probe_skips_bad_files_in_its_embedding_pass(string features)
    {
        var (dir, train, test) = TsvSet(3, 1);
        var broken = Path.Combine(dir, "red_square", "red_square_1_0.png");
        File.WriteAllText(broken, "not a png");
        string[] args = ["probe", "--model", EvaluationData.Model, "--features", features, "--train", train, "--test", test, .. FastSweep];
        var failed = CliRunner.Run(null, args);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("red_square_1_0.png", failed.StdErr);

        var r = CliRunner.Run(null, [.. args, "--skip-bad-files"]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"skipped '{broken}': ", r.StdErr);
        Assert.Contains("3 classes, 8 train, 3 test images", r.StdOut);
        Assert.Contains(features == "clip" ? "CLIP: embedded 8 images" : "ResNet-18: featurised 11 images", r.StdErr);

        // A set with no readable image is an error naming it.
        File.WriteAllText(Path.Combine(dir, "none.tsv"), $"path\tlabel\n{broken}\tred_square\n");
        var none = CliRunner.Run(null, ["probe", "--model", EvaluationData.Model, "--features", features, "--train", train, "--test", Path.Combine(dir, "none.tsv"), "--skip-bad-files", .. FastSweep]);
        Assert.Equal(1, none.ExitCode);
        Assert.Contains($"{Path.Combine(dir, "none.tsv")}: none of its 1 images could be read.", none.StdErr);
    }

    [Fact]
    public void CompareWritesTheReportAndOnePlotPerDataSet()
    {
        var (tsvDir, _, _) = TsvSet();
        var foldersDir = Fixtures.NewTempDir("cli-eval-folders");
        var classFolders = Path.Combine(foldersDir, "folders");
        EvaluationData.WriteImages(classFolders, 8, seed: 3);
        var outDir = Path.Combine(Fixtures.NewTempDir("cli-eval-out"), "report");

        var r = CliRunner.Run(null, ["compare", "--model", EvaluationData.Model, "--data", tsvDir, "--data", classFolders, "--out", outDir,
            "--shots", "1,2,4", "--seeds", "2", "--templates", "single", .. FastSweep]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        // Issue 13: the ResNet-18 probe is opt-in (--resnet18), as its help says; before, it ran unless --resnet18 false.
        Assert.DoesNotContain("ResNet-18", r.StdErr);
        var rows = r.Lines.Where(l => l.StartsWith("| ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(3, rows.Length); // header + two data sets
        Assert.Contains("| 1-shot | 2-shot | 4-shot |", rows[0]);
        var tsvName = Path.GetFileName(tsvDir);
        Assert.StartsWith($"| {tsvName} | 3 | 18 | 9 |", rows[1]);
        // 8 per class, 30% test: round(2.4) = 2 test, 6 train per class.
        Assert.StartsWith("| folders | 3 | 18 | 6 |", rows[2]);

        var report = File.ReadAllText(Path.Combine(outDir, "report.md"));
        Assert.Contains(rows[1], report);
        Assert.Contains($"![{tsvName}]({tsvName}.png)", report);
        foreach (var png in new[] { $"{tsvName}.png", "folders.png" })
        {
            var path = Path.Combine(outDir, png);
            Assert.True(new FileInfo(path).Length > 1000, png);
            Assert.Equal((800, 560), EvaluationData.PngSize(path));
        }
    }

    /// <summary>
    /// The one test of the supervised-ImageNet baseline: ResNet-18 features through ML.NET's image transforms and the
    /// ONNX files of the Microsoft.ML.DnnImageFeaturizer.ResNet18 package, probed like CLIP's.
    /// </summary>
    [Fact]
    public void CompareWithTheResNet18Baseline()
    {
        var (tsvDir, _, _) = TsvSet(4, 2);
        var outDir = Fixtures.NewTempDir("cli-eval-resnet");
        var r = CliRunner.Run(null, ["compare", "--model", EvaluationData.Model, "--data", tsvDir, "--out", outDir,
            "--shots", "1", "--seeds", "1", "--templates", "single", "--resnet18", .. FastSweep]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("ResNet-18: featurised 18 images", r.StdErr);
        var row = r.Lines.Single(l => l.StartsWith($"| {Path.GetFileName(tsvDir)} |", StringComparison.Ordinal));
        var cells = row.Split('|', StringSplitOptions.TrimEntries);
        // cells: "", name, classes, train, test, zs1, zs5, clip probe, resnet probe, 1-shot, ""
        Assert.Matches(@"^[0-9.]+% \(λ=", cells[8]);
        Assert.True(double.Parse(cells[8][..cells[8].IndexOf('%')], CultureInfo.InvariantCulture) >= 99, row);
    }

    [Fact]
    public void Compare_checks_every_data_set_before_loading_the_model()
    {
        var (tsvDir, _, _) = TsvSet(2, 1);
        var outDir = Path.Combine(Fixtures.NewTempDir("cli-eval-absent"), "report");
        var absent = Path.Combine(Path.GetDirectoryName(outDir)!, "absent");
        var r = CliRunner.Run(null, ["compare", "--model", EvaluationData.Model, "--data", tsvDir, "--data", absent, "--out", outDir, .. FastSweep]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"--data '{absent}': folder does not exist", r.StdErr);
        Assert.DoesNotContain("Loaded CLIP model", r.StdErr);
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void Compare_checks_the_test_labels_before_embedding_any_image()
    {
        // A training image that is not an image: the embedding pass would fail on it (without --skip-bad-files). The label
        // error must come first, so the broken file is never reached.
        var (dir, train, _) = TsvSet(2, 1);
        var broken = Path.Combine(dir, "red_square", "red_square_1_0.png");
        File.WriteAllText(broken, "not a png");
        var badLabel = EvaluationData.WriteTsv(Path.Combine(dir, "bad.tsv"), [(Path.Combine("green_square", "green_square_2_0.png"), "purple_square")]);
        var outDir = Path.Combine(Fixtures.NewTempDir("cli-eval-label"), "report");

        // Before: the set's images were embedded first, so the broken training image was reported and the label never was.
        var r = CliRunner.Run(null, ["compare", "--model", EvaluationData.Model, "--data", $"{train},{badLabel}", "--out", outDir, .. FastSweep]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{badLabel}: label 'purple_square' of '{Path.Combine(dir, "green_square", "green_square_2_0.png")}' is not a class of the training set.", r.StdErr);
        Assert.DoesNotContain("red_square_1_0.png", r.StdErr);
        Assert.DoesNotContain("Loaded CLIP model", r.StdErr);
        Assert.False(Directory.Exists(outDir));

        // --skip-bad-files cannot make an unseen label a class (leaving images out only removes classes): refused as early.
        var skipping = CliRunner.Run(null, ["compare", "--model", EvaluationData.Model, "--data", $"{train},{badLabel}", "--out", outDir, "--skip-bad-files", .. FastSweep]);
        Assert.Equal(1, skipping.ExitCode);
        Assert.Contains("label 'purple_square'", skipping.StdErr);
        Assert.DoesNotContain("CLIP: embedded", skipping.StdErr);
    }

    [Fact]
    public void A_data_set_that_fails_late_keeps_the_results_of_the_finished_ones()
    {
        // A set whose TSV and files are all there, but one image is not an image: found only when its features are computed.
        var (good, _, _) = TsvSet(3, 2);
        var (bad, _, _) = TsvSet(3, 2);
        var broken = Path.Combine(bad, "red_square", "red_square_2_0.png");
        File.WriteAllText(broken, "not a png");
        var outDir = Path.Combine(Fixtures.NewTempDir("cli-eval-late"), "report");
        string[] args = ["compare", "--model", EvaluationData.Model, "--data", good, "--data", bad, "--out", outDir, "--shots", "1", "--seeds", "1", "--templates", "single", .. FastSweep];

        // Before: exit 1 after finishing the first set, with its plot left and no report.md or results.json.
        var r = CliRunner.Run(null, args);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"data set '{Path.GetFileName(bad)}'", r.StdErr);
        Assert.Contains("red_square_2_0.png", r.StdErr);
        Assert.Contains("the results of the 1 finished data set(s)", r.StdErr);
        Assert.Contains($"| {Path.GetFileName(good)} | 3 |", File.ReadAllText(Path.Combine(outDir, "report.md")));
        Assert.Single(System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(outDir, "results.json"))).RootElement.EnumerateArray());

        // --skip-bad-files leaves the image out, names it, and compares both sets.
        var skipped = CliRunner.Run(null, [.. args, "--skip-bad-files"]);
        Assert.True(skipped.ExitCode == 0, skipped.StdErr);
        Assert.Contains($"skipped '{broken}'", skipped.StdErr);
        Assert.Contains($"| {Path.GetFileName(bad)} | 3 | 9 | 5 |", skipped.StdOut);
    }

    [Fact]
    public async Task Skip_bad_files_decodes_each_image_once()
    {
        if (OperatingSystem.IsWindows()) return; // a named pipe as an image file: Unix only
        var dir = Fixtures.NewTempDir("cli-eval-once");
        var images = EvaluationData.WriteImages(dir, 1, seed: 5);
        var broken = Path.Combine(dir, "broken.png");
        File.WriteAllText(broken, "not a png");
        // A named pipe that gives a good image to one reader only: a second read (a second decode) of it waits for a writer
        // that never comes.
        var once = Path.Combine(dir, "once.png");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", [once]))
            mkfifo.WaitForExit();
        Assert.True(File.Exists(once), "mkfifo failed");
        var good = File.ReadAllBytes(Path.Combine(dir, images[0].Path));
        var writer = new Thread(() =>
        {
            try
            {
                using var pipe = new FileStream(once, FileMode.Open, FileAccess.Write); // waits for a reader
                pipe.Write(good);
            }
            catch (IOException)
            {
                // the reader went away (the clean-up below)
            }
        }) { IsBackground = true };
        writer.Start();
        var pairs = EvaluationData.WriteTsv(Path.Combine(dir, "pairs.tsv"),
            [.. images.Select(i => (i.Path, $"a {i.Label.Replace('_', ' ')}")), (broken, "nothing"), (once, "a red square again")]);

        // Before: --skip-bad-files decoded every image to find the bad ones, then again to embed the good ones: the second
        // read of the pipe never ended.
        using var process = CliRunner.Start(CliRunner.ToolPath, ["eval-retrieval", "--model", EvaluationData.Model, "--pairs", pairs, "--k", "1", "--skip-bad-files"]);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExit(TimeSpan.FromSeconds(60));
        if (!exited)
            process.Kill(entireProcessTree: true);
        if (!writer.Join(TimeSpan.FromSeconds(10)))
            using (new FileStream(once, FileMode.Open, FileAccess.Read)) { } // the pipe was never opened: lets the writer end
        writer.Join();
        Assert.True(exited, "clip read an image twice (it still waited for the pipe after 60 s).");
        var r = new CliResult(process.ExitCode, await stdout, await stderr);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"skipped '{broken}': ", r.StdErr);
        Assert.DoesNotContain("once.png", r.StdErr);
        Assert.Contains("4 images, 4 captions", r.StdOut);
    }

    [Fact]
    public void Retrieval_with_no_readable_image_counts_images_not_captions()
    {
        // Two images, three captions each, neither image readable.
        var dir = Fixtures.NewTempDir("cli-eval-unreadable");
        var rows = new List<(string Path, string Label)>();
        foreach (var name in new[] { "a.png", "b.png" })
        {
            File.WriteAllText(Path.Combine(dir, name), "not a png");
            rows.AddRange(new[] { "one", "two", "three" }.Select(c => (name, $"caption {c} of {name}")));
        }
        var pairs = EvaluationData.WriteTsv(Path.Combine(dir, "pairs.tsv"), rows);

        // Before: "none of its 6 images could be read" (the caption rows).
        var r = CliRunner.Run(null, "eval-retrieval", "--model", EvaluationData.Model, "--pairs", pairs, "--skip-bad-files");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{pairs}: none of its 2 images could be read.", r.StdErr);
    }

    [Fact]
    public void RetrievalRecallReachesOneAtKEqualToTheImageCount()
    {
        var dir = Fixtures.NewTempDir("cli-eval-pairs");
        var images = EvaluationData.WriteImages(dir, 2, seed: 4);
        var pairs = Path.Combine(dir, "pairs.tsv");
        // Two captions per image: 6 images, 12 captions.
        File.WriteAllLines(pairs, images.SelectMany(i => new[] { $"{i.Path}\ta {i.Label.Replace('_', ' ')}", $"{i.Path}\ta photo of a {i.Label.Replace('_', ' ')}" }));
        var r = CliRunner.Run(null, "eval-retrieval", "--model", EvaluationData.Model, "--pairs", pairs, "--k", "1,6");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("6 images, 12 captions", r.StdOut);
        Assert.Contains("| direction | R@1 | R@6 |", r.StdOut);
        var i2t = r.Lines.Single(l => l.StartsWith("| image → text", StringComparison.Ordinal));
        var t2i = r.Lines.Single(l => l.StartsWith("| text → image", StringComparison.Ordinal));
        Assert.EndsWith("100.0% |", t2i); // 6 images: every caption's image is in its top 6
        Assert.Matches(@"^\| image → text \| [0-9.]+% \| [0-9.]+% \|$", i2t);

        File.AppendAllText(pairs, "missing.png\tno such image\n");
        var bad = CliRunner.Run(null, "eval-retrieval", "--model", EvaluationData.Model, "--pairs", pairs);
        Assert.Equal(1, bad.ExitCode);
        Assert.Contains("missing.png", bad.StdErr);
    }
}
