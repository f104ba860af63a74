using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Imaging;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// What a trainer's file (<see cref="ClipPackageFile"/>) records of a model's inputs besides its weights, when they are not
/// CLIP's defaults: the tokenizer (header <c>tokenizer</c>: kind and file name; the file's bytes as the uint8 tensor
/// <see cref="TokenizerTensorName"/>) and the image preprocessing (header <c>preprocess</c>). A fine-tuned SigLIP carries
/// its SentencePiece file this way, so that its exported folder, a resumed run and a reloaded model tokenize as it was
/// trained. Files without them read as CLIP's BPE and the family's default preprocessing.
/// </summary>
// friend: used by Microsoft.ML.Clip.TorchSharp (the trainer's model and checkpoint files write and read these)
internal static class ClipPackageInputs
{
    /// <summary>The tensor holding the tokenizer file's bytes.</summary>
    public const string TokenizerTensorName = "tokenizer.file";

    /// <summary>
    /// Adds <paramref name="tokenizer"/> and <paramref name="preprocess"/> to <paramref name="header"/> (nothing for CLIP's BPE
    /// and a null preprocessing); returns the tokenizer file's bytes to store as <see cref="TokenizerTensorName"/>, or null.
    /// </summary>
    public static byte[]? Write(JsonObject header, CheckpointTokenizer? tokenizer, ClipPreprocessSettings? preprocess)
    {
        if (tokenizer is not null && tokenizer.Kind != CheckpointTokenizer.ClipBpe.Kind)
            header["tokenizer"] = new JsonObject { ["kind"] = tokenizer.Kind, ["file"] = tokenizer.FileName };
        if (preprocess is not null)
            header["preprocess"] = new JsonObject
            {
                ["resolution"] = preprocess.Resolution,
                ["resize_mode"] = preprocess.ResizeMode.ToString(),
                ["mean"] = new JsonArray([.. preprocess.Mean.Select(v => (JsonNode)v)]),
                ["std"] = new JsonArray([.. preprocess.Std.Select(v => (JsonNode)v)]),
                ["convert_rgb_first"] = preprocess.ConvertRgbFirst,
            };
        return tokenizer?.FileBytes;
    }

    /// <summary>The tokenizer (null: CLIP's BPE) and preprocessing (null: the default) a file records.</summary>
    /// <param name="header">The file's header.</param>
    /// <param name="tokenizerBytes">The bytes of the tensor <see cref="TokenizerTensorName"/>, null when the file has none.</param>
    /// <exception cref="InvalidDataException">The header names a tokenizer file the tensors do not hold.</exception>
    public static (CheckpointTokenizer? Tokenizer, ClipPreprocessSettings? Preprocess) Read(ClipPackageHeader header, byte[]? tokenizerBytes)
    {
        CheckpointTokenizer? tokenizer = null;
        if (header.OptionalObject("tokenizer") is { } t)
        {
            var file = t.OptionalString("file");
            if (file is not null && tokenizerBytes is null)
                throw new InvalidDataException($"{header.Source} names the tokenizer file '{file}' but does not hold it (corrupt file).");
            tokenizer = new CheckpointTokenizer(t.String("kind"), file, file is null ? null : tokenizerBytes);
        }
        ClipPreprocessSettings? preprocess = null;
        if (header.OptionalObject("preprocess") is { } p)
            preprocess = new ClipPreprocessSettings
            {
                Resolution = p.Int32("resolution"),
                ResizeMode = p.Enum<ClipResizeMode>("resize_mode"),
                Mean = p.SingleArray("mean"),
                Std = p.SingleArray("std"),
                ConvertRgbFirst = p.OptionalBoolean("convert_rgb_first") ?? false,
            };
        return (tokenizer, preprocess);
    }
}
