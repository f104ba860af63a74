using System.Text;

namespace Microsoft.ML.Clip.TorchSharp.Modules;

/// <summary>
/// Thrown by <see cref="ClipTorchModel.LoadStateDict"/> when the weights do not fit the model: it lists the
/// missing and unexpected names and the tensors whose shape or kind differs.
/// </summary>
public sealed class StateDictMismatchException : ArgumentException
{
    private const int MaxListed = 20;

    /// <summary>Creates the exception.</summary>
    public StateDictMismatchException(string? source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapeMismatches)
        : base(Describe(source, missing, unexpected, shapeMismatches), "stateDict")
    {
        Missing = missing;
        Unexpected = unexpected;
        ShapeMismatches = shapeMismatches;
    }

    /// <summary>Names the model has and the weights lack.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>Names in the weights the model does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>One line per tensor whose shape (or integer/floating kind) differs: name, expected, got.</summary>
    public IReadOnlyList<string> ShapeMismatches { get; }

    private static string Describe(string? source, IReadOnlyList<string> missing, IReadOnlyList<string> unexpected, IReadOnlyList<string> shapes)
    {
        var text = new StringBuilder("The weights");
        if (source is not null) text.Append($" of '{source}'");
        text.Append(" do not fit the CLIP model.");
        void List(string title, IReadOnlyList<string> items)
        {
            if (items.Count == 0) return;
            text.Append($" {title} ({items.Count}): ").Append(string.Join("; ", items.Take(MaxListed)));
            if (items.Count > MaxListed) text.Append($"; … and {items.Count - MaxListed} more");
            text.Append('.');
        }
        List("Missing keys", missing);
        List("Unexpected keys", unexpected);
        List("Shape mismatches", shapes);
        return text.ToString();
    }
}
