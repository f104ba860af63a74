using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>
/// A tensor as <c>torch.save</c> stores it: its storage class (<c>FloatStorage</c>, <c>HalfStorage</c>,
/// <c>BFloat16Storage</c>, <c>LongStorage</c>), its shape and its values as contiguous little-endian bytes.
/// </summary>
public sealed record SavedTensor(string StorageType, long[] Shape, byte[] Data)
{
    /// <summary>Bytes per value of <see cref="StorageType"/>.</summary>
    public int ItemSize => StorageType switch
    {
        "FloatStorage" => 4,
        "HalfStorage" or "BFloat16Storage" => 2,
        "LongStorage" => 8,
        _ => throw new ArgumentException($"No item size for {StorageType}."),
    };
}

/// <summary>
/// Writes files in <c>torch.save</c>'s zip layout (pickle protocol 2) so tests can build checkpoints the
/// reader must accept or reject: wrapped state dicts, renamed keys, wrong shapes, other dtypes, bad pickles.
/// Values: <see cref="SavedTensor"/>, string, long, double, and nested <c>IEnumerable&lt;KeyValuePair&lt;string, object&gt;&gt;</c> dicts.
/// </summary>
public static class TorchSaveWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, object>> root, string stem = "archive")
    {
        var storages = new List<SavedTensor>();
        var pickle = new MemoryStream();
        pickle.Write([0x80, 2]);
        WriteValue(pickle, root, storages);
        pickle.WriteByte((byte)'.');
        WriteArchive(path, stem, pickle.ToArray(), storages.Select(t => t.Data).ToList());
    }

    /// <summary>Writes a zip with the given raw pickle as <c>STEM/data.pkl</c> and the given storages.</summary>
    public static void WriteArchive(string path, string stem, byte[] pickle, IReadOnlyList<byte[]> storages)
    {
        using var zip = new ZipArchive(File.Create(path), ZipArchiveMode.Create);
        void Add(string name, byte[] data)
        {
            using var s = zip.CreateEntry($"{stem}/{name}", CompressionLevel.NoCompression).Open();
            s.Write(data);
        }
        Add("data.pkl", pickle);
        for (var i = 0; i < storages.Count; i++) Add($"data/{i}", storages[i]);
        Add("version", Encoding.ASCII.GetBytes("3\n"));
    }

    private static void WriteValue(Stream s, object value, List<SavedTensor> storages)
    {
        switch (value)
        {
            case SavedTensor t:
                WriteTensor(s, t, storages);
                break;
            case string text:
                WriteString(s, text);
                break;
            case long or int:
                s.WriteByte((byte)'J');
                Span<byte> i4 = stackalloc byte[4];
                BinaryPrimitives.WriteInt32LittleEndian(i4, Convert.ToInt32(value));
                s.Write(i4);
                break;
            case double d:
                s.WriteByte((byte)'G');
                Span<byte> f8 = stackalloc byte[8];
                BinaryPrimitives.WriteDoubleBigEndian(f8, d);
                s.Write(f8);
                break;
            case IEnumerable<KeyValuePair<string, object>> dict:
                WriteGlobal(s, "collections", "OrderedDict");
                s.Write([(byte)')', (byte)'R']);
                foreach (var (k, v) in dict)
                {
                    WriteString(s, k);
                    WriteValue(s, v, storages);
                    s.WriteByte((byte)'s');
                }
                break;
            default:
                throw new ArgumentException($"Cannot pickle a {value.GetType().Name}.");
        }
    }

    private static void WriteTensor(Stream s, SavedTensor t, List<SavedTensor> storages)
    {
        var key = storages.Count;
        storages.Add(t);
        // C-order strides of a contiguous tensor.
        var stride = new long[t.Shape.Length];
        for (long i = t.Shape.Length - 1, step = 1; i >= 0; step *= t.Shape[i], i--) stride[i] = step;
        WriteGlobal(s, "torch._utils", "_rebuild_tensor_v2");
        s.WriteByte((byte)'(');
        s.WriteByte((byte)'(');
        WriteString(s, "storage");
        WriteGlobal(s, "torch", t.StorageType);
        WriteString(s, key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WriteString(s, "cpu");
        WriteValue(s, (long)(t.Data.Length / t.ItemSize), storages);
        s.Write([(byte)'t', (byte)'Q']);
        WriteValue(s, 0L, storages);
        s.WriteByte((byte)'(');
        foreach (var d in t.Shape) WriteValue(s, d, storages);
        s.WriteByte((byte)'t');
        s.WriteByte((byte)'(');
        foreach (var d in stride) WriteValue(s, d, storages);
        s.WriteByte((byte)'t');
        s.WriteByte(0x89); // requires_grad = False
        WriteGlobal(s, "collections", "OrderedDict");
        s.Write([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
    }

    private static void WriteGlobal(Stream s, string module, string name)
    {
        s.WriteByte((byte)'c');
        s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
    }

    private static void WriteString(Stream s, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        s.WriteByte((byte)'X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
        s.Write(len);
        s.Write(bytes);
    }
}
