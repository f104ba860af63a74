using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Tests;

/// <summary>
/// Writes files in <c>torch.save</c>'s zip layout (pickle protocol 2) so tests can build checkpoints the
/// reader must accept or reject: wrapped state dicts, renamed keys, wrong shapes, other dtypes, bad pickles.
/// Values: <see cref="Tensor"/>, string, long, double, and nested <c>IEnumerable&lt;KeyValuePair&lt;string, object&gt;&gt;</c> dicts.
/// </summary>
internal static class TorchSaveWriter
{
    public static void Write(string path, IEnumerable<KeyValuePair<string, object>> root, string stem = "archive")
    {
        var storages = new List<Tensor>();
        var pickle = new MemoryStream();
        pickle.Write([0x80, 2]);
        WriteValue(pickle, root, storages);
        pickle.WriteByte((byte)'.');
        WriteArchive(path, stem, pickle.ToArray(), storages.Select(t => t.bytes.ToArray()).ToList());
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

    private static void WriteValue(Stream s, object value, List<Tensor> storages)
    {
        switch (value)
        {
            case Tensor t:
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

    private static void WriteTensor(Stream s, Tensor t, List<Tensor> storages)
    {
        var data = t.contiguous();
        var key = storages.Count;
        storages.Add(data);
        WriteGlobal(s, "torch._utils", "_rebuild_tensor_v2");
        s.WriteByte((byte)'(');
        s.WriteByte((byte)'(');
        WriteString(s, "storage");
        WriteGlobal(s, "torch", StorageName(t.dtype));
        WriteString(s, key.ToString(System.Globalization.CultureInfo.InvariantCulture));
        WriteString(s, "cpu");
        WriteValue(s, data.numel(), storages);
        s.Write([(byte)'t', (byte)'Q']);
        WriteValue(s, 0L, storages);
        s.WriteByte((byte)'(');
        foreach (var d in data.shape) WriteValue(s, d, storages);
        s.WriteByte((byte)'t');
        s.WriteByte((byte)'(');
        foreach (var d in data.stride()) WriteValue(s, d, storages);
        s.WriteByte((byte)'t');
        s.WriteByte(0x89); // requires_grad = False
        WriteGlobal(s, "collections", "OrderedDict");
        s.Write([(byte)')', (byte)'R', (byte)'t', (byte)'R']);
    }

    private static string StorageName(ScalarType dtype) => dtype switch
    {
        ScalarType.Float32 => "FloatStorage",
        ScalarType.Float16 => "HalfStorage",
        ScalarType.BFloat16 => "BFloat16Storage",
        ScalarType.Int64 => "LongStorage",
        _ => throw new ArgumentException($"No storage name for {dtype}."),
    };

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
