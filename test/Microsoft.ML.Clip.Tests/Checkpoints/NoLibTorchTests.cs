using System.Reflection;
using Microsoft.ML.Clip.Checkpoints;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>
/// Checkpoint reading and conversion live in the inference package so that they need no libtorch: neither the package
/// nor anything it loads references TorchSharp. (The <c>clip convert</c> test without libtorch is in the CLI tests.)
/// </summary>
public class NoLibTorchTests
{
    [Fact]
    public void The_inference_assembly_and_its_dependencies_reference_no_TorchSharp()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<Assembly>([typeof(ClipModelConverter).Assembly]);
        while (pending.Count > 0)
        {
            var assembly = pending.Dequeue();
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                Assert.False(reference.Name!.Contains("TorchSharp", StringComparison.OrdinalIgnoreCase),
                    $"{assembly.GetName().Name} references {reference.Name}");
                if (!seen.Add(reference.Name)) continue;
                try
                {
                    pending.Enqueue(Assembly.Load(reference));
                }
                catch (FileNotFoundException)
                {
                    // An optional dependency that is not deployed here cannot be TorchSharp (checked above by name).
                }
            }
        }
        Assert.Contains("Microsoft.ML.OnnxRuntime", seen);   // the closure was really walked
        // This test project converts checkpoints and references no TorchSharp package: none is deployed beside it.
        Assert.False(File.Exists(Path.Combine(AppContext.BaseDirectory, "TorchSharp.dll")));
    }
}
