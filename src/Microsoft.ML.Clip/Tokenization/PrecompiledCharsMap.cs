using System.Buffers.Binary;

namespace Microsoft.ML.Clip.Tokenization;

/// <summary>
/// SentencePiece's compiled normalisation rules (<c>normalizer_spec.precompiled_charsmap</c>, e.g. <c>nmt_nfkc</c>):
/// a map from UTF-8 byte strings to their replacements, stored as a darts-clone double-array trie whose values
/// are offsets into a block of NUL-terminated replacement strings.
/// </summary>
/// <remarks>
/// Blob layout: <c>uint32 trieByteCount</c> (little-endian), <c>trieByteCount</c> bytes of 32-bit trie units, then the
/// replacement strings. A unit packs: bits 0-7 the label of the edge into it (bit 31 set on leaf units, so that no
/// byte label matches them), bit 8 "has a leaf child", bits 10-31 the offset to its children (shifted left by 8 more
/// when bit 9 is set); a leaf unit holds the value in bits 0-30. Child of <c>node</c> for byte <c>b</c>:
/// <c>node ^ offset(node) ^ b</c>, valid when its label is <c>b</c>; the leaf of a node is at <c>node ^ offset(node)</c>.
/// </remarks>
internal sealed class PrecompiledCharsMap
{
    private const uint LeafLabelBit = 1u << 31;
    private readonly uint[] _units;
    private readonly byte[] _replacements;

    public PrecompiledCharsMap(ReadOnlySpan<byte> blob)
    {
        if (blob.Length <= 4)
            throw new InvalidDataException("The SentencePiece normalisation rules (precompiled_charsmap) are truncated.");
        var trieBytes = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieBytes >= (uint)blob.Length - 4 || trieBytes % 4 != 0)
            throw new InvalidDataException("The trie of the SentencePiece normalisation rules runs past the end of its blob.");
        _units = new uint[trieBytes / 4];
        for (var i = 0; i < _units.Length; i++)
            _units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + 4 * i));
        _replacements = blob.Slice(4 + (int)trieBytes).ToArray();
    }

    /// <summary>
    /// The longest rule whose source is a prefix of <paramref name="input"/>: its length in bytes (0 when no rule
    /// matches) and its replacement.
    /// </summary>
    public int LongestMatch(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> replacement)
    {
        replacement = default;
        var longest = 0;
        var valueOffset = 0;
        var node = Offset(_units[0]);
        for (var i = 0; i < input.Length; i++)
        {
            node ^= input[i];
            if ((uint)node >= (uint)_units.Length)
                break;
            var unit = _units[node];
            if ((unit & (LeafLabelBit | 0xFF)) != input[i])
                break;
            node ^= Offset(unit);
            if (((unit >> 8) & 1) != 0)
            {
                longest = i + 1;
                valueOffset = (int)(_units[node] & ~LeafLabelBit);
            }
        }
        if (longest > 0)
        {
            var rest = _replacements.AsSpan(valueOffset);
            var end = rest.IndexOf((byte)0);
            replacement = end < 0 ? rest : rest[..end];
        }
        return longest;
    }

    private static int Offset(uint unit) => (int)((unit >> 10) << (int)((unit & (1u << 9)) >> 6));
}
