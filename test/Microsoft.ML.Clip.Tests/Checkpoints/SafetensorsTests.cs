using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

public class SafetensorsTests : IDisposable
{
    private readonly string _dir = Fixtures.NewTempDir("clip-safetensors");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string HfFixture => Fixtures.Reference("models", "vit.hf.safetensors");

    [Fact]
    public void ReadsTheHuggingFaceFixture()
    {
        var header = SafetensorsReader.ReadHeader(HfFixture);
        Assert.Equal("pt", header.Metadata["format"]);
        Assert.Equal(80, header.Entries.Count);
        var tensors = SafetensorsReader.Read(HfFixture);
        Assert.Equal(80, tensors.Count);
        Assert.Equal(StateTensorType.Int64, tensors["text_model.embeddings.position_ids"].Type);
        Assert.Equal(Enumerable.Range(0, 77).Select(i => (long)i), tensors["text_model.embeddings.position_ids"].ToInt64s());
        Assert.Equal(new long[] { 49408, 64 }, tensors["text_model.embeddings.token_embedding.weight"].Shape);
        Assert.Equal(2.99609375f, tensors["logit_scale"].SingleValue());
    }

    [Fact]
    public void RoundTripKeepsEveryDtypeShapeAndValue()
    {
        var random = new Random(5);
        StateTensor Random(StateTensorType type, params long[] shape)
        {
            var bytes = new byte[shape.Aggregate(1L, (a, b) => a * b) * StateTensor.ItemSize(type)];
            random.NextBytes(bytes);
            return new StateTensor(type, shape, bytes);
        }
        var source = new Dictionary<string, StateTensor>
        {
            ["f32"] = Random(StateTensorType.Float32, 3, 5),
            ["f16"] = Random(StateTensorType.Float16, 4, 2),
            ["bf16"] = Random(StateTensorType.BFloat16, 7),
            ["f64"] = Random(StateTensorType.Float64, 2, 2, 2),
            ["i64"] = StateTensor.FromInt64s([.. Enumerable.Range(0, 10).Select(i => (long)i)], 2, 5),
            ["i32"] = Random(StateTensorType.Int32, 6),
            ["u8"] = new StateTensor(StateTensorType.UInt8, [5], new byte[] { 0, 1, 2, 3, 4 }),
            ["bool"] = new StateTensor(StateTensorType.Bool, [3], new byte[] { 1, 0, 1 }),
            ["scalar"] = StateTensor.FromSingles([1.5f]),
            ["empty"] = TestTensors.Zeros(0, 3),
            ["z.ünïcode+name"] = TestTensors.Ones(2),
        };
        var path = Path.Combine(_dir, "all.safetensors");
        SafetensorsWriter.Write(path, source, new Dictionary<string, string> { ["note"] = "x" });
        var read = SafetensorsReader.Read(path, out var metadata);
        Assert.Equal("pt", metadata["format"]);
        Assert.Equal("x", metadata["note"]);
        Assert.Equal(source.Keys.Order(), read.Keys.Order());
        foreach (var (name, expected) in source)
        {
            Assert.Equal(expected.Type, read[name].Type);
            Assert.Equal(expected.Shape, read[name].Shape);
            Assert.True(expected.Data.Span.SequenceEqual(read[name].Data.Span), name);
        }
    }

    [Fact]
    public void WriterPadsHeaderToEightBytesAndOrdersByItemSizeThenName()
    {
        var path = Path.Combine(_dir, "order.safetensors");
        SafetensorsWriter.Write(path, new Dictionary<string, StateTensor>
        {
            ["b"] = TestTensors.Ones(3), ["a"] = TestTensors.Ones(1), ["ids"] = StateTensor.FromInt64s([0, 1, 2], 3), ["h"] = TestTensors.Ones(1).ToFloat16(),
        });
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, headerLength % 8);
        using var json = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength));
        Assert.Equal(new[] { "__metadata__", "ids", "a", "b", "h" }, json.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal(8 + headerLength + 24 + 4 + 12 + 2, bytes.Length);
    }

    private string WriteRaw(string header, int dataBytes, string name = "bad.safetensors")
    {
        var path = Path.Combine(_dir, name);
        var headerBytes = Encoding.UTF8.GetBytes(header);
        using var stream = File.Create(path);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        stream.Write(new byte[dataBytes]);
        return path;
    }

    [Fact]
    public void TruncatedFileNamesFileAndTensor()
    {
        var path = Path.Combine(_dir, "truncated.safetensors");
        var bytes = File.ReadAllBytes(HfFixture);
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("visual_projection.weight", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void FileShorterThanTheHeaderLengthIsRejected()
    {
        var path = Path.Combine(_dir, "tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains(path, Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path)).Message);
        File.WriteAllBytes(path, File.ReadAllBytes(HfFixture)[..2000]);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path));
        Assert.Contains("header length", e.Message);
    }

    [Fact]
    public void BadHeaderJsonIsRejected()
    {
        var path = WriteRaw("{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]", 4);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Theory]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "outside")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "increasing")]
    [InlineData("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype 'Q4'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", 8, "missing array 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative dimension")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", 8, "more bytes than a file")]
    public void InvalidEntriesNameFileAndTensor(string header, int dataBytes, string expected)
    {
        var path = WriteRaw(header, dataBytes);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'w'", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void OverlappingTensorsAreRejected()
    {
        var path = WriteRaw("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
        var e = Assert.Throws<InvalidDataException>(() => SafetensorsReader.Read(path));
        Assert.Contains("'a'", e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Contains("overlap", e.Message);
    }
}
