using System.Numerics;
using System.Text;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.Checkpoints.Pickle;
using Microsoft.ML.Clip.TestUtilities;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Checkpoints;

/// <summary>The restricted pickle reader on plain data written by CPython's pickle module (protocols 0–5).</summary>
public class RestrictedUnpicklerTests
{
    // pickle.dumps({'a': [1, -2, 2.5, 'x', None, True, False, b'\x00\x01'], 'b': (1, 2, (3,)), 'big': 2**70,
    //               'neg': -300000, 'u': 'héllo', 'e': ()}, protocol=P)
    private const string Protocol2 = "gAJ9cQAoWAEAAABhcQFdcQIoSwFK/v///0dABAAAAAAAAFgBAAAAeHEDToiJY19jb2RlY3MKZW5jb2RlCnEEWAIAAAAAAXEFWAYAAABsYXRpbjFxBoZxB1JxCGVYAQAAAGJxCUsBSwJLA4VxCodxC1gDAAAAYmlncQyKCQAAAAAAAAAAQFgDAAAAbmVncQ1KIGz7/1gBAAAAdXEOWAYAAABow6lsbG9xD1gBAAAAZXEQKXUu";
    private const string Protocol3 = "gAN9cQAoWAEAAABhcQFdcQIoSwFK/v///0dABAAAAAAAAFgBAAAAeHEDToiJQwIAAXEEZVgBAAAAYnEFSwFLAksDhXEGh3EHWAMAAABiaWdxCIoJAAAAAAAAAABAWAMAAABuZWdxCUogbPv/WAEAAAB1cQpYBgAAAGjDqWxsb3ELWAEAAABlcQwpdS4=";
    // The same dict plus 's': {1} (EMPTY_SET/ADDITEMS from protocol 4 on).
    private const string Protocol4 = "gASVbwAAAAAAAAB9lCiMAWGUXZQoSwFK/v///0dABAAAAAAAAIwBeJROiIlDAgABlGWMAWKUSwFLAksDhZSHlIwDYmlnlIoJAAAAAAAAAABAjANuZWeUSiBs+/+MAXWUjAZow6lsbG+UjAFzlI+UKEsBkIwBZZQpdS4=";
    private const string Protocol5 = "gAWVbwAAAAAAAAB9lCiMAWGUXZQoSwFK/v///0dABAAAAAAAAIwBeJROiIlDAgABlGWMAWKUSwFLAksDhZSHlIwDYmlnlIoJAAAAAAAAAABAjANuZWeUSiBs+/+MAXWUjAZow6lsbG+UjAFzlI+UKEsBkIwBZZQpdS4=";

    internal static object? Read(byte[] data, string source = "test.pkl") =>
        RestrictedUnpickler.Load(data, source, new TorchPickleResolver(source, (_, _, _) => throw new InvalidOperationException("no storages")));

    [Theory]
    [InlineData(Protocol2)]
    [InlineData(Protocol3)]
    [InlineData(Protocol4)]
    [InlineData(Protocol5)]
    public void ReadsPlainContainersAndScalars(string base64)
    {
        var dict = Assert.IsType<OrderedDictionary<object, object?>>(Read(Convert.FromBase64String(base64)));
        var list = Assert.IsType<List<object?>>(dict["a"]);
        Assert.Equal(1L, list[0]);
        Assert.Equal(-2L, list[1]);
        Assert.Equal(2.5, list[2]);
        Assert.Equal("x", list[3]);
        Assert.Null(list[4]);
        Assert.Equal(true, list[5]);
        Assert.Equal(false, list[6]);
        Assert.Equal(new byte[] { 0, 1 }, list[7]);
        var tuple = Assert.IsType<object?[]>(dict["b"]);
        Assert.Equal(1L, tuple[0]);
        Assert.Equal(3L, Assert.IsType<object?[]>(tuple[2])[0]);
        Assert.Equal(BigInteger.Pow(2, 70), dict["big"]);
        Assert.Equal(-300000L, dict["neg"]);
        Assert.Equal("héllo", dict["u"]);
        Assert.Empty(Assert.IsType<object?[]>(dict["e"]));
        if (base64 is Protocol4 or Protocol5)
            Assert.Contains(1L, Assert.IsType<HashSet<object?>>(dict["s"]));
    }

    [Fact]
    public void ReadsTextProtocol0()
    {
        // pickle.dumps({'a': [1, 2.5, 'x', None, True], 'n': -7}, protocol=0)
        var dict = Assert.IsType<OrderedDictionary<object, object?>>(Read(Convert.FromBase64String("KGRwMApWYQpwMQoobHAyCkkxCmFGMi41CmFWeApwMwphTmFJMDEKYXNWbgpwNApJLTcKcy4=")));
        Assert.Equal(new object?[] { 1L, 2.5, "x", null, true }, Assert.IsType<List<object?>>(dict["a"]));
        Assert.Equal(-7L, dict["n"]);
    }

    [Fact]
    public void TruncatedPickleIsReportedWithItsSource()
    {
        // pickle.dumps({'k': [1, 2]}, protocol=2) cut before its end.
        var e = Assert.Throws<InvalidDataException>(() => Read(Convert.FromBase64String("gAJ9cQBYAQAAAGtxAV1xAihLAUs="), "cut.pkl"));
        Assert.Contains("cut.pkl", e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void UnknownOpcodeIsReported()
    {
        var e = Assert.Throws<InvalidDataException>(() => Read([0x80, 2, 0xff, (byte)'.'], "odd.pkl"));
        Assert.Contains("odd.pkl", e.Message);
        Assert.Contains("0xff", e.Message);
    }

    [Fact]
    public void TorchScriptClassesBecomeInertObjects()
    {
        // GLOBAL '__torch__ M', EMPTY_TUPLE, NEWOBJ, EMPTY_DICT, 'training' False SETITEM, BUILD, STOP
        var bytes = new List<byte> { 0x80, 2 };
        bytes.AddRange(Encoding.Latin1.GetBytes("c__torch__\nM\n)\x81}"));
        bytes.Add((byte)'X');
        bytes.AddRange(BitConverter.GetBytes(8));
        bytes.AddRange(Encoding.ASCII.GetBytes("training"));
        bytes.AddRange([0x89, (byte)'s', (byte)'b', (byte)'.']);
        var obj = Assert.IsType<PickleObject>(Read(bytes.ToArray()));
        Assert.Equal("__torch__.M", obj.Type.FullName);
        Assert.Equal(false, Assert.IsType<OrderedDictionary<object, object?>>(obj.State)["training"]);
    }
}

/// <summary>Tensor pickles in the forms newer torch versions write, read over a hand-made storage.</summary>
public class TorchTensorPickleTests
{
    private static object? ReadWithStorage(byte[] pickle, byte[] storage)
    {
        var resolver = new TorchPickleResolver("t.pkl", (key, dtype, count) =>
        {
            Assert.Equal("0", key);
            Assert.Equal(count * StateTensor.ItemSize(dtype), storage.Length);
            return storage;
        });
        return RestrictedUnpickler.Load(pickle, "t.pkl", resolver);
    }

    private static byte[] Floats(params float[] values) => values.SelectMany(BitConverter.GetBytes).ToArray();

    [Fact]
    public void StridedViewWithOffsetIsRebuilt()
    {
        // A 2x2 transpose view starting at element 1 of a 6-element float storage.
        var pickle = new PickleBuilder().Tensor("torch", "FloatStorage", "0", 6, 1, [2, 2], [1, 2]).Stop();
        var t = Assert.IsType<StateTensor>(ReadWithStorage(pickle, Floats(0, 1, 2, 3, 4, 5)));
        Assert.Equal(new long[] { 2, 2 }, t.Shape);
        Assert.Equal(new float[] { 1, 3, 2, 4 }, t.ToSingles());
    }

    [Fact]
    public void UntypedStorageAndRebuildFromTypeAreRead()
    {
        // torch >= 2: _rebuild_from_type_v2(_rebuild_tensor_v2, Parameter, args, state) over an UntypedStorage (bytes).
        var pickle = new PickleBuilder()
            .Global("torch._tensor", "_rebuild_from_type_v2")
            .Mark()
            .Global("torch._utils", "_rebuild_tensor_v2")
            .Global("torch.nn.parameter", "Parameter")
            .ArgsOfTensor("torch", "UntypedStorage", "0", 3, 0, [3], [1])
            .Op('}')
            .Op('t').Op('R').Stop();
        var t = Assert.IsType<StateTensor>(ReadWithStorage(pickle, [7, 8, 9]));
        Assert.Equal(StateTensorType.UInt8, t.Type);
        Assert.Equal(new byte[] { 7, 8, 9 }, t.Data.ToArray());
    }

    [Fact]
    public void ViewPastTheStorageIsCorrupt()
    {
        var pickle = new PickleBuilder().Tensor("torch", "FloatStorage", "0", 4, 2, [3], [1]).Stop();
        var e = Assert.Throws<InvalidDataException>(() => ReadWithStorage(pickle, Floats(0, 1, 2, 3)));
        Assert.Contains("reads past storage '0'", e.Message);
        Assert.Contains("t.pkl", e.Message);
    }

    [Fact]
    public void NegativeStrideIsCorrupt()
    {
        // Size [2, 2] with strides [1, -1] from offset 1 would read elements 1, 0, 2, 1 — and, with other numbers,
        // outside the storage: PyTorch never writes negative strides, so the reader refuses them.
        var pickle = new PickleBuilder().Tensor("torch", "FloatStorage", "0", 4, 1, [2, 2], [1, -1]).Stop();
        var e = Assert.Throws<InvalidDataException>(() => ReadWithStorage(pickle, Floats(0, 1, 2, 3)));
        Assert.Contains("negative size or stride", e.Message);
        Assert.Contains("t.pkl", e.Message);
    }

    [Fact]
    public void ContiguousViewSharesItsStorage()
    {
        // A [2] view at offset 1 of a 4-element storage: no copy, the bytes are the storage's.
        var storage = Floats(0, 1, 2, 3);
        var pickle = new PickleBuilder().Tensor("torch", "FloatStorage", "0", 4, 1, [2], [1]).Stop();
        var t = Assert.IsType<StateTensor>(ReadWithStorage(pickle, storage));
        Assert.Equal(new float[] { 1, 2 }, t.ToSingles());
        Assert.True(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(t.Data, out var segment));
        Assert.Same(storage, segment.Array);
        Assert.Equal(4, segment.Offset);
    }

    [Fact]
    public void UnknownStorageTypeIsRefused()
    {
        var pickle = new PickleBuilder().Tensor("torch", "QUInt8Storage", "0", 4, 0, [4], [1]).Stop();
        var e = Assert.Throws<UnsafePickleException>(() => ReadWithStorage(pickle, new byte[4]));
        Assert.Equal("torch.QUInt8Storage", e.Global.FullName);
    }
}
