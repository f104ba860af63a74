using Microsoft.ML.Clip.Models;
using Microsoft.ML.Clip.TorchSharp.Modeling;
using Microsoft.ML.Clip.TorchSharp.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// One training run, tying its parts together: option checks (<see cref="ClipTrainerOptionsValidation"/>), the device
/// (<see cref="TrainingDevice"/>), the model (<see cref="ClipModelFactory"/>), the optimiser, the resumed checkpoint
/// (<see cref="ClipTrainingCheckpoint"/>) and the step loop (<see cref="ClipTrainingLoop"/>); at the end it hands the
/// model over to a <see cref="ClipTrainerTransformer"/>.
/// </summary>
internal sealed class ClipTrainingSession : IDisposable
{
    /// <summary>File name of the checkpoint in <see cref="ClipTrainerOptions.CheckpointDirectory"/>.</summary>
    public const string CheckpointFileName = ClipTrainingCheckpoint.FileName;

    private readonly ClipTrainerOptions _options;
    private readonly ClipTrainerTestHooks _hooks;
    private readonly Action<string>? _log;
    private readonly ClipTrainingState _state;
    private readonly ClipTrainingLoop _loop;
    private bool _modelHandedOver;

    private ClipTrainingSession(ClipTrainerOptions options, ClipTrainerTestHooks hooks, ClipTorchModel model, Parameter? bias,
        ClipModelFactory.ModelInputs inputs, FrozenImageEncoder? imageEncoder, FrozenTextEncoder? textEncoder, Device device, Action<string>? log)
    {
        _options = options;
        _hooks = hooks;
        _log = log;
        Inputs = inputs;
        model.to(device);
        var named = model.named_parameters().Select(p => (p.name, p.parameter)).ToList();
        // A SigLIP's bias is its own parameter (taken after the move, which replaces the parameters): already in the list.
        if (model.LogitBias is not null) bias = model.LogitBias;
        else if (bias is not null) named.Add(("logit_bias", bias));
        var optimizer = new ClipAdamW(named, options.Beta1, options.Beta2, options.Epsilon, options.WeightDecay);
        _state = new ClipTrainingState(model, bias, imageEncoder, optimizer, textEncoder);
        _loop = new ClipTrainingLoop(options, _state, device, log)
        {
            SaveCheckpoint = options.CheckpointDirectory is null ? null : (batchSize, rowCount) => SaveCheckpoint(batchSize, rowCount),
        };
    }

    /// <summary>The model, on the training device.</summary>
    public ClipTorchModel Model => _state.Model;

    /// <summary>The model's tokenizer and image preprocessing (CLIP's when null).</summary>
    public ClipModelFactory.ModelInputs Inputs { get; }

    /// <summary>
    /// Tokenization of training and of the fitted transformer: the test hook's, else the model's own tokenizer (a SigLIP's
    /// SentencePiece file), else CLIP's BPE; texts longer than the context are cut.
    /// </summary>
    public Func<IReadOnlyList<string>, int, long[]> Tokenize => _hooks.Tokenize ?? ClipTrainerTransformer.TokenizeWith(Inputs.Tokenizer);

    /// <summary>The sigmoid loss's learnable bias; null for InfoNCE.</summary>
    public Parameter? Bias => _state.Bias;

    /// <summary>The frozen image encoder of a locked-image run (<see cref="ClipTrainerOptions.ImageEncoder"/>), else null.</summary>
    public FrozenImageEncoder? ImageEncoder => _state.ImageEncoder;

    /// <summary>The frozen text encoder of a locked-text run (<see cref="ClipTrainerOptions.TextEncoder"/>), else null.</summary>
    public FrozenTextEncoder? TextEncoder => _state.TextEncoder;

    /// <summary>Called after each completed epoch with its 0-based number.</summary>
    public Action<int>? EpochCompleted
    {
        get => _loop.EpochCompleted;
        set => _loop.EpochCompleted = value;
    }

    /// <summary>Steps completed.</summary>
    public long Step => _state.Step;

    internal ClipAdamW Optimizer => _state.Optimizer;

    /// <summary>Checks the options, builds the model (preset, config or pretrained checkpoint) and restores a checkpoint when resuming.</summary>
    public static ClipTrainingSession Create(ClipTrainerOptions options, Action<string>? log, ClipTrainerTestHooks? hooks = null)
    {
        ClipTrainerOptionsValidation.Validate(options);
        using var resume = options.ResumeFrom is null ? null : ClipTrainingCheckpoint.Read(options.ResumeFrom);
        if (resume is not null) ClipTrainingCheckpoint.CheckResumeOptions(resume, options);
        var device = TrainingDevice.Resolve(options.Device);
        FrozenImageEncoder? encoder = null;
        FrozenTextEncoder? textEncoder = null;
        ClipTrainingSession? session = null;
        try
        {
            encoder = ClipModelFactory.CreateImageEncoder(options, device, log);
            textEncoder = ClipModelFactory.CreateTextEncoder(options, device, log);
            var (model, bias, inputs) = ClipModelFactory.Create(options, resume, encoder, device, log, textEncoder);
            session = new ClipTrainingSession(options, hooks ?? ClipTrainerTestHooks.None, model, bias, inputs, encoder, textEncoder, device, log);
            if (resume is not null) ClipTrainingCheckpoint.Restore(session._state, resume, options.Loss);
            return session;
        }
        catch
        {
            // The session owns the encoders once it exists.
            if (session is not null) session.Dispose();
            else
            {
                encoder?.Dispose();
                textEncoder?.Dispose();
            }
            throw;
        }
    }

    /// <summary>Trains to the end of the configured epochs.</summary>
    /// <exception cref="OperationCanceledException">Cancelled (a checkpoint is written first when a folder is set).</exception>
    /// <exception cref="ClipTrainingDivergedException">The loss became NaN or infinite.</exception>
    public void Run(IClipBatchSource source) => _loop.Run(source);

    /// <summary>One optimiser step on <paramref name="batch"/>; returns the loss.</summary>
    internal float TrainStep(ClipTrainingBatch batch, double learningRate) => _loop.TrainStep(batch, learningRate);

    /// <summary>Writes the checkpoint atomically (see <see cref="ClipTrainingCheckpoint.Save"/>).</summary>
    internal string SaveCheckpoint(int batchSize, long rowCount)
    {
        var path = ClipTrainingCheckpoint.Save(_state, _options, Inputs, batchSize, rowCount, _hooks.CheckpointTensorWritten);
        _log?.Invoke($"Checkpoint at step {Step}: {path}");
        return path;
    }

    /// <summary>Hands the trained model to a transformer (this session must not be disposed with it: the model moves).</summary>
    internal ClipTrainerTransformer ToTransformer(string imageColumn, string textColumn)
    {
        var transformer = new ClipTrainerTransformer(Model, Bias?.item<float>(), _options.Loss, imageColumn, textColumn,
            _options.ImageEmbeddingColumnName, _options.TextEmbeddingColumnName, _hooks.Tokenize, ImageEncoder, TextEncoder, Inputs);
        _modelHandedOver = true;
        return transformer;
    }

    public void Dispose()
    {
        _state.Optimizer.Dispose();
        // A SigLIP's bias is the model's own and goes with it.
        if (Model.LogitBias is null) Bias?.Dispose();
        if (!_modelHandedOver)
        {
            Model.Dispose();
            ImageEncoder?.Dispose();
            TextEncoder?.Dispose();
        }
    }
}
