using System.Text.Json.Nodes;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Imaging;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Checkpoints;
using Microsoft.ML.Clip.TorchSharp.Export;
using Microsoft.ML.Clip.TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

// The transformer's files: the ONNX export (the inference currency) and this package's own model format.
public sealed partial class ClipTrainerTransformer
{
    private const string ModelKind = ClipPackageFile.ModelKind;

    /// <summary>
    /// Writes the model as <c>image.onnx</c>, <c>text.onnx</c> and <c>clip_model.json</c> into <paramref name="folder"/>
    /// (the inference currency: the ONNX embedders and <c>clip</c> commands load it). The same files as
    /// <see cref="ClipModelConverter.ConvertToOnnx"/> writes from the model's saved file.
    /// </summary>
    /// <param name="folder">The folder to write: created when missing, replaced whole when it holds a model (built beside it and
    /// swapped in complete, so a reader sees the old model or the new one; <c>clip_model.json</c> records every file's
    /// SHA-256). A folder holding files that are not a model's is refused.</param>
    /// <param name="weightsAsFloat16">Store the weight matrices as float16 (see <see cref="ClipConversionOptions.WeightsAsFloat16"/>;
    /// trained weights are float32, so they are rounded).</param>
    /// <exception cref="IOException">Another process writes <paramref name="folder"/>, or it holds files that are not a model's.</exception>
    public ClipModelInfo ExportOnnx(string folder, bool weightsAsFloat16 = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        using var staged = StagedModelFolder.Begin(folder);
        ExportOnnxInto(staged.Path, weightsAsFloat16);
        staged.Commit();
        return ClipModelInfo.Load(Path.Combine(staged.Target, ClipModelInfo.FileName));
    }

    /// <summary>Writes the ONNX files into <paramref name="folder"/> as it is (a staging folder of the caller's).</summary>
    // friend: used by clip-train (its out folder is staged whole, with the model file and the safetensors beside the ONNX files)
    internal ClipModelInfo ExportOnnxInto(string folder, bool weightsAsFloat16 = false)
    {
        lock (_sync)
            return TorchOnnxExport.Export(_model, folder, ClipPackageWeights.TrainedModelSource, weightsAsFloat16, ImageEncoder, TextEncoder, Inputs.Tokenizer, Inputs.Preprocess).Info;
    }

    /// <summary>
    /// Saves the model in this package's format: magic, format version, a JSON header (config, temperature, bias,
    /// loss, column names) and the weights (OpenAI state-dict names, float32).
    /// </summary>
    public void Save(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        var header = new JsonObject
        {
            ["kind"] = ModelKind,
            ["config"] = ClipConfigJson.Serialize(Config, indented: false),
            ["logit_scale"] = LogitScale,
            ["logit_bias"] = LogitBias,
            ["loss"] = Loss.ToString(),
            ["image_column"] = ImageColumnName,
            ["text_column"] = TextColumnName,
            ["image_embedding_column"] = ImageEmbeddingColumnName,
            ["text_embedding_column"] = TextEmbeddingColumnName,
        };
        var tensors = _model.state_dict().Select(kv => (kv.Key, kv.Value)).ToList();
        // A SigLIP's tokenizer file and preprocessing travel with it, so that the file converts and reloads as trained.
        var tokenizerFile = ClipPackageInputs.Write(header, Inputs.Tokenizer, Inputs.Preprocess);
        using var tokenizerTensor = tokenizerFile is null ? null : tensor(tokenizerFile);
        if (tokenizerTensor is not null) tensors.Add((ClipPackageInputs.TokenizerTensorName, tokenizerTensor));
        using var encoderGraph = ImageEncoder is null ? null : tensor(ImageEncoder.GraphBytes);
        if (ImageEncoder is not null)
        {
            // The frozen encoder travels inside the model file, so a saved LiT model loads and exports on its own.
            header[ClipPackageHeader.ImageEncoderNameKey] = ImageEncoder.Name;
            header[ClipPackageHeader.ImageEncoderIdKey] = ImageEncoder.Id;
            header["image_encoder_preprocess"] = new JsonObject
            {
                ["resolution"] = ImageEncoder.Preprocess.Resolution,
                ["resize_mode"] = ImageEncoder.Preprocess.ResizeMode.ToString(),
                ["mean"] = new JsonArray([.. ImageEncoder.Preprocess.Mean.Select(v => (JsonNode)v)]),
                ["std"] = new JsonArray([.. ImageEncoder.Preprocess.Std.Select(v => (JsonNode)v)]),
            };
            tensors.Add((ImageEncoderTensorName, encoderGraph!));
        }
        using var textGraph = TextEncoder is null ? null : tensor(TextEncoder.GraphBytes);
        using var vocabulary = TextEncoder is null ? null : tensor(TextEncoder.VocabularyBytes);
        if (TextEncoder is not null)
        {
            // So does a frozen text encoder with its vocabulary (the normal-form graph: mask, pooling and normalisation inside).
            ClipPackageTextEncoder.WriteHeader(header, TextEncoder.Name, TextEncoder.Id, TextEncoder.Settings);
            tensors.Add((ClipPackageTextEncoder.GraphTensorName, textGraph!));
            tensors.Add((ClipPackageTextEncoder.VocabularyTensorName, vocabulary!));
        }
        lock (_sync) ClipPackageTensors.Write(stream, header, tensors);
    }

    /// <summary>Saves to a file (see <see cref="Save(Stream)"/>), through a temporary file and a rename so that a
    /// failed save never leaves a truncated model in place of an earlier one.</summary>
    public void Save(string path) => AtomicFile.Write(path, Save);

    /// <summary>Whether <paramref name="path"/> is a file in this package's model format (written by <see cref="Save(string)"/>).</summary>
    public static bool IsSavedModel(string path) =>
        File.Exists(path) && ClipPackageFile.IsPackageFile(path) && ClipPackageFile.ReadHeader(path).Kind == ModelKind;

    /// <summary>Loads a model written by <see cref="Save(Stream)"/> onto the CPU.</summary>
    /// <exception cref="InvalidDataException">The stream is not such a model, or is truncated.</exception>
    public static ClipTrainerTransformer Load(MLContext mlContext, Stream stream) => Load(mlContext, stream, "model stream");

    /// <summary>Loads a model file written by <see cref="Save(string)"/>.</summary>
    public static ClipTrainerTransformer Load(MLContext mlContext, string path)
    {
        using var stream = File.OpenRead(path);
        return Load(mlContext, stream, path);
    }

    internal static ClipTrainerTransformer Load(MLContext mlContext, Stream stream, string source, Func<IReadOnlyList<string>, int, long[]>? tokenize = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        var (header, tensors) = ClipPackageTensors.Read(stream, source);
        try
        {
            if (header.Kind != ModelKind)
                throw new InvalidDataException($"{source} is a {header.Kind ?? "file of no kind"}, not a trained model (resume a checkpoint with ClipTrainerOptions.ResumeFrom).");
            var model = new ClipTorchModel(header.Config);
            FrozenImageEncoder? encoder = null;
            FrozenTextEncoder? textEncoder = null;
            try
            {
                encoder = ReadImageEncoder(header, tensors, source);
                textEncoder = ClipPackageTextEncoder.Read(header, name => tensors.TryGetValue(name, out var t) ? t.data<byte>().ToArray() : null, source) is { } text
                    ? FrozenTextEncoder.FromGraph(text.Name, text.GraphBytes, text.VocabularyBytes, text.Settings)
                    : null;
                model.LoadStateDict(tensors.Where(t => ClipPackageFile.IsModelWeight(t.Key)).ToDictionary(), source);
                return new ClipTrainerTransformer(model, header.OptionalSingle("logit_bias"), header.Enum<ClipLossKind>("loss"),
                    header.String("image_column"), header.String("text_column"),
                    header.String("image_embedding_column"), header.String("text_embedding_column"), tokenize, encoder, textEncoder,
                    ClipModelFactory.ModelInputs.Read(header, tensors));
            }
            catch
            {
                model.Dispose();
                encoder?.Dispose();
                textEncoder?.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        "ML.NET cannot persist a TorchSharp CLIP model through mlContext.Model.Save. Use ClipTrainerTransformer.Save(Stream) / " +
        "ClipTrainerTransformer.Load(MLContext, Stream), or ExportOnnx(folder) and the ONNX embedders, which mlContext.Model.Save can store.");

    private static FrozenImageEncoder? ReadImageEncoder(ClipPackageHeader header, Dictionary<string, Tensor> tensors, string source)
    {
        if (!tensors.TryGetValue(ImageEncoderTensorName, out var graph)) return null;
        var settings = header.OptionalObject("image_encoder_preprocess")
            ?? throw new InvalidDataException($"{source}: the frozen image encoder has no preprocessing in the header.");
        var preprocess = new ClipPreprocessSettings
        {
            Resolution = settings.Int32("resolution"),
            ResizeMode = settings.Enum<ClipResizeMode>("resize_mode"),
            Mean = settings.SingleArray("mean"),
            Std = settings.SingleArray("std"),
        };
        var encoder = FrozenImageEncoder.FromGraph(header.OptionalString(ClipPackageHeader.ImageEncoderNameKey) ?? "image encoder", graph.data<byte>().ToArray(), preprocess);
        if (encoder.Id != header.OptionalString(ClipPackageHeader.ImageEncoderIdKey))
        {
            encoder.Dispose();
            throw new InvalidDataException($"{source}: the frozen image encoder's graph does not match its recorded id (corrupt file).");
        }
        return encoder;
    }
}
