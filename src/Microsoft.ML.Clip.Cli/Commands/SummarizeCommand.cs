using ClipCli.Evaluation;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.Evaluation;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip summarize --run NAME=DIR ... --out report.md</c>: the results of several <c>clip compare</c> runs (one per
/// model) in one table, each data set's rows next to each other, so models read side by side.
/// </summary>
internal static class SummarizeCommand
{
    public static Command Create()
    {
        var runs = new Option<string[]>("--run")
        {
            Description = "NAME=DIR (repeatable): a model's name and the --out folder of its `clip compare` run.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var output = new Option<string>("--out", "-o") { Description = "The markdown file to write.", Required = true };
        var title = new Option<string>("--title") { Description = "The report's heading.", DefaultValueFactory = _ => "CLIP models compared" };
        var command = new Command("summarize", "Put the results of several `clip compare` runs side by side in one markdown table.") { runs, output, title };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var loaded = parse.GetValue(runs)!.Select(Load).ToList();
            // Data sets in the order of the first run; each model's row under it.
            var setNames = loaded.SelectMany(r => r.Results.Select(x => x.Name)).Distinct().ToList();
            var rows = setNames.SelectMany(set => loaded
                .Select(run => run.Results.FirstOrDefault(x => x.Name == set) is { } found ? found with { Name = $"{set} — {run.Name}" } : null)
                .OfType<DatasetComparison>()).ToList();
            var table = ComparisonReport.ToMarkdown(rows);
            var text = new StringBuilder()
                .AppendLine($"# {parse.GetValue(title)}").AppendLine()
                .AppendJoin(Environment.NewLine, loaded.Select(r => $"- **{r.Name}**: [{r.Directory}/report.md]({Path.GetRelativePath(Path.GetDirectoryName(Path.GetFullPath(parse.GetValue(output)!))!, Path.Combine(r.Directory, "report.md"))}) (details, λ sweeps, plots)"))
                .AppendLine().AppendLine()
                .Append(table);
            File.WriteAllText(parse.GetValue(output)!, text.ToString());
            Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static (string Name, string Directory, List<DatasetComparison> Results) Load(string spec)
    {
        var eq = spec.IndexOf('=');
        if (eq <= 0 || eq == spec.Length - 1)
            throw new ArgumentException($"--run '{spec}': expected NAME=DIR.");
        var (name, dir) = (spec[..eq], spec[(eq + 1)..]);
        var path = Path.Combine(dir, CompareCommand.ResultsFileName);
        if (!File.Exists(path))
            throw new FileNotFoundException($"--run '{spec}': '{path}' does not exist (run `clip compare --out {dir}` first).", path);
        try
        {
            return (name, dir, JsonSerializer.Deserialize<List<DatasetComparison>>(File.ReadAllText(path), CompareCommand.JsonOptions)
                ?? throw new InvalidDataException($"'{path}' is empty."));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}' is not a results file of `clip compare`: {e.Message}", e);
        }
    }
}
