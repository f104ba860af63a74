using Microsoft.ML.Clip.TorchSharp.Checkpoints.Pickle;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>A storage of a PyTorch archive: a flat tensor of <see cref="Count"/> elements read from <c>data/KEY</c>.</summary>
internal sealed record TorchStorage(string Key, ScalarType DType, long Count, Tensor Data);

/// <summary>
/// The globals a <c>torch.save</c> state dict or a TorchScript archive needs, and nothing else: tensor
/// rebuilding over persistent-id storages, <c>collections.OrderedDict</c>, and the <c>__torch__.*</c> module
/// classes of TorchScript, which become inert <see cref="PickleObject"/>s.
/// </summary>
internal sealed class TorchPickleResolver : IPickleResolver
{
    private static readonly Dictionary<string, ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
        // torch >= 2 may name a storage by its untyped class (bytes) or, in its dtype form, by a dtype.
        ["UntypedStorage"] = ScalarType.Byte,
        ["_UntypedStorage"] = ScalarType.Byte,
        ["float32"] = ScalarType.Float32, ["float"] = ScalarType.Float32,
        ["float64"] = ScalarType.Float64, ["double"] = ScalarType.Float64,
        ["float16"] = ScalarType.Float16, ["half"] = ScalarType.Float16,
        ["bfloat16"] = ScalarType.BFloat16,
        ["int64"] = ScalarType.Int64, ["long"] = ScalarType.Int64,
        ["int32"] = ScalarType.Int32, ["int"] = ScalarType.Int32,
        ["int16"] = ScalarType.Int16, ["short"] = ScalarType.Int16,
        ["int8"] = ScalarType.Int8, ["uint8"] = ScalarType.Byte, ["bool"] = ScalarType.Bool,
    };

    private static readonly HashSet<string> StorageModules = ["torch", "torch.storage", "torch.cuda"];

    private static readonly HashSet<string> TensorRebuilders =
        ["_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter", "_rebuild_parameter_with_state"];

    // TorchScript's helpers that only tag or pass on a list (no effect in this reader).
    private static readonly HashSet<string> JitListHelpers =
        ["build_intlist", "build_floatlist", "build_boollist", "build_doublelist", "build_tensorlist", "restore_type_tag"];

    private readonly string _source;
    private readonly Func<string, ScalarType, long, Tensor> _loadStorage;
    private readonly Dictionary<string, TorchStorage> _storages = new();
    private readonly List<Tensor> _rebuilt = [];

    /// <param name="source">The archive, for error messages.</param>
    /// <param name="loadStorage">Reads storage <c>key</c> as a flat tensor of the dtype and element count given.</param>
    public TorchPickleResolver(string source, Func<string, ScalarType, long, Tensor> loadStorage)
    {
        _source = source;
        _loadStorage = loadStorage;
    }

    /// <summary>The storages read so far (their flat tensors are the owners of the data).</summary>
    public IReadOnlyCollection<TorchStorage> Storages => _storages.Values;

    public bool IsAllowed(PickleGlobal g) => g.Module switch
    {
        "collections" => g.Name == "OrderedDict",
        "torch._utils" => TensorRebuilders.Contains(g.Name),
        "torch.jit._pickle" => JitListHelpers.Contains(g.Name),
        "torch" when g.Name is "Size" or "device" or "Tensor" => true,
        // Tensor subclasses and tensors with Python attributes: rebuilt as a plain tensor, type and state ignored.
        "torch._tensor" => g.Name == "_rebuild_from_type_v2",
        "torch.nn.parameter" => g.Name == "Parameter",
        "_codecs" => g.Name == "encode",
        "__torch__" => true,
        _ when g.Module.StartsWith("__torch__.", StringComparison.Ordinal) => true,
        _ => StorageModules.Contains(g.Module) && StorageTypes.ContainsKey(g.Name),
    };

    public object? Call(PickleGlobal callable, IReadOnlyList<object?> args)
    {
        switch (callable.Module, callable.Name)
        {
            case ("collections", "OrderedDict"):
                var dict = new OrderedDictionary<object, object?>();
                if (args.Count > 0 && args[0] is IEnumerable<object?> pairs)
                    foreach (var pair in pairs)
                        if (pair is object?[] { Length: 2 } kv && kv[0] is { } key) dict[key] = kv[1];
                return dict;
            case ("torch._utils", "_rebuild_tensor_v2" or "_rebuild_tensor"):
                return RebuildTensor(callable, args);
            case ("torch._utils", _):
                // _rebuild_parameter(data, requires_grad, hooks[, state]): a Parameter is its data here.
                return Arg<Tensor>(callable, args, 0);
            case ("torch._tensor", "_rebuild_from_type_v2"):
                // (func, new_type, args, state): only the inner rebuild matters here.
                var inner = Arg<PickleGlobal>(callable, args, 0);
                return Call(inner, Arg<object?[]>(callable, args, 2));
            case ("torch.jit._pickle", _):
                return args.Count > 0 ? args[0] : null;
            case ("torch", "Size"):
                return args.Count > 0 ? args[0] : Array.Empty<object?>();
            case ("torch", "device"):
                return args.Count > 0 ? args[0]?.ToString() : null;
            case ("_codecs", "encode"):
                return System.Text.Encoding.Latin1.GetBytes(Arg<string>(callable, args, 0));
        }
        if (callable.Module == "__torch__" || callable.Module.StartsWith("__torch__.", StringComparison.Ordinal))
            return new PickleObject(callable, args.ToArray());
        throw new InvalidDataException($"'{_source}': the global '{callable}' cannot be called.");
    }

    public object? PersistentLoad(object? persistentId)
    {
        // torch.save: ('storage', storage_type, key, location, numel)
        if (persistentId is not object?[] { Length: 5 } id || !IsStorageTag(id[0])
            || id[1] is not PickleGlobal type || id[2] is not string key || id[4] is not long count)
            throw new InvalidDataException($"'{_source}' holds an unknown persistent id '{Describe(persistentId)}'.");
        if (!StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new InvalidDataException($"'{_source}' holds storage '{key}' of unsupported type '{type}'.");
        if (_storages.TryGetValue(key, out var known))
            return known;
        var storage = new TorchStorage(key, dtype, count, _loadStorage(key, dtype, count));
        _storages[key] = storage;
        return storage;
    }

    // Python 2 era files may hold the tag as bytes.
    private static bool IsStorageTag(object? tag) =>
        tag is "storage" || (tag is byte[] bytes && System.Text.Encoding.ASCII.GetString(bytes) == "storage");

    private Tensor RebuildTensor(PickleGlobal callable, IReadOnlyList<object?> args)
    {
        var storage = Arg<TorchStorage>(callable, args, 0);
        var offset = Arg<long>(callable, args, 1);
        var size = Longs(callable, args, 2);
        var stride = Longs(callable, args, 3);
        if (size.Length != stride.Length)
            throw new InvalidDataException($"'{_source}': tensor over storage '{storage.Key}' has {size.Length} sizes but {stride.Length} strides.");
        // The last element the view touches must lie inside the storage.
        var last = offset;
        var empty = false;
        for (var i = 0; i < size.Length; i++)
        {
            if (size[i] == 0) empty = true;
            last += (size[i] - 1) * stride[i];
        }
        if (!empty && (offset < 0 || last >= storage.Count))
            throw new InvalidDataException(
                $"'{_source}': tensor of shape [{string.Join(", ", size)}] at offset {offset} reads past storage '{storage.Key}' ({storage.Count} elements); the file is corrupt.");
        var tensor = empty ? zeros(size, storage.DType) : storage.Data.as_strided(size, stride, offset);
        _rebuilt.Add(tensor);
        return tensor;
    }

    /// <summary>Frees every tensor rebuilt so far (a read that failed half-way must not leave them to the finalizer).</summary>
    public void DisposeRebuiltTensors()
    {
        foreach (var tensor in _rebuilt) tensor.Dispose();
        _rebuilt.Clear();
    }

    private T Arg<T>(PickleGlobal callable, IReadOnlyList<object?> args, int index) =>
        args.Count > index && args[index] is T value
            ? value
            : throw new InvalidDataException($"'{_source}': argument {index} of '{callable}' is not a {typeof(T).Name}.");

    private long[] Longs(PickleGlobal callable, IReadOnlyList<object?> args, int index)
    {
        var items = Arg<object?[]>(callable, args, index);
        return items.Select(x => x is long l ? l : throw new InvalidDataException($"'{_source}': argument {index} of '{callable}' holds a non-integer.")).ToArray();
    }

    private static string Describe(object? value) =>
        value is object?[] tuple ? "(" + string.Join(", ", tuple.Select(Describe)) + ")" : value?.ToString() ?? "None";
}
