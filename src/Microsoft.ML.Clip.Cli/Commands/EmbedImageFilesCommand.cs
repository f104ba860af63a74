namespace ClipCli.Commands;

/// <summary>
/// The file form of <c>clip embed-image</c> (<see cref="EmbedImageCommand"/>): reads, preprocesses and embeds image
/// files and writes one JSON line per file, <c>{"file": …, "embedding": […]}</c> (raw unless <c>--normalize</c>).
/// </summary>
internal static class EmbedImageFilesCommand
{
    /// <summary>Embeds <paramref name="files"/> and writes the JSON lines; returns the exit code.</summary>
    public static int Run(Microsoft.ML.Clip.Models.ClipModel model, IReadOnlyList<string> files, bool normalize, bool skipBadFiles, TextWriter output)
    {
        // One batch at a time keeps memory flat for long file lists.
        for (int start = 0; start < files.Count; start += model.BatchSize)
        {
            var batch = files.Skip(start).Take(model.BatchSize).ToArray();
            var embeddings = model.EmbedImageFiles(batch, skipBadFiles);
            for (int i = 0; i < batch.Length; i++)
            {
                if (normalize)
                    Microsoft.ML.Clip.Models.ClipModel.Normalize(embeddings[i]);
                InferenceCommandSupport.WriteJsonLine(output, w =>
                {
                    w.WriteString("file", batch[i]);
                    InferenceCommandSupport.WriteArray(w, "embedding", embeddings[i]);
                });
            }
        }
        return 0;
    }
}
