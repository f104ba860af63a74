using ClipCli.Evaluation;
using Microsoft.ML.Clip.Evaluation;
using Microsoft.ML.Clip.Models;

namespace ClipCli.Commands;

/// <summary><c>clip eval-retrieval</c>: image↔text recall@K of a CLIP model on image–caption pairs.</summary>
internal static class EvalRetrievalCommand
{
    public static Command Create()
    {
        var model = InferenceCommandSupport.ModelOption();
        var pairs = new Option<string>("--pairs")
        {
            Description = "TSV of image path<TAB>caption; an image may appear on several lines (several captions).",
            Required = true,
        };
        var ks = new Option<string>("--k") { Description = "Comma-separated K values.", DefaultValueFactory = _ => "1,5,10" };
        var gpu = InferenceCommandSupport.GpuOption();
        var skip = BadImageFiles.SkipOption();
        var command = new Command("eval-retrieval", "Image→text and text→image recall@K (cosine similarity of CLIP embeddings); prints a markdown table.")
        {
            model, pairs, ks, gpu, skip,
        };
        command.SetAction(parse => CommandErrors.Guard(() =>
        {
            var kValues = EvaluationCli.ParseInts(parse.GetValue(ks)!, "--k");
            var pairsFile = parse.GetValue(pairs)!;
            var paths = LabeledImageSet.ReadPairs(pairsFile, "caption", out var captions);
            // One embedding per distinct image; every caption points to its image.
            var images = paths.Distinct(StringComparer.Ordinal).ToArray();

            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu));
            // With --skip-bad-files an image that cannot be read is left out in this one embedding pass, and its captions with it.
            var embedded = ImageFeatures.Clip(clip, images, EvaluationCli.Info, parse.GetValue(skip));
            // The images kept, each with its place among them: one lookup, for the image embeddings and the captions' targets.
            var kept = new Dictionary<string, int>(StringComparer.Ordinal);
            var imageEmbeddings = new List<float[]>();
            for (var i = 0; i < images.Length; i++)
            {
                if (embedded[i] is not { } embedding) continue;
                kept[images[i]] = imageEmbeddings.Count;
                imageEmbeddings.Add(embedding);
            }
            // Counted in distinct images: a caption row is not an image (several rows may share one).
            if (imageEmbeddings.Count == 0)
                throw new InvalidDataException($"{pairsFile}: none of its {images.Length} images could be read.");
            var rows = Enumerable.Range(0, paths.Count).Where(r => kept.ContainsKey(paths[r])).ToArray();
            var textToImage = rows.Select(r => kept[paths[r]]).ToArray();
            var textEmbeddings = clip.EmbedTexts([.. rows.Select(r => captions[r])]);
            foreach (var t in textEmbeddings)
                ClipModel.Normalize(t);
            var result = ClipEvaluation.Retrieval(imageEmbeddings, textEmbeddings, textToImage, kValues);
            Console.WriteLine($"# Retrieval: {result.ImageCount} images, {result.TextCount} captions");
            Console.WriteLine();
            Console.Write(result.ToMarkdown());
            return 0;
        }));
        return command;
    }
}
