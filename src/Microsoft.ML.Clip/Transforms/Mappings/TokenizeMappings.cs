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

/// <summary>Row holding one context of token ids; a variable-size vector, as the context length comes from the spec.</summary>
internal sealed class TokenIdsRow
{
    /// <summary>Start token, ids, end token, zero padding.</summary>
    [ColumnName(ClipColumns.TokenIds)] public long[] Ids = [];
}

/// <summary>
/// <c>CustomMapping</c> factory: tokenizes each row's text with the tokenizer its spec describes (parsed once per spec
/// string), into the spec's context length, cutting or throwing on long texts as the spec says.
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
        return (src, dst) =>
        {
            var (spec, encode) = tokenizers.Get(src.Spec);
            if (dst.Ids.Length != spec.ContextLength)
                dst.Ids = new long[spec.ContextLength];
            encode(src.Text ?? "", dst.Ids, spec.TruncationMode);
        };
    }
}
