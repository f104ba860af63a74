using System.IO.Compression;
using System.Xml.Linq;

namespace Microsoft.ML.Clip.Cli.Tests.Packaging;

/// <summary>A .nupkg as NuGet reads it: its entries and its nuspec's metadata.</summary>
internal sealed class PackageFile
{
    /// <summary>The gallery's package size limit (nuget.org refuses larger packages).</summary>
    public const long GalleryLimitBytes = 250L * 1024 * 1024;

    private PackageFile(string path, long size, IReadOnlyList<string> entries, XElement metadata)
        => (Path, Size, Entries, Metadata) = (path, size, entries, metadata);

    public string Path { get; }

    public long Size { get; }

    /// <summary>Entry names with '/' separators.</summary>
    public IReadOnlyList<string> Entries { get; }

    /// <summary>The nuspec's <c>metadata</c> element.</summary>
    public XElement Metadata { get; }

    /// <summary>The text of metadata element <paramref name="name"/>, or null.</summary>
    public string? Get(string name) => Metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Value;

    /// <summary>Attribute <paramref name="attribute"/> of metadata element <paramref name="name"/>, or null.</summary>
    public string? Get(string name, string attribute) => Metadata.Elements().FirstOrDefault(e => e.Name.LocalName == name)?.Attribute(attribute)?.Value;

    public static PackageFile Read(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var entries = zip.Entries.Select(e => e.FullName.Replace('\\', '/')).ToList();
        var nuspec = zip.Entries.Single(e => !e.FullName.Contains('/') && e.FullName.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase));
        using var stream = nuspec.Open();
        var metadata = XDocument.Load(stream).Root!.Elements().Single(e => e.Name.LocalName == "metadata");
        return new PackageFile(path, new FileInfo(path).Length, entries, metadata);
    }
}
