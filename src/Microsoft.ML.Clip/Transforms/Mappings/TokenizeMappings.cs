using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Microsoft.ML.Clip.Transforms.Mappings;

/// <summary>Row holding one text.</summary>
public sealed class TextRow
{
    /// <summary>The text.</summary>
    [ColumnName(ClipColumns.TextIn)] public string Text = "";
}

/// <summary>Row holding one CLIP context of token ids (77, the only context length CLIP models use).</summary>
public sealed class TokenIds77Row
{
    /// <summary>Start token, BPE ids, end token, zero padding.</summary>
    [ColumnName(ClipColumns.TokenIds), VectorType(ClipTokenizer.DefaultContextLength)]
    public long[] Ids = new long[ClipTokenizer.DefaultContextLength];
}

/// <summary>Base of the tokenizing <c>CustomMapping</c> factories; the truncation mode is part of the contract name.</summary>
public abstract class ClipTokenizeMappingBase : CustomMappingFactory<TextRow, TokenIds77Row>
{
    private readonly ClipTruncation _truncation;

    private protected ClipTokenizeMappingBase(ClipTruncation truncation) => _truncation = truncation;

    /// <inheritdoc/>
    public override Action<TextRow, TokenIds77Row> GetMapping()
    {
        var truncation = _truncation;
        return (src, dst) =>
        {
            dst.Ids ??= new long[ClipTokenizer.DefaultContextLength];
            ClipTokenizer.Default.EncodeToContext(src.Text ?? "", dst.Ids, truncation);
        };
    }

    /// <summary>The factory for <paramref name="truncation"/> (null when the context length has none).</summary>
    internal static (string Contract, Action<TextRow, TokenIds77Row> Map)? For(int contextLength, ClipTruncation truncation)
    {
        if (contextLength != ClipTokenizer.DefaultContextLength)
            return null;
        ClipTokenizeMappingBase factory = truncation == ClipTruncation.Truncate ? new ClipTokenizeTruncateMapping() : new ClipTokenizeThrowMapping();
        var contract = truncation == ClipTruncation.Truncate ? ClipTokenizeTruncateMapping.ContractName : ClipTokenizeThrowMapping.ContractName;
        return (contract, factory.GetMapping());
    }
}

/// <summary>Tokenizes to 77 ids, cutting long texts (last id stays the end token).</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ClipTokenizeTruncateMapping : ClipTokenizeMappingBase
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Tokenize.L77.Truncate.v1";

    /// <summary>Creates the factory.</summary>
    public ClipTokenizeTruncateMapping() : base(ClipTruncation.Truncate) { }
}

/// <summary>Tokenizes to 77 ids, throwing on texts that do not fit.</summary>
[CustomMappingFactoryAttribute(ContractName)]
public sealed class ClipTokenizeThrowMapping : ClipTokenizeMappingBase
{
    /// <summary>Contract name stored in saved models.</summary>
    public const string ContractName = "Microsoft.ML.Clip.Tokenize.L77.Throw.v1";

    /// <summary>Creates the factory.</summary>
    public ClipTokenizeThrowMapping() : base(ClipTruncation.Throw) { }
}
