using Microsoft.ML.Clip.Export;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Modules;

namespace Microsoft.ML.Clip.TorchSharp.Export;

/// <summary>
/// ONNX export of a TorchSharp model through the inference package's exporter, which works on plain arrays: each
/// parameter is copied out of libtorch when the graph builder reaches it, so the export holds the model, the graph
/// being built and one weight in managed memory — not a second copy of the model.
/// </summary>
internal static class TorchOnnxExport
{
    /// <summary>Writes <paramref name="model"/> as <c>image.onnx</c>, <c>text.onnx</c> and <c>clip_model.json</c>; returns what was written.</summary>
    /// <param name="model">The model; its parameters must stay alive and unchanged during the call.</param>
    /// <param name="folder">The folder to write (created when missing).</param>
    /// <param name="source">Recorded as the source in <c>clip_model.json</c> and the graphs' metadata.</param>
    /// <param name="weightsAsFloat16">Store the weight matrices as float16.</param>
    /// <param name="imageEncoder">The frozen image encoder of a locked-image model; null otherwise.</param>
    /// <param name="textEncoder">The frozen text encoder of a locked-text model; null otherwise.</param>
    /// <param name="tokenizer">A SigLIP's tokenizer (null: CLIP's BPE).</param>
    /// <param name="preprocess">A SigLIP's image preprocessing (null: the family's default).</param>
    public static ClipOnnxExportResult Export(ClipTorchModel model, string folder, string? source, bool weightsAsFloat16 = false, FrozenImageEncoder? imageEncoder = null,
        FrozenTextEncoder? textEncoder = null, Microsoft.ML.Clip.Checkpoints.CheckpointTokenizer? tokenizer = null,
        Microsoft.ML.Clip.Imaging.ClipPreprocessSettings? preprocess = null)
    {
        var stateDict = model.state_dict();
        var plain = stateDict.ToDictionary(kv => kv.Key, kv => kv.Value.ToDeferredStateTensor(kv.Key), StringComparer.Ordinal);
        var options = new ClipOnnxExportOptions
        {
            WeightsAsFloat16 = weightsAsFloat16,
            ImageEncoder = imageEncoder is null ? null : FrozenEncoderGraph.Of(imageEncoder),
            TextEncoder = textEncoder is null ? null : FrozenTextEncoderGraph.Of(textEncoder),
            Tokenizer = model.Config.IsSiglip ? tokenizer ?? Microsoft.ML.Clip.Checkpoints.CheckpointTokenizer.ClipBpe : null,
            Preprocess = preprocess,
        };
        return ClipOnnxExporter.Export(model.Config, plain, model.LogitScale.item<float>(), folder, source, options);
    }
}
