using Microsoft.ML.Clip.Bulk;
using Microsoft.ML.Clip.Tokenization;

namespace Microsoft.ML.Clip.Models;

public sealed partial class ClipModel
{
    /// <summary>
    /// Bulk path: a lazy view of <paramref name="input"/> with an embedding column added, one ONNX Runtime call per
    /// batch, other columns passed through. The model must outlive the view's cursors.
    /// </summary>
    /// <param name="input">The data.</param>
    /// <param name="inputColumnName">Image path (<c>String</c>), bytes (<c>Vector&lt;Byte&gt;</c>), <c>Image</c> or pixels (<c>Vector&lt;Single, 3·R·R&gt;</c>).</param>
    /// <param name="outputColumnName">The embedding column, <c>Vector&lt;Single, D&gt;</c>.</param>
    /// <param name="normalize">L2-normalise the embeddings.</param>
    /// <param name="batchSize">Rows per call; null: <see cref="BatchSize"/>.</param>
    /// <param name="skipBadRows">Unreadable images give NaN rows (counted in the log) instead of an error naming the row and file.</param>
    public ClipEmbeddingDataView EmbedImages(IDataView input, string inputColumnName, string outputColumnName = "Embedding",
        bool normalize = true, int? batchSize = null, bool skipBadRows = false)
        => new(input, this, inputColumnName, outputColumnName, images: true, normalize, batchSize ?? BatchSize, skipBadRows, ClipTruncation.Truncate, _log);

    /// <summary>Bulk path for texts (<c>String</c>) or token ids (<c>Vector&lt;Int64, L&gt;</c>); see <see cref="EmbedImages(IDataView, string, string, bool, int?, bool)"/>.</summary>
    /// <param name="input">The data.</param>
    /// <param name="inputColumnName">The text column.</param>
    /// <param name="outputColumnName">The embedding column.</param>
    /// <param name="normalize">L2-normalise the embeddings.</param>
    /// <param name="batchSize">Rows per call; null: <see cref="BatchSize"/>.</param>
    /// <param name="truncation">What to do with texts longer than the context.</param>
    public ClipEmbeddingDataView EmbedTexts(IDataView input, string inputColumnName, string outputColumnName = "Embedding",
        bool normalize = true, int? batchSize = null, ClipTruncation truncation = ClipTruncation.Truncate)
        => new(input, this, inputColumnName, outputColumnName, images: false, normalize, batchSize ?? BatchSize, skipBadRows: false, truncation, _log);
}
