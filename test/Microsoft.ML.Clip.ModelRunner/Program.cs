using Microsoft.ML;
using Microsoft.ML.Clip.TestUtilities;
using Microsoft.ML.Data;

// Usage: ModelRunner MODEL.zip INPUT OUTPUT.npy [COLUMN]
// Loads an ML.NET model saved by another process into a fresh MLContext (nothing registered by hand) and writes COLUMN
// (default Score) as .npy. INPUT is one of:
//   PIXELS.npy       preprocessed images [N, 3, R, R] as a known-size vector column "Image";
//   PATHS.txt        image files (one path a line) read by ML.NET's LoadImages: an Image (MLImage) column "Image";
//   paths:PATHS.txt  the same files as a String column "Image" of paths;
//   bytes:PATHS.txt  the same files' encoded bytes as a Vector<Byte> column "Image";
//   texts:TEXTS.txt  one text a line as a String column "Text".
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ModelRunner MODEL.zip (PIXELS.npy | PATHS.txt | paths:PATHS.txt | bytes:PATHS.txt | texts:TEXTS.txt) OUTPUT.npy [COLUMN]");
    return 2;
}
var column = args.Length > 3 ? args[3] : "Score";
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
var (input, n) = Read(ml, args[1]);
var output = model.Transform(input);
var values = output.GetColumn<float[]>(column).ToArray();
Npy.WriteFloat32(args[2], [n, values[0].Length], values.SelectMany(v => v).ToArray());
Console.WriteLine($"{n} rows of {column} written");
return 0;

static (IDataView Data, int Count) Read(MLContext ml, string input)
{
    static string[] Lines(string file) => File.ReadAllLines(file).Where(l => l.Length > 0).ToArray();
    var colon = input.IndexOf(':');
    var (kind, file) = colon > 1 ? (input[..colon], input[(colon + 1)..]) : ("", input);
    switch (kind)
    {
        case "paths":
            {
                var rows = Lines(file).Select(p => new PathRow { Image = p }).ToArray();
                return (ml.Data.LoadFromEnumerable(rows), rows.Length);
            }
        case "bytes":
            {
                var rows = Lines(file).Select(p => new BytesRow { Image = File.ReadAllBytes(p) }).ToArray();
                return (ml.Data.LoadFromEnumerable(rows), rows.Length);
            }
        case "texts":
            {
                var rows = Lines(file).Select(t => new TextRow { Text = t }).ToArray();
                return (ml.Data.LoadFromEnumerable(rows), rows.Length);
            }
    }
    if (file.EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
    {
        var paths = Lines(file).Select(p => new PathRow { Image = p }).ToArray();
        var pathData = ml.Data.LoadFromEnumerable(paths);
        var images = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "Image").Fit(pathData).Transform(pathData);
        return (images, paths.Length);
    }
    var pixels = Npy.ReadFloat32(file);
    var count = pixels.Shape[0];
    int size = pixels.Length / count;
    var schema = SchemaDefinition.Create(typeof(PixelRow));
    schema[nameof(PixelRow.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
    var pixelRows = Enumerable.Range(0, count).Select(i => new PixelRow { Image = pixels.Data.AsSpan(i * size, size).ToArray() }).ToArray();
    return (ml.Data.LoadFromEnumerable(pixelRows, schema), count);
}

internal sealed class PixelRow
{
    public float[] Image = [];
}

internal sealed class PathRow
{
    public string Image = "";
}

internal sealed class BytesRow
{
    public byte[] Image = [];
}

internal sealed class TextRow
{
    public string Text = "";
}
