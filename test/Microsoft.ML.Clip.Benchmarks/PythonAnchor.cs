using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace Microsoft.ML.Clip.Benchmarks;

/// <summary>
/// A Python anchor (build/bench/anchors.py) running as a long-lived child process, driven one pass at a time so that its
/// passes alternate with the .NET passes they are compared with. Debian's /usr/bin/python3 with python3-torch et al.;
/// the BLAS set-up that makes PyTorch and numpy a fair anchor is applied to this child only: OpenBLAS (OpenMP build; the
/// folder build/bench/openblas.sh gives in CLIP_BENCH_OPENBLAS_DIR, else the installed package's) is put first on the
/// library path (Debian's default reference BLAS is ~100x slower) and, on AVX-512 CPUs that OpenBLAS 0.3.21 does not
/// recognise, OPENBLAS_CORETYPE=SKYLAKEX.
/// </summary>
internal sealed class PythonAnchor : IDisposable
{
    public const string Python = "/usr/bin/python3";
    // build/bench/openblas.sh's answer (the installed package or one unpacked under data/bench), else the installed one.
    private static readonly string OpenBlasDir = Environment.GetEnvironmentVariable("CLIP_BENCH_OPENBLAS_DIR") is { Length: > 0 } dir
        ? dir : "/usr/lib/x86_64-linux-gnu/openblas-openmp";
    private readonly Process _process;

    private PythonAnchor(Process process) => _process = process;

    /// <summary>The anchors script, found from the repository root (the benchmark runs from there or below).</summary>
    public static string Script => Path.Combine(RepositoryRoot(), "build", "bench", "anchors.py");

    /// <summary>Why the anchors cannot run here (null when they can): Python or a package missing.</summary>
    public static string? Unavailable(params string[] modules)
    {
        if (!File.Exists(Python))
            return $"{Python} not found";
        var check = Process.Start(new ProcessStartInfo(Python, ["-c", $"import {string.Join(", ", modules)}"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        check.WaitForExit();
        return check.ExitCode == 0 ? null : $"Python modules missing ({string.Join(", ", modules)}): {check.StandardError.ReadToEnd().Trim().Split('\n')[^1]}";
    }

    /// <summary>Starts <c>anchors.py TASK ARGS</c> with <paramref name="threads"/> BLAS/OpenMP threads and waits until it is ready.</summary>
    public static PythonAnchor Start(string task, int threads, params string[] args)
    {
        var info = Configure(new ProcessStartInfo(Python, [Script, task, .. args]) { RedirectStandardInput = true, RedirectStandardOutput = true }, threads);
        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {Python}.");
        var anchor = new PythonAnchor(process);
        var line = process.StandardOutput.ReadLine();
        if (line != "ready")
        {
            anchor.Dispose();
            throw new InvalidOperationException($"anchors.py {task} did not start (said '{line}'); see its messages above.");
        }
        return anchor;
    }

    /// <summary>Runs <c>anchors.py TASK ARGS</c> to completion (e.g. an export) and returns its last output line.</summary>
    public static string RunOnce(string task, int threads, params string[] args)
    {
        var info = Configure(new ProcessStartInfo(Python, [Script, task, .. args]) { RedirectStandardOutput = true }, threads);
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {Python}.");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"anchors.py {task} failed (exit {process.ExitCode}).");
        return output.Trim().Split('\n')[^1];
    }

    /// <summary>One timed pass of at least <paramref name="seconds"/> in the child.</summary>
    public Pass Run(double seconds)
    {
        _process.StandardInput.WriteLine(string.Create(CultureInfo.InvariantCulture, $"run {seconds}"));
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("The Python anchor exited.");
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return new Pass(root.GetProperty("items").GetDouble(), root.GetProperty("seconds").GetDouble(), root.GetProperty("cpu_seconds").GetDouble());
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.StandardInput.WriteLine("quit");
                _process.StandardInput.Flush();
                if (!_process.WaitForExit(10_000))
                    _process.Kill(entireProcessTree: true);
            }
        }
        catch (IOException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    private static ProcessStartInfo Configure(ProcessStartInfo info, int threads)
    {
        info.UseShellExecute = false;
        string t = threads.ToString(CultureInfo.InvariantCulture);
        info.Environment["OMP_NUM_THREADS"] = t;
        info.Environment["OPENBLAS_NUM_THREADS"] = t;
        if (HasOpenBlas)
            info.Environment["LD_LIBRARY_PATH"] = OpenBlasDir + (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") is { Length: > 0 } p ? ":" + p : "");
        if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is null && CpuHasAvx512())
            info.Environment["OPENBLAS_CORETYPE"] = "SKYLAKEX";
        return info;
    }

    /// <summary>Whether OpenBLAS should be told SKYLAKEX: AVX-512F present (AVX2-only CPUs crash with it).</summary>
    public static bool CpuHasAvx512() => System.Runtime.Intrinsics.X86.Avx512F.IsSupported;

    /// <summary>Whether OpenBLAS is installed where <see cref="Configure"/> looks for it.</summary>
    public static bool HasOpenBlas => File.Exists(Path.Combine(OpenBlasDir, "libblas.so.3"));

    /// <summary>The repository root: the nearest folder above the working directory or this assembly holding build/bench.</summary>
    public static string RepositoryRoot()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "build", "bench", "anchors.py")))
                    return dir.FullName;
            }
        }
        throw new InvalidOperationException("build/bench/anchors.py not found above the working directory: run from the repository.");
    }
}
