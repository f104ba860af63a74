namespace ClipCli.Commands;

/// <summary>
/// The file form of <c>clip embed-image</c> (<see cref="EmbedImageCommand"/>): reads, preprocesses and embeds image
/// files and writes one JSON line per file, <c>{"file": …, "embedding": […]}</c> (raw unless <c>--normalize</c>); with
/// <c>--skip-bad-files</c> a file that cannot be read gets <c>{"file": …, "error": …}</c> instead (see <see cref="BadImageFiles"/>).
/// </summary>
internal static class EmbedImageFilesCommand
{
    /// <summary>Embeds <paramref name="files"/> and writes the JSON lines; returns the exit code.</summary>
    public static int Run(Microsoft.ML.Clip.Models.ClipModel model, IReadOnlyList<string> files, bool normalize, bool skipBadFiles, TextWriter output)
    {
        var errors = new List<string?>(files.Count);
        // One batch at a time keeps memory flat for long file lists.
        for (int start = 0; start < files.Count; start += model.BatchSize)
        {
            var batch = files.Skip(start).Take(model.BatchSize).ToArray();
            var (embeddings, batchErrors) = BadImageFiles.Embed(model, batch, skipBadFiles);
            errors.AddRange(batchErrors);
            for (int i = 0; i < batch.Length; i++)
            {
                var embedding = embeddings[i];
                if (embedding is not null && normalize)
                    Microsoft.ML.Clip.Models.ClipModel.Normalize(embedding);
                InferenceCommandSupport.WriteJsonLine(output, w =>
                {
                    w.WriteString("file", batch[i]);
                    if (embedding is null)
                        w.WriteString("error", batchErrors[i]);
                    else
                        InferenceCommandSupport.WriteArray(w, "embedding", embedding);
                });
            }
        }
        return BadImageFiles.ExitCode(errors);
    }
}
