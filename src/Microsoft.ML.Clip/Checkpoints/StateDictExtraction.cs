using Microsoft.ML.Clip.Checkpoints.Pickle;

namespace Microsoft.ML.Clip.Checkpoints;

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
    public static Dictionary<string, StateTensor> FromRoot(object? root, string path, IReadOnlyDictionary<string, HashSet<string>>? stateNames = null)
    {
        var result = new Dictionary<string, StateTensor>(StringComparer.Ordinal);
        if (root is PickleObject module)
            Flatten(module, "", result, stateNames ?? new Dictionary<string, HashSet<string>>(), new HashSet<PickleObject>(ReferenceEqualityComparer.Instance));
        else
            CopyTensors(Unwrap(root, path), path, result);

        foreach (var prefix in DroppedPrefixes)
            if (result.Count > 0 && result.Keys.All(k => k.StartsWith(prefix, StringComparison.Ordinal)))
                Rename(result, k => k[prefix.Length..]);
        foreach (var key in NonWeightKeys)
            result.Remove(key);
        if (result.Count == 0)
            throw new InvalidDataException($"'{path}' holds no tensors.");
        return result;
    }

    private static OrderedDictionary<object, object?> Unwrap(object? root, string path)
    {
        if (root is not OrderedDictionary<object, object?> dict)
            throw new InvalidDataException($"'{path}' holds a {Describe(root)}, not a state dict (a dict of tensors).");
        // An open_clip / trainer checkpoint wraps the weights next to optimizer state and metadata.
        foreach (var key in WrapperKeys)
            if (!dict.Values.Any(v => v is StateTensor) && dict.TryGetValue(key, out var inner) && inner is OrderedDictionary<object, object?> innerDict)
                return innerDict;
        return dict;
    }

    private static void CopyTensors(OrderedDictionary<object, object?> dict, string path, Dictionary<string, StateTensor> result)
    {
        foreach (var (key, value) in dict)
        {
            var name = key as string ?? throw new InvalidDataException($"'{path}': state dict key '{key}' is not a string.");
            switch (value)
            {
                case StateTensor t:
                    result[name] = t;
                    break;
                default:
                    throw new InvalidDataException($"'{path}': state dict entry '{name}' is a {Describe(value)}, not a tensor.");
            }
        }
    }

    private static void Flatten(PickleObject module, string prefix, Dictionary<string, StateTensor> result,
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
                case StateTensor t when state is null || state.Contains(name):
                    result[prefix + name] = t;
                    break;
                case PickleObject child:
                    Flatten(child, prefix + name + ".", result, stateNames, seen);
                    break;
            }
        }
    }

    private static void Rename(Dictionary<string, StateTensor> dict, Func<string, string> rename)
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
