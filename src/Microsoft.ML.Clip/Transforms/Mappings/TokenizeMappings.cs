using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>Row holding one text and the tokenizer spec.</summary>
internal sealed class TextRow
{
    /// <summary>The text.</summary>
    [ColumnName(ClipColumns.TextIn)] public string Text = "";

    /// <summary>JSON of <see cref="ClipTokenizerSpec"/>.</summary>
    [ColumnName(ClipColumns.TokenizerSpec)] public ReadOnlyMemory<char> Spec;
}

/// <summary>
/// Row holding one row of token ids; a variable-size vector, as the context length comes from the spec (and, for a text
/// encoder of any length, each row is cut after its text).
/// </summary>
internal sealed class TokenIdsRow
{
    /// <summary>Start token, ids, end token, zero padding.</summary>
    [ColumnName(ClipColumns.TokenIds)] public long[] Ids = [];
}

/// <summary>
/// <c>CustomMapping</c> factory: tokenizes each row's text with the tokenizer its spec describes (parsed once per spec
/// string), into the spec's context length, cutting or throwing on long texts as the spec says. When the spec says the
/// text encoder takes any length (<see cref="ClipTokenizerSpec.CutsPadding"/>), each row ends after its text: ML.NET runs
/// the encoder one row at a time, so every row gets its own length.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class ClipTokenizeMapping : CustomMappingFactory<TextRow, TokenIdsRow>
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Tokenize.v2";

    /// <inheritdoc/>
    public override Action<TextRow, TokenIdsRow> GetMapping()
    {
        var tokenizers = new ParsedParameters<(ClipTokenizerSpec Spec, ContextEncoder Encode)>(json =>
        {
            var spec = ClipTokenizerSpec.Parse(json);
            return (spec, spec.CreateEncoder());
        });
        // A full-context row to encode into before the cut (one per thread: ML.NET may map rows on parallel cursors).
        var scratch = new ThreadLocal<long[]>(() => []);
        return (src, dst) =>
        {
            var (spec, encode) = tokenizers.Get(src.Spec);
            if (!spec.CutsPadding)
            {
                if (dst.Ids.Length != spec.ContextLength)
                    dst.Ids = new long[spec.ContextLength];
                encode(src.Text ?? "", dst.Ids, spec.TruncationMode);
                return;
            }
            var row = scratch.Value!;
            if (row.Length != spec.ContextLength)
                scratch.Value = row = new long[spec.ContextLength];
            row.AsSpan().Clear();
            encode(src.Text ?? "", row, spec.TruncationMode);
            var length = Models.ClipModel.UsedLength(row, spec.PadId ?? 0);
            if (dst.Ids.Length != length)
                dst.Ids = new long[length];
            row.AsSpan(0, length).CopyTo(dst.Ids);
        };
    }
}
