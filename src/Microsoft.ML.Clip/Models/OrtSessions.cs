using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Clip.Models;

/// <summary>
/// Creates ONNX Runtime sessions on CUDA when asked and possible, else on the CPU. Works with both
/// native packages: the CPU package has no CUDA entry point (<see cref="EntryPointNotFoundException"/>),
/// the GPU package without CUDA libraries fails when the session is created (<see cref="OnnxRuntimeException"/>).
/// </summary>
internal static class OrtSessions
{
    private static readonly Dictionary<int, string?> CudaProbe = [];

    /// <summary>Creates a session over the serialised <paramref name="model"/>; <paramref name="provider"/> says where it runs.</summary>
    public static InferenceSession Create(byte[] model, string origin, int? intraOpThreads, int? gpuDeviceId, bool fallbackToCpu,
        Action<string>? log, out string provider)
        => Create(options => new InferenceSession(model, options), origin, intraOpThreads, gpuDeviceId, fallbackToCpu, log, out provider);

    /// <summary>
    /// Creates a session over the ONNX file at <paramref name="path"/>, read by ONNX Runtime itself (no managed copy of
    /// a model that may weigh hundreds of megabytes); <paramref name="provider"/> says where it runs. <paramref name="origin"/>
    /// names the file in messages (default: the path; the path of a checked open file is <c>/proc/self/fd/N</c>).
    /// </summary>
    public static InferenceSession Create(string path, int? intraOpThreads, int? gpuDeviceId, bool fallbackToCpu,
        Action<string>? log, out string provider, string? origin = null)
        => Create(options => new InferenceSession(path, options), origin ?? path, intraOpThreads, gpuDeviceId, fallbackToCpu, log, out provider);

    private static InferenceSession Create(Func<SessionOptions, InferenceSession> open, string origin, int? intraOpThreads, int? gpuDeviceId,
        bool fallbackToCpu, Action<string>? log, out string provider)
    {
        if (gpuDeviceId is int unusable && fallbackToCpu && KnownUnusable(unusable, out var known))
        {
            log?.Invoke($"CUDA device {unusable} is not usable for '{origin}' ({known}); running on the CPU.");
        }
        else if (gpuDeviceId is int device)
        {
            SessionOptions? options = null;
            try
            {
                options = NewOptions(intraOpThreads);
                // ONNX Runtime logs a failed CUDA provider load to stderr itself, raw; the message below says it once, plainly.
                using var quiet = QuietOrtLog();
                options.AppendExecutionProvider_CUDA(device);
                var session = open(options);
                provider = $"CUDA:{device}";
                return session;
            }
            catch (Exception e) when (IsCudaUnavailable(e))
            {
                if (!fallbackToCpu)
                    throw new InvalidOperationException($"Cannot run '{origin}' on CUDA device {device}: {e.Message} (set fallbackToCpu to run on the CPU).", e);
                lock (CudaProbe) CudaProbe[device] = $"{e.GetType().Name}: {FirstLine(e.Message)}";
                log?.Invoke($"CUDA device {device} is not usable for '{origin}' ({e.GetType().Name}: {FirstLine(e.Message)}); running on the CPU.");
            }
            finally
            {
                options?.Dispose();
            }
        }
        using var cpu = NewOptions(intraOpThreads);
        provider = "CPU";
        return open(cpu);
    }

    /// <summary>
    /// One call of <paramref name="session"/>: <paramref name="data"/> (wrapped, not copied: ONNX Runtime reads the array
    /// during the call) as <paramref name="input"/> of <paramref name="shape"/>; <paramref name="output"/> copied to
    /// <paramref name="destination"/>, whose length it must have.
    /// </summary>
    public static void RunInto<T>(InferenceSession session, string origin, string input, string output, Memory<T> data, long[] shape, Span<float> destination)
        where T : unmanaged
    {
        using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, data, shape);
        using var results = session.Run(RunOptionsInstance, [input], [value], [output]);
        var values = results[0].GetTensorDataAsSpan<float>();
        if (values.Length != destination.Length)
            throw new InvalidDataException($"'{origin}' returned {values.Length} values for {shape[0]} items, expected {destination.Length}.");
        values.CopyTo(destination);
    }

    private static readonly RunOptions RunOptionsInstance = new();

    /// <summary>
    /// The GPU device id to give ML.NET's <c>ApplyOnnxModel</c>: <paramref name="gpuDeviceId"/> when CUDA works,
    /// null (CPU) when it does not and <paramref name="fallbackToCpu"/> is set; throws otherwise. ML.NET itself
    /// only catches <see cref="OnnxRuntimeException"/>, not the CPU package's missing entry point.
    /// </summary>
    public static int? ResolveGpuForMLNet(int? gpuDeviceId, bool fallbackToCpu, Action<string>? log)
    {
        if (gpuDeviceId is not int device)
            return null;
        string? failure;
        lock (CudaProbe)
        {
            if (!CudaProbe.TryGetValue(device, out failure))
            {
                failure = ProbeCuda(device);
                CudaProbe[device] = failure;
            }
        }
        if (failure is null)
            return device;
        if (!fallbackToCpu)
            throw new InvalidOperationException($"CUDA device {device} is not usable: {failure} (set fallbackToCpu to run on the CPU).");
        log?.Invoke($"CUDA device {device} is not usable ({failure}); running on the CPU.");
        return null;
    }

    // A device that failed once in this process is not tried again: the CPU is used at once.
    private static bool KnownUnusable(int device, out string? failure)
    {
        lock (CudaProbe) return CudaProbe.TryGetValue(device, out failure) && failure is not null;
    }

    /// <summary>Raises ONNX Runtime's own log threshold to fatal until disposed (its environment logger writes to stderr).</summary>
    private static IDisposable QuietOrtLog()
    {
        var env = OrtEnv.Instance();
        var level = env.EnvLogLevel;
        env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        return new Restore(() => env.EnvLogLevel = level);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        public void Dispose() => undo();
    }

    private static string? ProbeCuda(int device)
    {
        // A one-node graph is enough to make ONNX Runtime load the CUDA provider.
        var probe = Graphs.OnnxGraphBuilder.CreateModel(ProbeGraph(), 17);
        using var quiet = QuietOrtLog();
        try
        {
            using var options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(device);
            using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(probe), options);
            return null;
        }
        catch (Exception e) when (IsCudaUnavailable(e))
        {
            return $"{e.GetType().Name}: {FirstLine(e.Message)}";
        }
    }

    private static global::Onnx.GraphProto ProbeGraph()
    {
        var g = new global::Onnx.GraphProto { Name = "probe" };
        g.Input.Add(Graphs.OnnxGraphBuilder.Value("x", global::Onnx.TensorProto.Types.DataType.Float, 1));
        g.Node.Add(Graphs.OnnxGraphBuilder.CreateNode("Identity", "y", ["x"]));
        g.Output.Add(Graphs.OnnxGraphBuilder.Value("y", global::Onnx.TensorProto.Types.DataType.Float, 1));
        return g;
    }

    private static SessionOptions NewOptions(int? intraOpThreads)
    {
        var options = new SessionOptions();
        if (intraOpThreads is int n)
            options.IntraOpNumThreads = n;
        return options;
    }

    private static bool IsCudaUnavailable(Exception e)
        => e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException;

    private static string FirstLine(string message)
    {
        var i = message.IndexOf('\n');
        return i < 0 ? message : message[..i].TrimEnd();
    }
}
