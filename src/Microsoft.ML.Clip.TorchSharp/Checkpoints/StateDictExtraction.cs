using Microsoft.ML.Clip.TorchSharp.Checkpoints.Pickle;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>
/// Turns what a PyTorch file holds into a flat state dict with OpenAI's CLIP names: a plain state dict,
/// open_clip's training checkpoint (<c>{"state_dict": …}</c> or <c>{"model": …}</c>, DDP's <c>module.</c>
/// prefix) or a TorchScript module tree.
/// </summary>
internal static class StateDictExtraction
{
    // TorchScript CLIP archives keep these as tensor attributes; the reference build_model drops them too.
    private static readonly HashSet<string> NonWeightKeys = ["input_resolution", "context_length", "vocab_size"];

    private static readonly string[] WrapperKeys = ["state_dict", "model", "module"];

    private static readonly string[] DroppedPrefixes = ["module.", "_orig_mod."];

    /// <summary>The state dict in <paramref name="root"/> (the unpickled object of <paramref name="path"/>).</summary>
    /// <param name="root">The unpickled object.</param>
    /// <param name="path">The file, for errors.</param>
    /// <param name="stateNames">TorchScript: parameter and buffer names per class (see <see cref="TorchScriptClassInfo"/>);
    /// a class missing here contributes all its tensor attributes.</param>
    public static Dictionary<string, Tensor> FromRoot(object? root, string path, IReadOnlyDictionary<string, HashSet<string>>? stateNames = null)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            if (root is PickleObject module)
                Flatten(module, "", result, stateNames ?? new Dictionary<string, HashSet<string>>(), new HashSet<PickleObject>(ReferenceEqualityComparer.Instance));
            else
                CopyTensors(Unwrap(root, path), path, result);

            foreach (var prefix in DroppedPrefixes)
                if (result.Count > 0 && result.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal)))
                    Rename(result, k => k[prefix.Length..]);
            foreach (var key in NonWeightKeys)
                if (result.Remove(key, out var dropped)) dropped.Dispose();
            if (result.Count == 0)
                throw new InvalidDataException($"'{path}' holds no tensors.");
            DisposeUnused(root, result);
            return result;
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
    }

    private static OrderedDictionary<object, object?> Unwrap(object? root, string path)
    {
        if (root is not OrderedDictionary<object, object?> dict)
            throw new InvalidDataException($"'{path}' holds a {Describe(root)}, not a state dict (a dict of tensors).");
        // An open_clip / trainer checkpoint wraps the weights next to optimizer state and metadata.
        foreach (var key in WrapperKeys)
            if (!dict.Values.Any(v => v is Tensor) && dict.TryGetValue(key, out var inner) && inner is OrderedDictionary<object, object?> innerDict)
                return innerDict;
        return dict;
    }

    private static void CopyTensors(OrderedDictionary<object, object?> dict, string path, Dictionary<string, Tensor> result)
    {
        foreach (var (key, value) in dict)
        {
            var name = key as string ?? throw new InvalidDataException($"'{path}': state dict key '{key}' is not a string.");
            switch (value)
            {
                case Tensor t:
                    result[name] = t;
                    break;
                default:
                    throw new InvalidDataException($"'{path}': state dict entry '{name}' is a {Describe(value)}, not a tensor.");
            }
        }
    }

    private static void Flatten(PickleObject module, string prefix, Dictionary<string, Tensor> result,
        IReadOnlyDictionary<string, HashSet<string>> stateNames, HashSet<PickleObject> seen)
    {
        if (!seen.Add(module)) return;
        if (module.State is not OrderedDictionary<object, object?> attributes) return;
        stateNames.TryGetValue(module.Type.FullName, out var state);
        foreach (var (key, value) in attributes)
        {
            if (key is not string name) continue;
            switch (value)
            {
                case Tensor t when state is null || state.Contains(name):
                    result[prefix + name] = t;
                    break;
                case PickleObject child:
                    Flatten(child, prefix + name + ".", result, stateNames, seen);
                    break;
            }
        }
    }

    // Tensors the file holds besides the weights (optimizer state, TorchScript attributes) are released now
    // rather than left to the finalizer.
    private static void DisposeUnused(object? root, Dictionary<string, Tensor> kept)
    {
        var keep = new HashSet<object>(kept.Values, ReferenceEqualityComparer.Instance);
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<object?>();
        pending.Push(root);
        while (pending.Count > 0)
        {
            var item = pending.Pop();
            if (item is null || item is string || !seen.Add(item)) continue;
            switch (item)
            {
                case Tensor t:
                    if (!keep.Contains(t)) t.Dispose();
                    break;
                case PickleObject o:
                    pending.Push(o.State);
                    foreach (var a in o.Arguments) pending.Push(a);
                    break;
                case OrderedDictionary<object, object?> d:
                    foreach (var v in d.Values) pending.Push(v);
                    break;
                case byte[]:
                    break;
                case System.Collections.IEnumerable e:
                    foreach (var v in e) pending.Push(v);
                    break;
            }
        }
    }

    private static void Rename(Dictionary<string, Tensor> dict, Func<string, string> rename)
    {
        var items = dict.ToList();
        dict.Clear();
        foreach (var (k, v) in items) dict[rename(k)] = v;
    }

    private static string Describe(object? value) => value switch
    {
        null => "None",
        PickleObject o => o.ToString(),
        _ => value.GetType().Name,
    };
}
