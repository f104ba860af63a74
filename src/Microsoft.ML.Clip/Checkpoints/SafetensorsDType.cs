namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>The element types of the safetensors format and their <see cref="StateTensorType"/> equivalents.</summary>
internal static class SafetensorsDType
{
    private static readonly (string Name, StateTensorType Type, int Size)[] Table =
    [
        ("F64", StateTensorType.Float64, 8),
        ("F32", StateTensorType.Float32, 4),
        ("F16", StateTensorType.Float16, 2),
        ("BF16", StateTensorType.BFloat16, 2),
        ("I64", StateTensorType.Int64, 8),
        ("I32", StateTensorType.Int32, 4),
        ("I16", StateTensorType.Int16, 2),
        ("I8", StateTensorType.Int8, 1),
        ("U8", StateTensorType.UInt8, 1),
        ("BOOL", StateTensorType.Bool, 1),
    ];

    /// <summary>The element type and item size of a safetensors dtype name, or false when unknown.</summary>
    public static bool TryParse(string name, out StateTensorType type, out int size)
    {
        foreach (var entry in Table)
        {
            if (entry.Name == name)
            {
                (type, size) = (entry.Type, entry.Size);
                return true;
            }
        }
        (type, size) = (default, 0);
        return false;
    }

    /// <summary>The safetensors dtype name and item size of an element type.</summary>
    /// <exception cref="NotSupportedException">The type has no safetensors name.</exception>
    public static (string Name, int Size) Of(StateTensorType type, string tensorName)
    {
        foreach (var entry in Table)
        {
            if (entry.Type == type)
                return (entry.Name, entry.Size);
        }
        throw new NotSupportedException($"Tensor '{tensorName}' has dtype {type}, which safetensors cannot store.");
    }

    /// <summary>Names of the supported dtypes, for error messages.</summary>
    public static string Supported => string.Join(", ", Table.Select(e => e.Name));
}
