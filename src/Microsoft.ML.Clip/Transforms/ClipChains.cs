using Microsoft.ML.Clip.Graphs;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tokenization;
using Microsoft.ML.Clip.Transforms.Mappings;
using Microsoft.ML.Data;

namespace Microsoft.ML.Clip.Transforms;

/// <summary>Builds the chains of built-in ML.NET estimators the CLIP catalog methods return inside their wrappers.</summary>
internal static class ClipChains
{
    /// <summary>Starts an empty chain.</summary>
    public static EstimatorChain<ITransformer> Empty() => new();

    /// <summary>Appends an estimator keeping the chain's transformer type general.</summary>
    public static EstimatorChain<ITransformer> Then(this EstimatorChain<ITransformer> chain, IEstimator<ITransformer> next) => chain.Append(next);

    /// <summary>
    /// Image column → <see cref="ClipColumns.Embedding"/> (float [D]), raw or L2-normalised; temporary columns
    /// are added to <paramref name="temporary"/>.
    /// </summary>
    public static EstimatorChain<ITransformer> ImageEmbedding(EstimatorChain<ITransformer> chain, TransformsCatalog catalog, ClipModel model,
        ClipInputKind kind, string inputColumn, bool normalize, bool skipBadRows, OnnxPlacement onnx, List<string> temporary)
    {
        var info = model.Info;
        float[]? mean = null, std = null;
        if (kind == ClipInputKind.Pixels)
        {
            chain = chain.Then(catalog.CopyColumns(ClipColumns.Pixels, inputColumn));
        }
        else
        {
            var settings = info.ToPreprocessSettings();
            chain = chain.Then(catalog.CopyColumns(ClipColumns.ImageIn, inputColumn));
            chain = ParameterColumns.Add(chain, catalog, ClipColumns.PixelParameters, ClipPixelParameters.For(info, skipBadRows).ToJson(), temporary);
            chain = kind switch
            {
                ClipInputKind.ImagePath => chain.Then(catalog.CustomMapping(new ClipPathPixelMapping().GetMapping(), ClipPathPixelMapping.ContractName)),
                ClipInputKind.Image => chain.Then(new MLImageMappingEstimator(catalog, new ClipMLImagePixelMapping().GetMapping(), ClipMLImagePixelMapping.ContractName)),
                _ => chain.Then(catalog.CustomMapping(new ClipBytesPixelMapping().GetMapping(), ClipBytesPixelMapping.ContractName)),
            };
            temporary.Add(ClipColumns.ImageIn);
            mean = settings.Mean;
            std = settings.Std;
        }
        temporary.Add(ClipColumns.Pixels);
        var graph = ClipOnnxGraphs.WrapImageEncoder(ModelFolderFiles.ReadAllBytesVerified(model.Folder, info, info.ImageModelFile, "Image encoder"), EncoderSignature.PixelValues, EncoderSignature.ImageEmbeds,
            info.ImageResolution, info.EmbedDim, mean, std, normalize, ClipColumns.Pixels, ClipColumns.Embedding, variableLength: kind != ClipInputKind.Pixels);
        temporary.Add(ClipColumns.Embedding);
        return chain.Then(onnx.Apply(ClipColumns.Embedding, ClipColumns.Pixels, graph));
    }

    /// <summary>Text column → <see cref="ClipColumns.Embedding"/> (float [D]).</summary>
    public static EstimatorChain<ITransformer> TextEmbedding(EstimatorChain<ITransformer> chain, TransformsCatalog catalog, ClipModel model,
        ClipInputKind kind, string inputColumn, bool normalize, ClipTruncation truncation, OnnxPlacement onnx, List<string> temporary)
    {
        var info = model.Info;
        if (kind == ClipInputKind.TokenIds)
        {
            chain = chain.Then(catalog.CopyColumns(ClipColumns.TokenIds, inputColumn));
        }
        else
        {
            chain = chain.Then(catalog.CopyColumns(ClipColumns.TextIn, inputColumn));
            chain = ParameterColumns.Add(chain, catalog, ClipColumns.TokenizerSpec, ClipTokenizerSpec.For(info, model.Folder, truncation).ToJson(), temporary);
            chain = chain.Then(catalog.CustomMapping(new ClipTokenizeMapping().GetMapping(), ClipTokenizeMapping.ContractName));
            temporary.Add(ClipColumns.TextIn);
        }
        temporary.Add(ClipColumns.TokenIds);
        var graph = ClipOnnxGraphs.WrapTextEncoder(ModelFolderFiles.ReadAllBytesVerified(model.Folder, info, info.TextModelFile, "Text encoder"), EncoderSignature.InputIds, EncoderSignature.TextEmbeds,
            info.Tokenizer.ContextLength, info.EmbedDim, normalize, ClipColumns.TokenIds, ClipColumns.Embedding, variableLength: kind != ClipInputKind.TokenIds);
        temporary.Add(ClipColumns.Embedding);
        return chain.Then(onnx.Apply(ClipColumns.Embedding, ClipColumns.TokenIds, graph));
    }

    /// <summary>Copies <see cref="ClipColumns.Embedding"/> to the output column and drops the temporary columns.</summary>
    public static EstimatorChain<ITransformer> Finish(EstimatorChain<ITransformer> chain, TransformsCatalog catalog, string outputColumn, List<string> temporary)
        => chain.Then(catalog.CopyColumns(outputColumn, ClipColumns.Embedding)).Then(catalog.DropColumns([.. temporary.Distinct()]));
}
