using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

public sealed partial class ClipTorchModel
{
    /// <summary>
    /// Copies <paramref name="stateDict"/> (OpenAI names, any floating dtype, e.g. float16) into this model's
    /// parameters and buffers, converting to their dtype. Every name must match and every shape agree;
    /// otherwise nothing is copied and a <see cref="StateDictMismatchException"/> lists all that is wrong.
    /// BatchNorm's <c>num_batches_tracked</c> is loaded when present and may be absent (it does not affect
    /// inference; it stays 0).
    /// </summary>
    /// <param name="stateDict">The weights by name.</param>
    /// <param name="source">Where the weights come from (a path), for the error message.</param>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var target = state_dict();
        var missing = target.Keys
            .Where(k => !stateDict.ContainsKey(k) && !k.EndsWith(".num_batches_tracked", StringComparison.Ordinal))
            .ToList();
        var unexpected = stateDict.Keys.Where(k => !target.ContainsKey(k)).ToList();
        var shapes = new List<string>();
        foreach (var (name, destination) in target)
        {
            if (!stateDict.TryGetValue(name, out var value)) continue;
            if (!destination.shape.SequenceEqual(value.shape))
                shapes.Add($"{name}: expected [{string.Join(", ", destination.shape)}], got [{string.Join(", ", value.shape)}]");
            else if (destination.is_floating_point() != value.is_floating_point())
                shapes.Add($"{name}: expected a {destination.dtype} tensor, got {value.dtype}");
        }
        if (missing.Count > 0 || unexpected.Count > 0 || shapes.Count > 0)
            throw new StateDictMismatchException(source, missing, unexpected, shapes);

        using var _ = no_grad();
        foreach (var (name, destination) in target)
            if (stateDict.TryGetValue(name, out var value))
                destination.copy_(value);
    }
}
