using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>
/// Reaches the <see cref="IHostEnvironment"/> behind a <see cref="TransformsCatalog"/> for logging.
/// ML.NET keeps it internal (<c>CatalogUtils</c>); this reads the catalog's private field by reflection
/// (a test guards it) and logs nothing when that fails. The one route to it in the packages.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (Training/ClipTrainerCatalog finds the trainer's environment here)
internal static class ClipEnvironment
{
    private static readonly FieldInfo? EnvField = typeof(TransformsCatalog).GetField("_env", BindingFlags.NonPublic | BindingFlags.Instance);

    /// <summary>The catalog's environment, or null.</summary>
    public static IHostEnvironment? Of(TransformsCatalog catalog) => EnvField?.GetValue(catalog) as IHostEnvironment;

    /// <summary>
    /// The context's <c>GpuDeviceId</c> and <c>FallbackToCpu</c> (an <see cref="MLContext"/> passes them to its
    /// internal environment, which the catalog holds; read by name as ML.NET exposes no interface for them).
    /// </summary>
    public static (int? GpuDeviceId, bool FallbackToCpu) GpuSettings(IHostEnvironment? env)
    {
        if (env is MLContext context)
            return (context.GpuDeviceId, context.FallbackToCpu);
        var type = env?.GetType();
        var gpu = type?.GetProperty("GpuDeviceId", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(env) as int?;
        var fallback = type?.GetProperty("FallbackToCpu", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)?.GetValue(env) as bool?;
        return (gpu, fallback ?? false);
    }

    /// <summary>A logger writing informational messages to <paramref name="env"/>'s log under <paramref name="component"/>.</summary>
    public static Action<string>? Logger(IHostEnvironment? env, string component)
    {
        if (env is null)
            return null;
        var host = env.Register("Microsoft.ML.Clip." + component);
        return message =>
        {
            using var ch = host.Start(component);
            ch.Info(MessageSensitivity.None, message);
        };
    }
}
