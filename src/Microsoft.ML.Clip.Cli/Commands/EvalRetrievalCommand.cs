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
            var paths = LabeledImageSet.ReadPairs(parse.GetValue(pairs)!, "caption", out var captions);
            if (parse.GetValue(skip))
            {
                // The captions of an unreadable image go with it.
                var set = EvaluationCli.Readable(new LabeledImageSet(parse.GetValue(pairs)!, paths, captions));
                (paths, captions) = (set.Paths, set.Labels);
            }
            // One embedding per distinct image; every caption points to its image.
            var images = paths.Distinct(StringComparer.Ordinal).ToArray();
            var index = images.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i, StringComparer.Ordinal);
            var textToImage = paths.Select(p => index[p]).ToArray();

            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu));
            var imageEmbeddings = ImageFeatures.Clip(clip, images, EvaluationCli.Info);
            var textEmbeddings = clip.EmbedTexts(captions);
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
