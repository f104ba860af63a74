using Microsoft.ML;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Data;

// Usage: ModelRunner MODEL.zip (PIXELS.npy | PATHS.txt) OUTPUT.npy [COLUMN]
// Loads an ML.NET model saved by another process into a fresh MLContext (nothing registered by hand), feeds it
// the preprocessed images of PIXELS.npy ([N, 3, R, R]) as column "Image" — or, for a text file of image paths (one a
// line), those images read by ML.NET's LoadImages as an Image (MLImage) column "Image" — and writes COLUMN (default
// Score) as .npy.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ModelRunner MODEL.zip (PIXELS.npy | PATHS.txt) OUTPUT.npy [COLUMN]");
    return 2;
}
var column = args.Length > 3 ? args[3] : "Score";
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
IDataView input;
int n;
if (args[1].EndsWith(".txt", StringComparison.OrdinalIgnoreCase))
{
    var paths = File.ReadAllLines(args[1]).Where(l => l.Length > 0).Select(p => new PathRow { Path = p }).ToArray();
    n = paths.Length;
    var pathData = ml.Data.LoadFromEnumerable(paths);
    input = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: nameof(PathRow.Path)).Fit(pathData).Transform(pathData);
}
else
{
    var pixels = Npy.ReadFloat32(args[1]);
    n = pixels.Shape[0];
    int size = pixels.Length / n;
    var schema = SchemaDefinition.Create(typeof(Row));
    schema[nameof(Row.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
    var rows = Enumerable.Range(0, n).Select(i => new Row { Image = pixels.Data.AsSpan(i * size, size).ToArray() }).ToArray();
    input = ml.Data.LoadFromEnumerable(rows, schema);
}
var output = model.Transform(input);
var values = output.GetColumn<float[]>(column).ToArray();
Npy.WriteFloat32(args[2], [n, values[0].Length], values.SelectMany(v => v).ToArray());
Console.WriteLine($"{n} rows of {column} written");
return 0;

internal sealed class Row
{
    public float[] Image = [];
}

internal sealed class PathRow
{
    public string Path = "";
}
