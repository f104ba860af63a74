using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// Writes of the benchmark caches (data/bench-graph and friends): whole or nothing, through the product's
/// <see cref="AtomicFile"/>, because a cache file's mere existence makes the next run reuse it — a run killed mid-write
/// must not leave a truncated graph that later runs would time or fail on.
/// </summary>
internal static class CacheFiles
{
    public static void Write(string path, byte[] bytes) => AtomicFile.Write(path, stream => stream.Write(bytes));

    /// <summary>
    /// Whether what <paramref name="stamp"/> records is this build of the exporter: a cache made by older code (another
    /// graph layout) must be made again, not timed as if it were the current one. <see cref="Stamp"/> records it.
    /// </summary>
    public static bool MadeByThisExporter(string stamp) => File.Exists(stamp) && File.ReadAllText(stamp) == ExporterBuild;

    /// <summary>Records in <paramref name="stamp"/> that the cache beside it was made by this build of the exporter.</summary>
    public static void Stamp(string stamp) => Write(stamp, System.Text.Encoding.UTF8.GetBytes(ExporterBuild));

    private static string ExporterBuild => typeof(ClipModelConverter).Assembly.ManifestModule.ModuleVersionId.ToString();

    public static void Copy(string source, string target)
        => AtomicFile.Write(target, stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
}
