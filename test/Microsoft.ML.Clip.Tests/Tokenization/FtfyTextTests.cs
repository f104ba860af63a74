using Microsoft.ML.Clip.Tokenization;
using Xunit;

namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// ftfy 6.3's <c>fix_text</c> with default settings, which the reference tokenizer runs first. Expected outputs are
/// ftfy's documented behaviour, step by step (its mojibake repair is not reproduced).
/// </summary>
public class FtfyTextTests
{
    public static TheoryData<string, string> FtfyCases => new()
    {
        // Curly quotes, including those the other steps produce (ŉ → ʼn, C1 0x92 → ’, &#x92; → ’).
        { "don\u2019t \u201Cquote\u201D \u2018a\u2019 \u201Elow\u201F \u02BC", "don't \"quote\" 'a' \"low\" '" },
        { "\u0149", "'n" },
        { "it\u0092s", "it's" },
        { "&#x92;", "'" },
        // Ligatures (ſt keeps its long s), full- and half-width forms, composed by NFC where they meet.
        { "\uFB01x \uFB00 \uFB05 \u0132 \u01C4", "fix ff \u017Ft IJ D\u017D" },
        { "\uFF2C\uFF2F\uFF35\uFF24\u3000\uFF2E\uFF2F\uFF29\uFF33\uFF25\uFF33", "LOUD NOISES" },
        { "\uFF76\uFF9E", "\u30AC" },
        { "\uFFA1\uFFC2", "\uAC00" },
        // C1 controls read as Windows-1252 (U+0085 becomes an ellipsis, not a line break); the undefined five stay.
        { "a\u0085b \u0080 \u0096", "a\u2026b \u20AC \u2013" },
        { "a\u0081b", "a\u0081b" },
        // Line breaks, terminal escapes, control characters, unpaired surrogates, NFC.
        { "a\r\nb\rc\u2028d", "a\nb\nc\nd" },
        { "\u001B[31mred\u001B[0m \u001B[1;2Hx", "red x" },
        { "\uFEFFhi\u0007\u001C\u007F\u206A", "hi" },
        { "\uDCA9x", "\uFFFDx" },
        { "cafe\u0301", "caf\u00E9" },
        // HTML: only '&…;' forms, repeated until nothing changes, ftfy's all-caps names, Python's numeric rules.
        { "&amp;amp;amp;", "&" },
        { "&amp x &nbsp", "&amp x &nbsp" },
        { "&EACUTE; &SZLIG; &nTILDE;", "\u00C9 SS &nTILDE;" },
        { "&#133; &#1;x &#0; &#13;a", "\u2026 x \uFFFD \na" },
        { "&#59; &semi; &#65abc;", "&#59; ; &#65abc;" },
        // A '<' stops the unescaping from its line on, not before.
        { "&amp;\n<b>&amp;</b>\n&amp;", "&\n<b>&amp;</b>\n&amp;" },
    };

    [Theory]
    [MemberData(nameof(FtfyCases))]
    public void Fix_text_does_what_ftfy_does(string text, string expected) => Assert.Equal(expected, FtfyText.Fix(text));

    [Fact]
    public void Plain_ascii_is_returned_as_it_is() => Assert.Same("a plain caption, 42.", FtfyText.Fix("a plain caption, 42."));

    [Theory]
    [InlineData("don\u2019t stop", "don't stop")]
    [InlineData("x\u0085y", "x\u2026y")]
    [InlineData("\u001C a\u001Cb \u001C", "ab")]
    [InlineData("\uFF21\uFF22\uFF23 \uFB02ower", "abc flower")]
    public void The_tokenizer_reads_text_as_ftfy_leaves_it(string text, string asFixed)
        => Assert.Equal(ClipTokenizer.Default.Encode(asFixed), ClipTokenizer.Default.Encode(text));
}
