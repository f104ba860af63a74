namespace Microsoft.ML.Clip.Datasets;

/// <summary>Finds the data folder and reports missing files in words that say how to get them.</summary>
public static class DataPaths
{
    /// <summary>The environment variable that overrides the data folder (also read by <c>build/fetch-data.sh</c>).</summary>
    public const string EnvironmentVariable = "CLIP_DATA_DIR";

    /// <summary>The data folder: <c>CLIP_DATA_DIR</c> when set, otherwise <c>data/</c> beside the first
    /// <c>Microsoft.ML.Clip.sln</c> found above the application's folder or the current folder; null when neither exists.</summary>
    public static string? FindDefault()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment))
            return fromEnvironment;
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Microsoft.ML.Clip.sln")))
                {
                    var data = Path.Combine(dir.FullName, "data");
                    return Directory.Exists(data) ? data : null;
                }
            }
        }
        return null;
    }

    internal static string CacheDirectory(string dataDirectory, DatasetOptions options) =>
        options.CacheDirectory ?? Path.Combine(dataDirectory, "cache");

    internal static void RequireDirectory(string path)
    {
        if (!Directory.Exists(path))
            throw new DirectoryNotFoundException($"Data folder '{path}' not found; run build/fetch-data.sh to download the data sets.");
    }

    internal static void RequireFile(string path)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException($"Data file '{path}' not found; run build/fetch-data.sh to download the data sets.", path);
    }
}
