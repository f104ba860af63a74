using System.CommandLine;
using System.Diagnostics;
using Microsoft.ML.Clip.Datasets;

namespace ClipData;

/// <summary><c>clip-data prepare --out DIR [--data DIR] [--quick]</c>: writes the main job's plain files.</summary>
internal static class PrepareCommand
{
    public static Command Create()
    {
        var data = new Option<string?>("--data") { Description = $"The data folder (default: ${DataPaths.EnvironmentVariable}, else data/ beside the solution)." };
        var output = new Option<string>("--out") { Description = "Output folder: train/pairs.tsv and eval/<set>/{train,test}.tsv, templates.txt.", Required = true };
        var quick = new Option<bool>("--quick") { Description = "Small slices (a couple of minutes end to end)." };
        var seed = new Option<int>("--seed") { Description = "Seed of every sample and split.", DefaultValueFactory = _ => 0 };
        var command = new Command("prepare", "Write training pairs and evaluation sets of the main job as TSV files (and PNGs).") { data, output, quick, seed };
        command.SetAction(parse =>
        {
            try
            {
                var dataDir = parse.GetValue(data) ?? DataPaths.FindDefault()
                    ?? throw new DirectoryNotFoundException($"No data folder: pass --data, set {DataPaths.EnvironmentVariable} or run build/fetch-data.sh.");
                var sizes = parse.GetValue(quick) ? PrepareSizes.Quick : new PrepareSizes();
                var watch = Stopwatch.StartNew();
                new MainJobPreparation(Path.GetFullPath(dataDir), Path.GetFullPath(parse.GetValue(output)!), sizes, parse.GetValue(seed),
                    line => Console.WriteLine(line)).Run();
                Console.WriteLine($"prepared in {watch.Elapsed.TotalSeconds:F1} s");
                return 0;
            }
            catch (Exception e) when (e is IOException or InvalidDataException or ArgumentException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
