using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Checkpoints;

/// <summary>The element types of the safetensors format and their TorchSharp equivalents.</summary>
internal static class SafetensorsDType
{
    private static readonly (string Name, ScalarType Type, int Size)[] Table =
    [
        ("F64", ScalarType.Float64, 8),
        ("F32", ScalarType.Float32, 4),
        ("F16", ScalarType.Float16, 2),
        ("BF16", ScalarType.BFloat16, 2),
        ("I64", ScalarType.Int64, 8),
        ("I32", ScalarType.Int32, 4),
        ("I16", ScalarType.Int16, 2),
        ("I8", ScalarType.Int8, 1),
        ("U8", ScalarType.Byte, 1),
        ("BOOL", ScalarType.Bool, 1),
    ];

    /// <summary>The TorchSharp type and item size of a safetensors dtype name, or false when unknown.</summary>
    public static bool TryParse(string name, out ScalarType type, out int size)
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

    /// <summary>The safetensors dtype name and item size of a TorchSharp type.</summary>
    /// <exception cref="NotSupportedException">The type has no safetensors name (e.g. complex).</exception>
    public static (string Name, int Size) Of(ScalarType type, string tensorName)
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
