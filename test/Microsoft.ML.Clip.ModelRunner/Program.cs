using Microsoft.ML;
using Microsoft.ML.Clip.IO;
using Microsoft.ML.Data;

// Usage: ModelRunner MODEL.zip PIXELS.npy OUTPUT.npy [COLUMN]
// Loads an ML.NET model saved by another process into a fresh MLContext (nothing registered by hand), feeds it
// the preprocessed images of PIXELS.npy ([N, 3, R, R]) as column "Image" and writes COLUMN (default Score) as .npy.
if (args.Length < 3)
{
    Console.Error.WriteLine("usage: ModelRunner MODEL.zip PIXELS.npy OUTPUT.npy [COLUMN]");
    return 2;
}
var column = args.Length > 3 ? args[3] : "Score";
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
var pixels = Npy.ReadFloat32(args[1]);
int n = pixels.Shape[0], size = pixels.Length / n;
var schema = SchemaDefinition.Create(typeof(Row));
schema[nameof(Row.Image)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
var rows = Enumerable.Range(0, n).Select(i => new Row { Image = pixels.Data.AsSpan(i * size, size).ToArray() });
var output = model.Transform(ml.Data.LoadFromEnumerable(rows, schema));
var values = output.GetColumn<float[]>(column).ToArray();
Npy.WriteFloat32(args[2], [n, values[0].Length], values.SelectMany(v => v).ToArray());
Console.WriteLine($"{n} rows of {column} written");
return 0;

internal sealed class Row
{
    public float[] Image = [];
}
