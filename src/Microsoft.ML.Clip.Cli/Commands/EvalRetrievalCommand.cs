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
            var index = images.Select((p, i) => (p, i)).ToDictionary(x => x.p, x => x.i, StringComparer.Ordinal);

            using var clip = InferenceCommandSupport.Load(parse.GetValue(model)!, parse.GetValue(gpu));
            // With --skip-bad-files an image that cannot be read is left out in this one embedding pass, and its captions with it.
            var embedded = ImageFeatures.Clip(clip, images, EvaluationCli.Info, parse.GetValue(skip));
            var (set, _) = EvaluationCli.Readable(new LabeledImageSet(pairsFile, paths, captions), [.. paths.Select(p => embedded[index[p]])]);
            var readable = Enumerable.Range(0, images.Length).Where(i => embedded[i] is not null).ToArray();
            var imageEmbeddings = readable.Select(i => embedded[i]!).ToArray();
            var readableIndex = readable.Select((i, k) => (images[i], k)).ToDictionary(x => x.Item1, x => x.k, StringComparer.Ordinal);
            var textToImage = set.Paths.Select(p => readableIndex[p]).ToArray();
            captions = set.Labels;
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
