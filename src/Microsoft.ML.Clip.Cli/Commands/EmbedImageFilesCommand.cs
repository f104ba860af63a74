namespace ClipCli.Commands;

/// <summary>
/// <c>clip embed-image --model M [--normalize] FILES…</c>: reads, preprocesses and embeds image files and writes
/// one JSON line per file, <c>{"file": …, "embedding": […]}</c> (raw encoder output unless <c>--normalize</c>).
/// </summary>
internal static class EmbedImageFilesCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelFolderOption();
        var normalize = new Option<bool>("--normalize") { Description = "L2-normalise each embedding (default: raw encode_image features)." };
        var skip = new Option<bool>("--skip-bad-files") { Description = "Write null embeddings for unreadable files instead of failing." };
        var gpu = InferenceCommandSupport.GpuOption();
        var files = new Argument<string[]>("files") { Description = "Image files (PNG, JPEG, …).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("embed-image", "Embed image files → one JSON line {file, embedding} per file.") { model, normalize, skip, gpu, files };
        command.SetAction(parse => InferenceCommandSupport.Guard(() =>
            Run(parse.GetValue(model)!, parse.GetValue(files)!, parse.GetValue(normalize), parse.GetValue(skip), parse.GetValue(gpu), Console.Out)));
        return command;
    }

    /// <summary>Embeds <paramref name="files"/> and writes the JSON lines; returns the exit code.</summary>
    public static int Run(string modelFolder, IReadOnlyList<string> files, bool normalize, bool skipBadFiles, int? gpu, TextWriter output)
    {
        using var model = InferenceCommandSupport.Load(modelFolder, gpu);
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
