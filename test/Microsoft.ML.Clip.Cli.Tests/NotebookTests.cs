using Xunit;

namespace Microsoft.ML.Clip.Cli.Tests;

/// <summary>
/// Every notebook of <c>docs/notebooks</c> runs headless without a failing cell: the notebooks are documentation
/// that executes, and the ones that check numbers (reference embeddings, export round trips) throw when the library
/// breaks. New notebooks are picked up without changing this class.
/// </summary>
public class NotebookTests
{
    public static TheoryData<string> Notebooks() => new(NotebookRunner.Notebooks());

    // Guards the theory against finding nothing (a moved folder would otherwise run zero cases and pass).
    [Fact]
    public void The_notebook_folder_holds_the_documented_notebooks()
    {
        Assert.Superset(new HashSet<string> { "frozen-encoders.ipynb", "linear-probe.ipynb", "pretrained-checkpoint.ipynb", "training-a-clip.ipynb" }, NotebookRunner.Notebooks().ToHashSet());
    }

    [Theory]
    [MemberData(nameof(Notebooks))]
    public void Notebook_runs_headless_without_a_failing_cell(string notebook)
    {
        var run = NotebookRunner.Run(notebook, TimeSpan.FromMinutes(10));
        Assert.True(run.Succeeded,
            $"{notebook}: dotnet-repl exited with {run.ExitCode}; executed copy: {run.ExecutedCopy}\n"
            + (run.Errors.Count > 0 ? string.Join("\n", run.Errors) : run.Log));
        File.Delete(run.ExecutedCopy);
        Directory.Delete(Path.GetDirectoryName(run.ExecutedCopy)!);
    }

    [Fact]
    public void A_failing_cell_is_reported_with_its_position_and_error()
    {
        var dir = TestUtilities.Fixtures.NewTempDir("clip-notebook-errors");
        var path = Path.Combine(dir, "executed.ipynb");
        File.WriteAllText(path, """
            {"cells": [
              {"cell_type": "markdown", "metadata": {}, "source": ["# title"]},
              {"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "stream", "name": "stdout", "text": ["ok\n"]}], "source": ["Console.WriteLine(\"ok\");"]},
              {"cell_type": "code", "metadata": {}, "outputs": [{"output_type": "error", "ename": "Error", "evalue": "System.Exception: boom", "traceback": []}],
               "source": ["\n", "  throw new Exception(\"boom\");\n", "// more"]}
            ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
            """);
        var errors = NotebookRunner.ReadErrors(path);
        Directory.Delete(dir, recursive: true);
        var error = Assert.Single(errors);
        Assert.Equal(new NotebookCellError(2, "throw new Exception(\"boom\");", "System.Exception: boom"), error);
        Assert.Equal("code cell 2 (throw new Exception(\"boom\");): System.Exception: boom", error.ToString());
    }
}
