using Onnx;

namespace Microsoft.ML.Clip.Export;

/// <summary>Fresh value names that collide with nothing in a graph (the quantization passes add many).</summary>
internal sealed class UniqueNames(GraphProto graph)
{
    private readonly HashSet<string> _taken = graph.Node.SelectMany(n => n.Input.Concat(n.Output))
        .Concat(graph.Initializer.Select(t => t.Name)).Concat(graph.Input.Select(i => i.Name)).Concat(graph.Output.Select(o => o.Name))
        .ToHashSet(StringComparer.Ordinal);

    /// <summary><paramref name="name"/>, or <c>name__k</c> with the first free k.</summary>
    public string New(string name)
    {
        var candidate = name;
        for (int i = 1; !_taken.Add(candidate); i++)
            candidate = $"{name}__{i}";
        return candidate;
    }
}

/// <summary>Clean-up after a pass that replaced weights.</summary>
internal static class UnusedInitializers
{
    /// <summary>Removes the initializers no node reads any more (weights that were replaced) and their graph inputs.</summary>
    public static void Remove(GraphProto graph)
    {
        var used = graph.Node.SelectMany(n => n.Input).Concat(graph.Output.Select(o => o.Name)).ToHashSet(StringComparer.Ordinal);
        var unused = graph.Initializer.Where(t => !used.Contains(t.Name)).ToList();
        foreach (var t in unused)
            graph.Initializer.Remove(t);
        var names = unused.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var input in graph.Input.Where(i => names.Contains(i.Name)).ToList())
            graph.Input.Remove(input);
    }
}
