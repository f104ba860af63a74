using System.Text.Json;

namespace Microsoft.ML.Clip.Datasets.Emoji;

/// <summary>One emoji's text from emojibase: CLDR name, tags, group and subgroup names.</summary>
/// <param name="Hexcode">The code points, e.g. <c>1F600</c>.</param>
/// <param name="Name">The CLDR name, e.g. <c>grinning face</c>.</param>
/// <param name="Tags">The CLDR keywords.</param>
/// <param name="Group">The group name, e.g. <c>smileys &amp; emotion</c>.</param>
/// <param name="Subgroup">The subgroup name, e.g. <c>face smiling</c>.</param>
public sealed record EmojiText(string Hexcode, string Name, IReadOnlyList<string> Tags, string Group, string Subgroup);

/// <summary>Reads the English emojibase data (<c>en/data.json</c> and <c>en/messages.json</c>).</summary>
public static class EmojibaseIndex
{
    /// <summary>The emoji of the English emojibase data under <paramref name="emojibaseFolder"/> (the folder holding
    /// <c>en/</c>), in emojibase order. Skin-tone variants, components (skin tones, hair styles) and the regional
    /// indicator letters, which have no group, are left out: they are not things a caption can name.</summary>
    public static IReadOnlyList<EmojiText> Read(string emojibaseFolder)
    {
        var dataPath = Path.Combine(emojibaseFolder, "en", "data.json");
        var messagesPath = Path.Combine(emojibaseFolder, "en", "messages.json");
        DataPaths.RequireFile(dataPath);
        DataPaths.RequireFile(messagesPath);

        var (groups, subgroups) = ReadMessages(messagesPath);
        var result = new List<EmojiText>();
        using var document = ParseJson(dataPath);
        if (document.RootElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Emojibase file '{dataPath}' must hold a JSON array.");
        foreach (var item in document.RootElement.EnumerateArray())
        {
            if (!item.TryGetProperty("group", out var groupValue) || !item.TryGetProperty("subgroup", out var subgroupValue))
                continue;
            if (!groups.TryGetValue(groupValue.GetInt32(), out var group) || group.Key == "component")
                continue;
            var hexcode = item.GetProperty("hexcode").GetString() ?? throw new InvalidDataException($"An entry of '{dataPath}' has a null hexcode.");
            var label = item.TryGetProperty("label", out var l) ? l.GetString() ?? "" : "";
            var tags = item.TryGetProperty("tags", out var t) && t.ValueKind == JsonValueKind.Array
                ? t.EnumerateArray().Select(x => x.GetString() ?? "").Where(x => x.Length > 0).ToArray()
                : [];
            var subgroup = subgroups.TryGetValue(subgroupValue.GetInt32(), out var s) ? s.Message : "";
            result.Add(new EmojiText(hexcode, label, tags, group.Message, subgroup));
        }
        return result;
    }

    private static (Dictionary<int, (string Key, string Message)> Groups, Dictionary<int, (string Key, string Message)> Subgroups)
        ReadMessages(string path)
    {
        using var document = ParseJson(path);
        return (ReadList(document.RootElement, "groups", path), ReadList(document.RootElement, "subgroups", path));
    }

    private static Dictionary<int, (string Key, string Message)> ReadList(JsonElement root, string property, string path)
    {
        if (!root.TryGetProperty(property, out var list) || list.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"Emojibase messages file '{path}' has no '{property}' array.");
        var result = new Dictionary<int, (string, string)>();
        foreach (var entry in list.EnumerateArray())
        {
            // Messages carry a "key" (face-smiling) and a "message" (face smiling); "order" is the index data.json uses.
            var order = entry.GetProperty("order").GetInt32();
            var key = entry.GetProperty("key").GetString() ?? "";
            var message = entry.TryGetProperty("message", out var m) ? m.GetString() ?? key : key;
            result[order] = (key, message);
        }
        return result;
    }

    private static JsonDocument ParseJson(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path));
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"Emojibase file '{path}' is not valid JSON: {e.Message}", e);
        }
    }
}
