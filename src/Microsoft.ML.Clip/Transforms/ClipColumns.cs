namespace Microsoft.ML.Clip.Transforms;

/// <summary>Names of the temporary columns the CLIP pipelines use and drop again.</summary>
/// <remarks>
/// A <c>CustomMapping</c> reloaded from a saved model reads and writes the column names of its row
/// classes, so they are fixed here; user columns are copied in and out around them.
/// </remarks>
internal static class ClipColumns
{
    public const string Prefix = "__clip_";
    public const string ImageIn = Prefix + "image_in";
    public const string Pixels = Prefix + "pixels";
    public const string TextIn = Prefix + "text_in";
    public const string TokenIds = Prefix + "token_ids";
    public const string Embedding = Prefix + "embedding";
    public const string Probabilities = Prefix + "probabilities";
    public const string ArgMax = Prefix + "argmax";
    public const string Rest = Prefix + "rest";
    public const string First = Prefix + "first";
    public const string Constant = Prefix + "const";
    public const string PixelParameters = Prefix + "pixel_params";
    public const string TokenizerSpec = Prefix + "tokenizer";
}
