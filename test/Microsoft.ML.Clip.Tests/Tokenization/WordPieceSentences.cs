namespace Microsoft.ML.Clip.Tests.Tokenization;

/// <summary>
/// Varied texts for the WordPiece checks: prompts and captions of the kind the library embeds, punctuation and ASCII
/// symbols (which Microsoft.ML.Tokenizers' own pre-tokenizer drops), accents (precomposed and combining), CJK and kana,
/// emoji and an astral ideograph, tabs, line breaks and double spaces (its own normaliser glues words at tabs), format
/// characters (zero-width space, soft hyphen), a control character, a 101-character word ([UNK]) and a 100-character one
/// (pieces), full-width letters, Greek final sigma, Turkish İ, ligatures, typed special tokens in both cases, empty text.
/// </summary>
internal static class WordPieceSentences
{
    public static readonly string[] All =
    [
        "a photo of a cat.", "a photo of a {}.", "A bad photo of the airplane.", "a jpeg corrupted photo of a automobile.",
        "a black and white photo of a deer.", "a low resolution photo of the frog.", "an emoji of grinning face with big eyes.",
        "a drawing of the number 7.", "T-shirt/top", "Ankle boot", "grinning face, cheerful, cheery, grin",
        "rescue worker’s helmet, aid, cross, face", "flag: Côte d’Ivoire", "An old Chinese sailing ship.",
        "smiling face with heart-eyes, 143, bae, eye", "keycap: #", "keycap: *", "tree - RPG map elements, mapsym",
        "Crème brûlée à la française, naïve café in Zürich", "ÉLAN VITAL — Ångström, Øresund, Straße",
        "日本語のテキストと中文字符混合 text", "emoji 😀 and 🚀 inside", "\u00e9t\u0065\u0301",
        "tab\tseparated\nnew line\r\nand  double  spaces", "zero\u200Bwidth space and soft\u00ADhyphen", "control\u0007char",
        "supercalifragilisticexpialidocious antidisestablishmentarianism", new string('a', 101) + " then short", new string('b', 100),
        "hello,world!how's it going?", "\"quoted\" 'single' «guillemets» „low”", "e-mail: someone@example.com",
        "$100.00 & 50% off #1 @home ~tilde^ `backtick` |pipe| \\back", "<3 a+b=c <d> €5 © 2° 😀 𠀀 a😀b",
        "Ωmega αβγ Привет мир", "ΟΔΟΣ Σίσυφος", "İstanbul DİYARBAKIR", "ﬁligature ﬀ", "ＦＵＬＬＷＩＤＴＨ　ｔｅｘｔ",
        "[CLS] not special? [SEP]", "[cls] lower-case special, [MASK]ed", "", "   ",
    ];
}
