using Microsoft.ML.Clip.Checkpoints.Pickle;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>A storage of a PyTorch archive: <see cref="Count"/> elements of <see cref="DType"/> read from <c>data/KEY</c>
/// (the entry may hold more bytes than they need); <see cref="Data"/> is null when only shapes are read.</summary>
internal sealed record TorchStorage(string Key, StateTensorType DType, long Count, byte[]? Data);

/// <summary>
/// The globals a <c>torch.save</c> state dict or a TorchScript archive needs, and nothing else: tensor
/// rebuilding over persistent-id storages, <c>collections.OrderedDict</c>, and the <c>__torch__.*</c> module
/// classes of TorchScript, which become inert <see cref="PickleObject"/>s. Tensors come back as <see cref="StateTensor"/>s
/// over the storage bytes (shared when the view is contiguous, copied when strided).
/// </summary>
internal sealed class TorchPickleResolver : IPickleResolver
{
    private static readonly Dictionary<string, StateTensorType> StorageTypes = new()
    {
        ["FloatStorage"] = StateTensorType.Float32,
        ["DoubleStorage"] = StateTensorType.Float64,
        ["HalfStorage"] = StateTensorType.Float16,
        ["BFloat16Storage"] = StateTensorType.BFloat16,
        ["LongStorage"] = StateTensorType.Int64,
        ["IntStorage"] = StateTensorType.Int32,
        ["ShortStorage"] = StateTensorType.Int16,
        ["CharStorage"] = StateTensorType.Int8,
        ["ByteStorage"] = StateTensorType.UInt8,
        ["BoolStorage"] = StateTensorType.Bool,
        // torch >= 2 may name a storage by its untyped class (bytes) or, in its dtype form, by a dtype.
        ["UntypedStorage"] = StateTensorType.UInt8,
        ["_UntypedStorage"] = StateTensorType.UInt8,
        ["float32"] = StateTensorType.Float32, ["float"] = StateTensorType.Float32,
        ["float64"] = StateTensorType.Float64, ["double"] = StateTensorType.Float64,
        ["float16"] = StateTensorType.Float16, ["half"] = StateTensorType.Float16,
        ["bfloat16"] = StateTensorType.BFloat16,
        ["int64"] = StateTensorType.Int64, ["long"] = StateTensorType.Int64,
        ["int32"] = StateTensorType.Int32, ["int"] = StateTensorType.Int32,
        ["int16"] = StateTensorType.Int16, ["short"] = StateTensorType.Int16,
        ["int8"] = StateTensorType.Int8, ["uint8"] = StateTensorType.UInt8, ["bool"] = StateTensorType.Bool,
    };

    private static readonly HashSet<string> StorageModules = ["torch", "torch.storage", "torch.cuda"];

    private static readonly HashSet<string> TensorRebuilders =
        ["_rebuild_tensor_v2", "_rebuild_tensor", "_rebuild_parameter", "_rebuild_parameter_with_state"];

    // TorchScript's helpers that only tag or pass on a list (no effect in this reader).
    private static readonly HashSet<string> JitListHelpers =
        ["build_intlist", "build_floatlist", "build_boollist", "build_doublelist", "build_tensorlist", "restore_type_tag"];

    private readonly string _source;
    private readonly Func<string, StateTensorType, long, byte[]>? _loadStorage;
    private readonly Dictionary<string, TorchStorage> _storages = new();

    /// <param name="source">The archive, for error messages.</param>
    /// <param name="loadStorage">Reads the bytes of storage <c>key</c>: at least the element count given of the dtype given.
    /// Null to read shapes only: every tensor then has a shape and no data (reading it throws).</param>
    public TorchPickleResolver(string source, Func<string, StateTensorType, long, byte[]>? loadStorage)
    {
        _source = source;
        _loadStorage = loadStorage;
    }

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
                return Arg<StateTensor>(callable, args, 0);
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
        var storage = new TorchStorage(key, dtype, count, _loadStorage?.Invoke(key, dtype, count));
        _storages[key] = storage;
        return storage;
    }

    // Python 2 era files may hold the tag as bytes.
    private static bool IsStorageTag(object? tag) =>
        tag is "storage" || (tag is byte[] bytes && System.Text.Encoding.ASCII.GetString(bytes) == "storage");

    private StateTensor RebuildTensor(PickleGlobal callable, IReadOnlyList<object?> args)
    {
        var storage = Arg<TorchStorage>(callable, args, 0);
        var offset = Arg<long>(callable, args, 1);
        var size = Longs(callable, args, 2);
        var stride = Longs(callable, args, 3);
        if (size.Length != stride.Length)
            throw new InvalidDataException($"'{_source}': tensor over storage '{storage.Key}' has {size.Length} sizes but {stride.Length} strides.");
        // PyTorch writes no negative sizes or strides; a file that does is damaged (or crafted to index outside the storage).
        if (size.Any(d => d < 0) || stride.Any(d => d < 0))
            throw new InvalidDataException(
                $"'{_source}': tensor over storage '{storage.Key}' has a negative size or stride (size [{string.Join(", ", size)}], stride [{string.Join(", ", stride)}]); the file is corrupt.");
        // The last element the view touches must lie inside the storage.
        var last = offset;
        var empty = false;
        long count = 1;
        try
        {
            for (var i = 0; i < size.Length; i++)
            {
                if (size[i] == 0) empty = true;
                last = checked(last + (size[i] - 1) * stride[i]);
                count = checked(count * size[i]);
            }
        }
        catch (OverflowException)
        {
            last = long.MaxValue;
        }
        if (!empty && (offset < 0 || last >= storage.Count))
            throw new InvalidDataException(
                $"'{_source}': tensor of shape [{string.Join(", ", size)}] at offset {offset} reads past storage '{storage.Key}' ({storage.Count} elements); the file is corrupt.");
        if (empty)
            return new StateTensor(storage.DType, size, ReadOnlyMemory<byte>.Empty);
        var itemSize = StateTensor.ItemSize(storage.DType);
        // A view with stride 0 may be larger than its storage: its copy must still fit one array.
        if (count > Array.MaxLength / itemSize)
            throw new InvalidDataException(
                $"'{_source}': tensor of shape [{string.Join(", ", size)}] over storage '{storage.Key}' holds more than 2 GB; tensors that large are not supported.");
        if (storage.Data is null)
            return StateTensor.Deferred(storage.DType, size, () => throw new InvalidOperationException($"'{_source}' was read for its shapes only."));
        if (IsContiguous(size, stride))
            return new StateTensor(storage.DType, size, storage.Data.AsMemory(checked((int)(offset * itemSize)), (int)(count * itemSize)));
        return new StateTensor(storage.DType, size, Gather(storage.Data, offset, size, stride, itemSize, (int)count));
    }

    // C order: each stride is the product of the later sizes (dimensions of size 1 may have any stride).
    private static bool IsContiguous(long[] size, long[] stride)
    {
        long expected = 1;
        for (var i = size.Length - 1; i >= 0; i--)
        {
            if (size[i] != 1 && stride[i] != expected) return false;
            expected *= size[i];
        }
        return true;
    }

    // The elements of a strided view, copied in C order (what `tensor.contiguous()` gives).
    private static byte[] Gather(byte[] storage, long offset, long[] size, long[] stride, int itemSize, int count)
    {
        var result = new byte[(long)count * itemSize];
        var index = new long[size.Length];
        for (var n = 0; n < count; n++)
        {
            var element = offset;
            for (var d = 0; d < size.Length; d++) element += index[d] * stride[d];
            Buffer.BlockCopy(storage, (int)(element * itemSize), result, n * itemSize, itemSize);
            for (var d = size.Length - 1; d >= 0 && ++index[d] == size[d]; d--) index[d] = 0;
        }
        return result;
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
