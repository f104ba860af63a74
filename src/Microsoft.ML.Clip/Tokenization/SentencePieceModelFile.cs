using System.Text;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>The type of one vocabulary entry (<c>ModelProto.SentencePiece.Type</c>).</summary>
internal enum SentencePieceType : byte
{
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}

/// <summary>The segmentation algorithm of a model (<c>TrainerSpec.ModelType</c>).</summary>
internal enum SentencePieceAlgorithm
{
    Unigram = 1,
    Bpe = 2,
    Word = 3,
    Char = 4,
}

/// <summary>One vocabulary entry; its id is its index.</summary>
internal readonly record struct SentencePieceEntry(string Piece, float Score, SentencePieceType Type);

/// <summary>
/// The parts of a SentencePiece <c>.model</c> file (a serialised <c>ModelProto</c>) that encoding depends on,
/// read by field number with a small wire-format reader (no protobuf library needed).
/// </summary>
/// <remarks>
/// Field numbers (sentencepiece_model.proto): ModelProto 1 pieces, 2 trainer_spec, 3 normalizer_spec;
/// SentencePiece 1 piece, 2 score, 3 type; TrainerSpec 3 model_type, 24 treat_whitespace_as_suffix,
/// 35 byte_fallback, 40-43 unk/bos/eos/pad id; NormalizerSpec 1 name, 2 precompiled_charsmap,
/// 3 add_dummy_prefix, 4 remove_extra_whitespaces, 5 escape_whitespaces. Defaults are the proto's.
/// </remarks>
internal sealed class SentencePieceModelFile
{
    private const int ModelPiecesField = 1;
    private const int ModelTrainerSpecField = 2;
    private const int ModelNormalizerSpecField = 3;

    private SentencePieceModelFile()
    {
    }

    public List<SentencePieceEntry> Pieces { get; } = new();

    public SentencePieceAlgorithm Algorithm { get; private set; } = SentencePieceAlgorithm.Unigram;
    public bool ByteFallback { get; private set; }
    public bool TreatWhitespaceAsSuffix { get; private set; }
    public int UnknownId { get; private set; }
    public int BeginningOfSentenceId { get; private set; } = 1;
    public int EndOfSentenceId { get; private set; } = 2;
    public int PaddingId { get; private set; } = -1;

    /// <summary><c>normalizer_spec.name</c>, e.g. <c>nmt_nfkc</c> or <c>identity</c> (informative only).</summary>
    public string NormalizerName { get; private set; } = "";
    /// <summary><c>normalizer_spec.precompiled_charsmap</c>; empty when the model has no normalisation rules.</summary>
    public byte[] PrecompiledCharsMap { get; private set; } = [];
    public bool AddDummyPrefix { get; private set; } = true;
    public bool RemoveExtraWhitespaces { get; private set; } = true;
    public bool EscapeWhitespaces { get; private set; } = true;

    /// <summary>Reads a <c>.model</c> file.</summary>
    /// <exception cref="InvalidDataException">The file is not a SentencePiece model this reader can use.</exception>
    public static SentencePieceModelFile Read(string path) => Read(File.ReadAllBytes(path));

    /// <summary>Reads the bytes of a <c>.model</c> file.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a SentencePiece model this reader can use.</exception>
    public static SentencePieceModelFile Read(byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var model = new SentencePieceModelFile();
        var reader = new ProtoReader(bytes, 0, bytes.Length);
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case ModelPiecesField when wire == ProtoReader.LengthDelimited:
                    model.Pieces.Add(ReadPiece(reader.ReadSubMessage()));
                    break;
                case ModelTrainerSpecField when wire == ProtoReader.LengthDelimited:
                    model.ReadTrainerSpec(reader.ReadSubMessage());
                    break;
                case ModelNormalizerSpecField when wire == ProtoReader.LengthDelimited:
                    model.ReadNormalizerSpec(reader.ReadSubMessage());
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }
        if (model.Pieces.Count == 0)
            throw new InvalidDataException("The file holds no SentencePiece vocabulary (not a SentencePiece .model file).");
        if (model.Algorithm is not (SentencePieceAlgorithm.Unigram or SentencePieceAlgorithm.Bpe))
            throw new InvalidDataException($"SentencePiece {model.Algorithm} models are not supported (unigram and BPE are).");
        return model;
    }

    private static SentencePieceEntry ReadPiece(ProtoReader reader)
    {
        string piece = "";
        float score = 0;
        var type = SentencePieceType.Normal;
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.LengthDelimited: piece = reader.ReadString(); break;
                case 2 when wire == ProtoReader.Fixed32: score = reader.ReadFloat(); break;
                case 3 when wire == ProtoReader.Varint: type = (SentencePieceType)reader.ReadVarint(); break;
                default: reader.Skip(wire); break;
            }
        }
        return new SentencePieceEntry(piece, score, type);
    }

    private void ReadTrainerSpec(ProtoReader reader)
    {
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 3 when wire == ProtoReader.Varint: Algorithm = (SentencePieceAlgorithm)reader.ReadVarint(); break;
                case 24 when wire == ProtoReader.Varint: TreatWhitespaceAsSuffix = reader.ReadVarint() != 0; break;
                case 35 when wire == ProtoReader.Varint: ByteFallback = reader.ReadVarint() != 0; break;
                case 40 when wire == ProtoReader.Varint: UnknownId = (int)reader.ReadVarint(); break;
                case 41 when wire == ProtoReader.Varint: BeginningOfSentenceId = (int)reader.ReadVarint(); break;
                case 42 when wire == ProtoReader.Varint: EndOfSentenceId = (int)reader.ReadVarint(); break;
                case 43 when wire == ProtoReader.Varint: PaddingId = (int)reader.ReadVarint(); break;
                default: reader.Skip(wire); break;
            }
        }
    }

    private void ReadNormalizerSpec(ProtoReader reader)
    {
        while (reader.Next(out var field, out var wire))
        {
            switch (field)
            {
                case 1 when wire == ProtoReader.LengthDelimited: NormalizerName = reader.ReadString(); break;
                case 2 when wire == ProtoReader.LengthDelimited: PrecompiledCharsMap = reader.ReadBytes(); break;
                case 3 when wire == ProtoReader.Varint: AddDummyPrefix = reader.ReadVarint() != 0; break;
                case 4 when wire == ProtoReader.Varint: RemoveExtraWhitespaces = reader.ReadVarint() != 0; break;
                case 5 when wire == ProtoReader.Varint: EscapeWhitespaces = reader.ReadVarint() != 0; break;
                default: reader.Skip(wire); break;
            }
        }
    }

    /// <summary>A minimal protobuf wire-format reader over one message's bytes.</summary>
    private sealed class ProtoReader(byte[] buffer, int start, int end)
    {
        public const int Varint = 0;
        public const int Fixed64 = 1;
        public const int LengthDelimited = 2;
        public const int Fixed32 = 5;

        public byte[] Buffer { get; } = buffer;
        public int Position { get; private set; } = start;

        public bool Next(out int field, out int wire)
        {
            if (Position >= end)
            {
                field = wire = 0;
                return false;
            }
            var tag = ReadVarint();
            field = (int)(tag >> 3);
            wire = (int)(tag & 7);
            return true;
        }

        public ulong ReadVarint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (Position >= end)
                    throw new InvalidDataException("Truncated varint in the SentencePiece model.");
                var b = Buffer[Position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                    return value;
            }
            throw new InvalidDataException("Malformed varint in the SentencePiece model.");
        }

        public float ReadFloat()
        {
            if (end - Position < 4)
                throw new InvalidDataException("A field runs past the end of the SentencePiece model.");
            var value = System.Buffers.Binary.BinaryPrimitives.ReadSingleLittleEndian(Buffer.AsSpan(Position)); // protobuf fixed32 is little-endian
            Position += 4;
            return value;
        }

        public ProtoReader ReadSubMessage()
        {
            var raw = ReadVarint();
            if (raw > (ulong)(end - Position))
                throw new InvalidDataException("A field runs past the end of the SentencePiece model.");
            var length = (int)raw;
            var sub = new ProtoReader(Buffer, Position, Position + length);
            Position += length;
            return sub;
        }

        public string ReadString()
        {
            var sub = ReadSubMessage();
            return Encoding.UTF8.GetString(Buffer, sub.Position, Position - sub.Position);
        }

        public byte[] ReadBytes()
        {
            var sub = ReadSubMessage();
            return Buffer.AsSpan(sub.Position, Position - sub.Position).ToArray();
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case Varint: ReadVarint(); break;
                case Fixed64: Position += 8; break;
                case LengthDelimited: ReadSubMessage(); break;
                case Fixed32: Position += 4; break;
                default: throw new InvalidDataException($"Unsupported protobuf wire type {wire} in the SentencePiece model.");
            }
            if (Position > end)
                throw new InvalidDataException("A field runs past the end of the SentencePiece model.");
        }
    }
}
