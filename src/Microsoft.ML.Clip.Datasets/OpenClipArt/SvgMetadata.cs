using System.Xml;

namespace Microsoft.ML.Clip.Datasets.OpenClipArt;

/// <summary>The Dublin Core title and subject keywords an Inkscape/Open Clip Art SVG carries in its RDF metadata.</summary>
/// <param name="Title">The work's <c>dc:title</c> (not the publisher's or creator's), or empty.</param>
/// <param name="Keywords">The <c>rdf:li</c> entries of <c>dc:subject</c>, non-empty ones only.</param>
public sealed record SvgMetadata(string Title, IReadOnlyList<string> Keywords)
{
    private const string DublinCore = "http://purl.org/dc/elements/1.1/";
    private const string Rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

    /// <summary>An SVG without metadata.</summary>
    public static SvgMetadata Empty { get; } = new("", []);

    /// <summary>Reads the metadata of <paramref name="svgPath"/>, stopping at the end of its <c>metadata</c>
    /// element; a file without metadata, or one that is not well-formed XML, gives <see cref="Empty"/>.</summary>
    public static SvgMetadata Read(string svgPath)
    {
        var settings = new XmlReaderSettings
        {
            // Inkscape files declare entities in an internal DTD; parse those, never resolve external ones.
            DtdProcessing = DtdProcessing.Parse,
            XmlResolver = null,
            MaxCharactersFromEntities = 1 << 20,
            IgnoreComments = true,
            IgnoreWhitespace = true,
        };
        try
        {
            using var reader = XmlReader.Create(svgPath, settings);
            return ReadFrom(reader);
        }
        catch (XmlException)
        {
            return Empty;
        }
    }

    private static SvgMetadata ReadFrom(XmlReader reader)
    {
        var title = "";
        var keywords = new List<string>();
        var workDepth = -1; // depth of the open cc:Work element, -1 outside it
        var inSubject = false;
        // ReadElementContentAsString leaves the reader on the next node already: only call Read() otherwise.
        reader.Read();
        while (!reader.EOF)
        {
            if (reader.NodeType == XmlNodeType.Element)
            {
                if (reader.LocalName == "Work")
                    workDepth = reader.IsEmptyElement ? -1 : reader.Depth;
                else if (reader.NamespaceURI == DublinCore && reader.LocalName == "subject")
                    inSubject = !reader.IsEmptyElement;
                // dc:title also names agents (cc:Agent inside dc:creator, dc:publisher): only the work's own child counts.
                else if (reader.NamespaceURI == DublinCore && reader.LocalName == "title" && workDepth >= 0
                         && reader.Depth == workDepth + 1 && title.Length == 0)
                {
                    title = reader.ReadElementContentAsString().Trim();
                    continue;
                }
                else if (reader.NamespaceURI == Rdf && reader.LocalName == "li" && inSubject)
                {
                    var keyword = reader.ReadElementContentAsString().Trim();
                    if (keyword.Length > 0)
                        keywords.Add(keyword);
                    continue;
                }
            }
            else if (reader.NodeType == XmlNodeType.EndElement)
            {
                if (reader.NamespaceURI == DublinCore && reader.LocalName == "subject")
                    inSubject = false;
                else if (reader.LocalName == "metadata")
                    break;
                else if (reader.LocalName == "Work")
                    workDepth = -1;
            }
            reader.Read();
        }
        return new SvgMetadata(title, keywords);
    }
}
