namespace Microsoft.ML.Clip.TorchSharp.Training;

/// <summary>
/// The image column, 0-based data-view row and what is wrong, for an error about the image in one row of the training data,
/// carried as data in the exception's <see cref="Exception.Data"/>. The exception keeps its type (<see cref="InvalidDataException"/>,
/// which is sealed, or <see cref="FileNotFoundException"/>) and its message, which names the column and row as well
/// (<c>Column 'ImagePath', row 5: …</c>); a front end that maps rows back to its own lines (<c>clip train</c>: TSV lines) reads
/// them with <see cref="Of"/>, never out of the message, whose paths may hold the same words.
/// </summary>
/// <param name="Column">The image column.</param>
/// <param name="Row">The 0-based row of the data view.</param>
/// <param name="Detail">What is wrong with the image: the message without the column and row in front of it.</param>
// friend: used by clip-train (TrainCommand names the TSV line of the row)
internal sealed record ClipImageRowError(string Column, long Row, string Detail)
{
    private const string ColumnKey = "Microsoft.ML.Clip.ImageColumn";
    private const string RowKey = "Microsoft.ML.Clip.ImageRow";
    private const string DetailKey = "Microsoft.ML.Clip.ImageError";

    /// <summary><c>Column 'ImagePath', row 5</c>: the image of <paramref name="row"/> in messages.</summary>
    public static string Name(string column, long row) => $"Column '{column}', row {row}";

    /// <summary>The row <paramref name="e"/> is about, or null when it is not about the image of a row.</summary>
    public static ClipImageRowError? Of(Exception e) =>
        e.Data[ColumnKey] is string column && e.Data[RowKey] is long row && e.Data[DetailKey] is string detail ? new(column, row, detail) : null;

    /// <summary>An <see cref="InvalidDataException"/> <c>Column '<paramref name="column"/>', row <paramref name="row"/>:
    /// <paramref name="detail"/></c> that carries them.</summary>
    public static InvalidDataException Naming(string column, long row, string detail, Exception? innerException) =>
        Attach(new InvalidDataException($"{Name(column, row)}: {detail}", innerException), column, row, detail);

    /// <summary>Puts <paramref name="column"/>, <paramref name="row"/> and <paramref name="detail"/> into <paramref name="e"/>'s
    /// <see cref="Exception.Data"/>; returns <paramref name="e"/>.</summary>
    public static TException Attach<TException>(TException e, string column, long row, string detail) where TException : Exception
    {
        e.Data[ColumnKey] = column;
        e.Data[RowKey] = row;
        e.Data[DetailKey] = detail;
        return e;
    }

    /// <summary>Runs <paramref name="step"/> on the image of one row; a decoding error becomes <see cref="Naming"/>'s
    /// <c>Column '…', row N: …</c> with the decoder's message (which names the file) as the detail, as the training batches
    /// report it.</summary>
    public static T Read<T>(string column, long row, Func<T> step)
    {
        try
        {
            return step();
        }
        catch (InvalidDataException e) when (Of(e) is null)
        {
            throw Naming(column, row, e.Message, e);
        }
    }

    /// <summary>What a row's image is decoded as in messages: its file when it is a path, else <see cref="Name"/>.</summary>
    public static string SourceName(object image, string column, long row)
        => image is ClipImageColumn.ImagePath path ? path.Path : Name(column, row);
}
