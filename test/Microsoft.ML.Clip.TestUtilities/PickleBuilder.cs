using System.Buffers.Binary;
using System.Text;

namespace Microsoft.ML.Clip.TestUtilities;

/// <summary>Writes pickle opcodes by hand, for pickles that tests need and Python would have to make.</summary>
public sealed class PickleBuilder
{
    private readonly MemoryStream _s = new();

    public PickleBuilder(int protocol = 2) => _s.Write([0x80, (byte)protocol]);

    public PickleBuilder Op(char opcode) { _s.WriteByte((byte)opcode); return this; }

    public PickleBuilder Op(byte opcode) { _s.WriteByte(opcode); return this; }

    public PickleBuilder Mark() => Op('(');

    public PickleBuilder Global(string module, string name)
    {
        _s.WriteByte((byte)'c');
        _s.Write(Encoding.ASCII.GetBytes($"{module}\n{name}\n"));
        return this;
    }

    public PickleBuilder Str(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        _s.WriteByte((byte)'X');
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(len, bytes.Length);
        _s.Write(len);
        _s.Write(bytes);
        return this;
    }

    public PickleBuilder Int(int value)
    {
        _s.WriteByte((byte)'J');
        Span<byte> i4 = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(i4, value);
        _s.Write(i4);
        return this;
    }

    public PickleBuilder Tuple(params int[] values)
    {
        Mark();
        foreach (var v in values) Int(v);
        return Op('t');
    }

    /// <summary><c>_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())</c> left on the stack.</summary>
    public PickleBuilder Tensor(string storageModule, string storageType, string key, int count, int offset, int[] size, int[] stride)
    {
        Global("torch._utils", "_rebuild_tensor_v2");
        ArgsOfTensor(storageModule, storageType, key, count, offset, size, stride);
        return Op('R');
    }

    /// <summary>The argument tuple of <c>_rebuild_tensor_v2</c>.</summary>
    public PickleBuilder ArgsOfTensor(string storageModule, string storageType, string key, int count, int offset, int[] size, int[] stride)
    {
        Mark();
        Mark().Str("storage").Global(storageModule, storageType).Str(key).Str("cpu").Int(count).Op('t').Op('Q');
        Int(offset).Tuple(size).Tuple(stride).Op(0x89);
        Global("collections", "OrderedDict").Op(')').Op('R');
        return Op('t');
    }

    public byte[] Stop() { _s.WriteByte((byte)'.'); return _s.ToArray(); }
}
