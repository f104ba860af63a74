using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Clip.Checkpoints;

/// <summary>
/// Which attributes of each TorchScript class are state (parameters and buffers), read as text from the
/// class declarations under <c>code/</c> (<c>__parameters__ = ["weight", …]</c>, <c>__buffers__ = […]</c>).
/// A scripted module may hold other tensor attributes that <c>state_dict()</c> leaves out. Nothing is run.
/// </summary>
internal static partial class TorchScriptClassInfo
{
    [GeneratedRegex(@"^class\s+(\w+)\s*\([^)]*\)\s*:[^\n]*\n((?:[ \t]+[^\n]*\n?|\s*\n)*)", RegexOptions.Multiline)]
    private static partial Regex ClassRegex();

    [GeneratedRegex(@"^[ \t]+__(parameters|buffers)__\s*=\s*\[([^\]]*)\]", RegexOptions.Multiline)]
    private static partial Regex StateListRegex();

    [GeneratedRegex("\"(\\w+)\"")]
    private static partial Regex NameRegex();

    /// <summary>
    /// State attribute names by qualified class name (e.g. <c>__torch__.torch.nn.modules.linear.Linear</c>),
    /// for the classes whose declaration lists them.
    /// </summary>
    public static Dictionary<string, HashSet<string>> Read(ZipArchive zip, string stem)
    {
        var result = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var codePrefix = stem + "code/";
        foreach (var entry in zip.Entries)
        {
            if (!entry.FullName.StartsWith(codePrefix, StringComparison.Ordinal) || !entry.FullName.EndsWith(".py", StringComparison.Ordinal))
                continue;
            // code/__torch__/torch/nn/modules/linear.py declares classes of module __torch__.torch.nn.modules.linear.
            var module = entry.FullName[codePrefix.Length..^".py".Length].Replace('/', '.');
            string text;
            using (var reader = new StreamReader(entry.Open())) text = reader.ReadToEnd();
            foreach (Match cls in ClassRegex().Matches(text))
            {
                HashSet<string>? names = null;
                foreach (Match list in StateListRegex().Matches(cls.Groups[2].Value))
                {
                    names ??= new HashSet<string>(StringComparer.Ordinal);
                    foreach (Match name in NameRegex().Matches(list.Groups[2].Value)) names.Add(name.Groups[1].Value);
                }
                if (names is not null) result[$"{module}.{cls.Groups[1].Value}"] = names;
            }
        }
        return result;
    }
}
