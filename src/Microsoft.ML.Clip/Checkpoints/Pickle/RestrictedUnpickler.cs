using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace Microsoft.ML.Clip.Checkpoints.Pickle;

/// <summary>
/// A pickle reader (protocols 0–5) that only builds data. Python values map to .NET as: <c>None</c> → null,
/// bool → <see cref="bool"/>, int → <see cref="long"/> (or <see cref="BigInteger"/> past 64 bits),
/// float → <see cref="double"/>, str → <see cref="string"/>, bytes → <see cref="byte"/>[], tuple →
/// <see cref="object"/>[], list → <see cref="List{T}"/>, dict → <see cref="OrderedDictionary{TKey, TValue}"/>,
/// set → <see cref="HashSet{T}"/>. Every global goes through an <see cref="IPickleResolver"/>, which refuses
/// anything it does not know: there is no path from a pickle to running code.
/// </summary>
internal sealed class RestrictedUnpickler
{
    private readonly byte[] _data;
    private readonly string _source;
    private readonly IPickleResolver _resolver;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;

    private static readonly object Mark = new();

    /// <summary>Creates a reader over <paramref name="data"/>; <paramref name="source"/> names it in errors.</summary>
    public RestrictedUnpickler(byte[] data, string source, IPickleResolver resolver)
    {
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _source = source;
        _resolver = resolver ?? throw new ArgumentNullException(nameof(resolver));
    }

    /// <summary>Reads <paramref name="data"/> up to its <c>STOP</c> opcode and returns the pickled object.</summary>
    public static object? Load(byte[] data, string source, IPickleResolver resolver) => new RestrictedUnpickler(data, source, resolver).Load();

    /// <summary>Reads up to the <c>STOP</c> opcode and returns the pickled object.</summary>
    public object? Load()
    {
        while (true)
        {
            var at = _pos;
            var op = ReadByte();
            switch (op)
            {
                case 0x80: ReadByte(); break;                                   // PROTO
                case 0x95: ReadBytes(8); break;                                 // FRAME: frames are only a read-ahead hint
                case (byte)'.': return Pop();                                   // STOP
                case (byte)'(': _marks.Push(_stack.Count); _stack.Add(Mark); break; // MARK
                case (byte)'0': Pop(); break;                                   // POP
                case (byte)'1': PopMark(); break;                               // POP_MARK
                case (byte)'2': Push(Peek()); break;                            // DUP
                case (byte)'N': Push(null); break;                              // NONE
                case 0x88: Push(true); break;                                   // NEWTRUE
                case 0x89: Push(false); break;                                  // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break;                  // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break;                   // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4))); break;                // LONG4
                case (byte)'I': Push(ParseTextInt(ReadLine())); break;          // INT
                case (byte)'L': Push(ParseTextLong(ReadLine())); break;         // LONG
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'F': Push(double.Parse(ReadLine(), CultureInfo.InvariantCulture)); break; // FLOAT
                case (byte)'X': Push(ReadUtf8(ReadLength(4))); break;           // BINUNICODE
                case 0x8c: Push(ReadUtf8(ReadByte())); break;                   // SHORT_BINUNICODE
                case 0x8d: Push(ReadUtf8(ReadLength(8))); break;                // BINUNICODE8
                case (byte)'V': Push(ReadLine()); break;                        // UNICODE (raw-unicode-escape; ASCII in practice)
                case (byte)'T': Push(ReadLatin1(ReadLength(4))); break;         // BINSTRING (Python 2 str)
                case (byte)'U': Push(ReadLatin1(ReadByte())); break;            // SHORT_BINSTRING
                case (byte)'S': Push(ParseQuoted(ReadLine())); break;           // STRING
                case (byte)'B': Push(ReadBytes(ReadLength(4)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break;   // SHORT_BINBYTES
                case 0x8e: Push(ReadBytes(ReadLength(8)).ToArray()); break;     // BINBYTES8
                case 0x96: Push(ReadBytes(ReadLength(8)).ToArray()); break;     // BYTEARRAY8
                case 0x98: break;                                               // READONLY_BUFFER: no-op on bytes
                case (byte)')': Push(Array.Empty<object?>()); break;            // EMPTY_TUPLE
                case 0x85: Push(new[] { Pop() }); break;                        // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)'t': Push(PopMark().ToArray()); break;               // TUPLE
                case (byte)']': Push(new List<object?>()); break;               // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break;                         // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek(), at).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek(), at).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new OrderedDictionary<object, object?>()); break; // EMPTY_DICT
                case (byte)'d': { var d = new OrderedDictionary<object, object?>(); SetItems(d, PopMark(), at); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(AsDict(Peek(), at), [k, v], at); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek(), at), items, at); break; } // SETITEMS
                case 0x8f: Push(new HashSet<object?>()); break;                 // EMPTY_SET
                case 0x90: { var items = PopMark(); AsSet(Peek(), at).UnionWith(items); break; } // ADDITEMS
                case 0x91: Push(new HashSet<object?>(PopMark())); break;        // FROZENSET
                case (byte)'p': _memo[long.Parse(ReadLine(), CultureInfo.InvariantCulture)] = Peek(); break; // PUT
                case (byte)'q': _memo[ReadByte()] = Peek(); break;              // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))] = Peek(); break; // LONG_BINPUT
                case 0x94: _memo[_memo.Count] = Peek(); break;                  // MEMOIZE
                case (byte)'g': Push(MemoGet(long.Parse(ReadLine(), CultureInfo.InvariantCulture), at)); break; // GET
                case (byte)'h': Push(MemoGet(ReadByte(), at)); break;           // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at)); break; // LONG_BINGET
                case (byte)'c': Push(CheckGlobal(new PickleGlobal(ReadLine(), ReadLine()))); break; // GLOBAL
                case 0x93:                                                      // STACK_GLOBAL
                {
                    var name = Pop() as string;
                    var module = Pop() as string;
                    if (name is null || module is null) throw Corrupt(at, "STACK_GLOBAL expects two strings");
                    Push(CheckGlobal(new PickleGlobal(module, name)));
                    break;
                }
                case (byte)'R':                                                 // REDUCE
                {
                    var args = Pop();
                    var callable = Pop();
                    Push(Call(callable, args, at));
                    break;
                }
                case 0x81:                                                      // NEWOBJ
                {
                    var args = Pop();
                    var cls = Pop();
                    Push(Call(cls, args, at));
                    break;
                }
                case 0x92:                                                      // NEWOBJ_EX
                {
                    var kwargs = Pop();
                    var args = Pop();
                    var cls = Pop();
                    if (kwargs is OrderedDictionary<object, object?> { Count: > 0 })
                        throw Corrupt(at, $"keyword arguments to '{cls}' are not supported");
                    Push(Call(cls, args, at));
                    break;
                }
                case (byte)'b': Build(Pop(), Peek(), at); break;                // BUILD
                case (byte)'Q': Push(_resolver.PersistentLoad(Pop())); break;   // BINPERSID
                case (byte)'P': Push(_resolver.PersistentLoad(ReadLine())); break; // PERSID
                case (byte)'i':                                                 // INST: names a class and calls it at once
                {
                    var global = CheckGlobal(new PickleGlobal(ReadLine(), ReadLine()));
                    Push(_resolver.Call(global, PopMark()));
                    break;
                }
                case (byte)'o':                                                 // OBJ
                {
                    var items = PopMark();
                    if (items.Count == 0) throw Corrupt(at, "OBJ without a class");
                    Push(Call(items[0], items.Skip(1).ToArray(), at));
                    break;
                }
                case 0x82 or 0x83 or 0x84:
                    throw new InvalidDataException($"'{_source}' uses the copyreg extension registry (opcode 0x{op:x2} at byte {at}), which this reader refuses.");
                case 0x97:
                    throw new InvalidDataException($"'{_source}' uses out-of-band buffers (NEXT_BUFFER at byte {at}), which a file cannot provide.");
                default:
                    throw Corrupt(at, $"unknown opcode 0x{op:x2}");
            }
        }
    }

    private PickleGlobal CheckGlobal(PickleGlobal global)
    {
        if (!_resolver.IsAllowed(global)) throw new UnsafePickleException(_source, global);
        return global;
    }

    private object? Call(object? callable, object? args, int at)
    {
        if (callable is not PickleGlobal global) throw Corrupt(at, $"call of a non-global '{callable}'");
        if (args is not object?[] tuple) throw Corrupt(at, $"arguments of '{global}' are not a tuple");
        return _resolver.Call(global, tuple);
    }

    private void Build(object? state, object? target, int at)
    {
        switch (target)
        {
            case PickleObject obj:
                obj.State = state;
                break;
            case OrderedDictionary<object, object?>:
                // torch.save's OrderedDict carries its `_metadata` (module versions) as instance state: not data.
                break;
            default:
                throw Corrupt(at, $"BUILD on a {target?.GetType().Name ?? "None"}");
        }
    }

    private static void SetItems(OrderedDictionary<object, object?> dict, IReadOnlyList<object?> items, int at)
    {
        for (var i = 0; i + 1 < items.Count; i += 2)
            dict[items[i] ?? NoneKey.Instance] = items[i + 1];
    }

    private List<object?> AsList(object? value, int at) => value as List<object?> ?? throw Corrupt(at, "APPEND to a non-list");

    private OrderedDictionary<object, object?> AsDict(object? value, int at) =>
        value as OrderedDictionary<object, object?> ?? throw Corrupt(at, "SETITEM on a non-dict");

    private HashSet<object?> AsSet(object? value, int at) => value as HashSet<object?> ?? throw Corrupt(at, "ADDITEMS on a non-set");

    private object? MemoGet(long key, int at) => _memo.TryGetValue(key, out var v) ? v : throw Corrupt(at, $"memo key {key} is not set");

    private void Push(object? value) => _stack.Add(value);

    private object? Peek()
    {
        if (_stack.Count == 0 || ReferenceEquals(_stack[^1], Mark)) throw Corrupt(_pos - 1, "stack underflow");
        return _stack[^1];
    }

    private object? Pop()
    {
        var value = Peek();
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Corrupt(_pos - 1, "no MARK on the stack");
        var start = _marks.Pop();
        var items = _stack.GetRange(start + 1, _stack.Count - start - 1);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    private byte ReadByte()
    {
        if (_pos >= _data.Length) throw Truncated();
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(long count)
    {
        if (count < 0 || _pos + count > _data.Length) throw Truncated();
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    private long ReadLength(int size)
    {
        var bytes = ReadBytes(size);
        var length = size == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (length < 0 || length > _data.Length - _pos) throw Truncated();
        return length;
    }

    private string ReadLine()
    {
        var end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0) throw Truncated();
        var line = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    private string ReadUtf8(long length) => Encoding.UTF8.GetString(ReadBytes(length));

    private string ReadLatin1(long length) => Encoding.Latin1.GetString(ReadBytes(length));

    private object ReadLong(long length)
    {
        var bytes = ReadBytes(length);
        if (length == 0) return 0L;
        var value = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static object ParseTextInt(string text) => text switch
    {
        "00" => false,
        "01" => true,
        _ => long.Parse(text, CultureInfo.InvariantCulture),
    };

    private static object ParseTextLong(string text)
    {
        var value = BigInteger.Parse(text.TrimEnd('L'), CultureInfo.InvariantCulture);
        return value >= long.MinValue && value <= long.MaxValue ? (long)value : value;
    }

    private static string ParseQuoted(string text) =>
        text.Length >= 2 && (text[0] == '\'' || text[0] == '"') ? text[1..^1] : text;

    private InvalidDataException Truncated() =>
        new($"'{_source}' is truncated or corrupt: its pickle data ends at byte {_data.Length} before the STOP opcode.");

    private InvalidDataException Corrupt(int at, string what) =>
        new($"'{_source}' holds an invalid pickle: {what} (at byte {at}).");

    /// <summary>Stands for Python's <c>None</c> used as a dict key (.NET dictionaries take no null keys).</summary>
    public sealed class NoneKey
    {
        /// <summary>The one instance.</summary>
        public static readonly NoneKey Instance = new();

        private NoneKey()
        {
        }
    }
}
