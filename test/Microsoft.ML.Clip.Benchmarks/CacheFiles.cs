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

    public static void Copy(string source, string target)
        => AtomicFile.Write(target, stream => { using var input = File.OpenRead(source); input.CopyTo(stream); });
}
