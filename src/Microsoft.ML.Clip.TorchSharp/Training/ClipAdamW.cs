using Microsoft.ML.Clip.TorchSharp.Modeling;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// AdamW (decoupled weight decay, PyTorch's update rule) over named parameters, in two groups: with and without
/// weight decay. Written here rather than taken from <c>torch.optim</c> so that its whole state (step and both
/// moments per parameter) is plain named tensors a checkpoint can save and restore exactly.
/// </summary>
internal sealed class ClipAdamW : IDisposable
{
    private readonly List<Entry> _entries = [];

    public ClipAdamW(IEnumerable<(string Name, Parameter Parameter)> parameters, double beta1, double beta2, double epsilon, double weightDecay)
    {
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
        foreach (var (name, parameter) in parameters)
        {
            if (!parameter.requires_grad) continue; // frozen towers are not optimised at all
            _entries.Add(new Entry(name, parameter, UsesWeightDecay(name, parameter),
                zeros_like(parameter).DetachFromDisposeScope(), zeros_like(parameter).DetachFromDisposeScope()));
        }
    }

    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Epsilon { get; }
    public double WeightDecay { get; }

    /// <summary>Steps taken so far (bias correction uses it).</summary>
    public long StepCount { get; private set; }

    /// <summary>The optimised parameters.</summary>
    public IEnumerable<Parameter> Parameters => _entries.Select(e => e.Parameter);

    /// <summary>Names of the optimised parameters, each with whether weight decay applies.</summary>
    public IEnumerable<(string Name, bool Decay)> Groups => _entries.Select(e => (e.Name, e.Decay));

    /// <summary>
    /// No decay on biases, norms and other 1-D parameters, embeddings (token, positional, class), the temperature and
    /// the sigmoid bias — open_clip's rule, plus the embeddings.
    /// </summary>
    public static bool UsesWeightDecay(string name, Tensor parameter)
    {
        if (parameter.dim() < 2) return false;
        var leaf = name[(name.LastIndexOf('.') + 1)..];
        if (leaf == "bias" || name.Contains("embedding", StringComparison.Ordinal)) return false;
        if (name.Contains("ln_", StringComparison.Ordinal) || name.Contains(".bn", StringComparison.Ordinal)) return false;
        return name != "logit_scale" && name != "logit_bias";
    }

    /// <summary>One update at <paramref name="learningRate"/> from the parameters' current gradients (missing ones are skipped).</summary>
    public void Step(double learningRate)
    {
        StepCount++;
        var correction1 = 1 - Math.Pow(Beta1, StepCount);
        var sqrtCorrection2 = Math.Sqrt(1 - Math.Pow(Beta2, StepCount));
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        foreach (var entry in _entries)
        {
            var grad = entry.Parameter.grad;
            if (grad is null) continue;
            entry.ExpAvg.TimesInPlace(Beta1).AddInPlace(grad, 1 - Beta1);
            entry.ExpAvgSq.TimesInPlace(Beta2).AddProductInPlace(grad, grad, 1 - Beta2);
            if (entry.Decay && WeightDecay != 0) entry.Parameter.TimesInPlace(1 - learningRate * WeightDecay);
            var denominator = entry.ExpAvgSq.sqrt().DividedByInPlace(sqrtCorrection2).AddInPlace(Epsilon);
            entry.Parameter.AddQuotientInPlace(entry.ExpAvg, denominator, -learningRate / correction1);
        }
    }

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        using var scope = NewDisposeScope(); // the grad wrappers made here are released with it
        foreach (var entry in _entries)
        {
            var grad = entry.Parameter.grad;
            if (grad is null) continue;
            grad.zero_();
        }
    }

    /// <summary>The state as named tensors (<c>exp_avg.NAME</c>, <c>exp_avg_sq.NAME</c>), shared, not copied.</summary>
    public IEnumerable<(string Name, Tensor Tensor)> State()
    {
        foreach (var entry in _entries)
        {
            yield return ("exp_avg." + entry.Name, entry.ExpAvg);
            yield return ("exp_avg_sq." + entry.Name, entry.ExpAvgSq);
        }
    }

    /// <summary>Restores the state written by <see cref="State"/> and the step count.</summary>
    /// <exception cref="InvalidDataException">A tensor is missing or has another shape.</exception>
    public void Load(IReadOnlyDictionary<string, Tensor> state, long stepCount, string source)
    {
        using var _ = no_grad();
        foreach (var entry in _entries)
        {
            Copy("exp_avg." + entry.Name, entry.ExpAvg);
            Copy("exp_avg_sq." + entry.Name, entry.ExpAvgSq);
        }
        StepCount = stepCount;

        void Copy(string name, Tensor destination)
        {
            if (!state.TryGetValue(name, out var value))
                throw new InvalidDataException($"{source}: optimiser state '{name}' is missing (was the checkpoint written with other locked towers?).");
            if (!value.shape.SequenceEqual(destination.shape))
                throw new InvalidDataException($"{source}: optimiser state '{name}' is [{string.Join(", ", value.shape)}], expected [{string.Join(", ", destination.shape)}].");
            destination.copy_(value);
        }
    }

    public void Dispose()
    {
        foreach (var entry in _entries)
        {
            entry.ExpAvg.Dispose();
            entry.ExpAvgSq.Dispose();
        }
        _entries.Clear();
    }

    private sealed record Entry(string Name, Parameter Parameter, bool Decay, Tensor ExpAvg, Tensor ExpAvgSq);
}
