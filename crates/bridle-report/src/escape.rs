//! Escaping device strings for the report. Everything a phone says is attacker-controlled:
//! a contact name can hold `<script>`, a file name a right-to-left override that makes
//! `gpj.exe` read as `exe.jpg`, a URL zero-width characters that hide a look-alike domain.
//!
//! Device strings reach the template only as [`Dev`] values, which are HTML-escaped and have
//! every invisible or control character replaced by a visible marker. Data for the script is
//! embedded as JSON by [`SafeJson`], which cannot close the `<script>` element it sits in.

use bridle_model::sanitize::is_dangerous;
use std::fmt::{self, Write};

/// Characters the report never shows as they are: [`is_dangerous`] (controls, bidi
/// controls, zero-width and tag characters) plus the line and paragraph separators, the soft
/// hyphen, the Mongolian vowel separator and the interlinear annotation characters, which
/// are invisible or reflow text. `report.js` has the same set (`HIDDEN`).
pub fn is_hidden(c: char) -> bool {
    is_dangerous(c)
        || matches!(
            c,
            '\u{00AD}' | '\u{180E}' | '\u{2028}' | '\u{2029}' | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// A device string, escaped for HTML text or attribute values, with invisible and control
/// characters shown as `<span class="cc">U+202E</span>`. Only [`Dev::new`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dev(String);

impl Dev {
    /// Escapes `text`. Newlines and tabs are kept (the report shows text with
    /// `white-space: pre-wrap`); every other dangerous character becomes a marker.
    pub fn new(text: &str) -> Dev {
        let mut out = String::with_capacity(text.len() + text.len() / 8);
        for c in text.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                '\n' | '\t' => out.push(c),
                c if is_hidden(c) => {
                    let _ = write!(
                        out,
                        "<span class=\"cc\" title=\"hidden character\">U+{:04X}</span>",
                        c as u32
                    );
                }
                c => out.push(c),
            }
        }
        Dev(out)
    }

    /// The escaped HTML.
    pub fn as_html(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Dev {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// Dev's Display output is escaped HTML: askama must not escape it again.
impl askama::filters::HtmlSafe for Dev {}

/// JSON safe to place inside `<script type="application/json">`: `<`, `>` and `&` are
/// written as `\u003c`, `\u003e`, `\u0026` (so `</script>` and `<!--` cannot appear), and
/// every hidden character ([`is_hidden`], which includes U+2028 / U+2029) as an escape too.
/// `JSON.parse` reads it back unchanged.
#[derive(Debug, Clone)]
pub struct SafeJson(String);

impl SafeJson {
    /// Serialises a value.
    pub fn new<T: serde::Serialize>(value: &T) -> SafeJson {
        let json = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        let needs = |b: &u8| matches!(b, b'<' | b'>' | b'&') || *b >= 0x80 || *b < 0x20;
        if !json.as_bytes().iter().any(needs) {
            return SafeJson(json);
        }
        let mut out = String::with_capacity(json.len() + 64);
        for c in json.chars() {
            match c {
                '<' => out.push_str("\\u003c"),
                '>' => out.push_str("\\u003e"),
                '&' => out.push_str("\\u0026"),
                // Inside JSON strings only (JSON text itself has none of these): written as
                // escapes, so the file holds no invisible character at all.
                c if is_hidden(c) && (c as u32) <= 0xFFFF => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c if is_hidden(c) => {
                    // Outside the BMP (tag characters): a UTF-16 surrogate pair.
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        let _ = write!(out, "\\u{:04x}", unit);
                    }
                }
                c => out.push(c),
            }
        }
        SafeJson(out)
    }
}

impl fmt::Display for SafeJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

// SafeJson contains no `<`, `>` or `&`, so it cannot end the script element or start markup.
impl askama::filters::HtmlSafe for SafeJson {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_hidden_characters() {
        assert_eq!(
            Dev::new("<script>alert('x')</script>").as_html(),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        let bidi = Dev::new("invoice\u{202E}fdp.exe");
        assert!(bidi.as_html().contains(">U+202E</span>"), "{bidi}");
        assert!(!bidi.as_html().contains('\u{202E}'));
        assert_eq!(Dev::new("a\u{0}b").as_html().matches("U+0000").count(), 1);
        assert_eq!(Dev::new("two\nlines").as_html(), "two\nlines");
    }

    #[test]
    fn json_cannot_close_its_script() {
        let j = SafeJson::new(&vec![
            "</script><script>alert(1)</script>",
            "a\u{2028}b",
            "&",
            "x\u{202E}y\u{E0041}",
        ]);
        let s = j.to_string();
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        assert!(!s.chars().any(is_hidden), "{s}");
        assert!(s.contains("\\udb40\\udc41"), "{s}");
        let back: Vec<String> = serde_json::from_str(&s).unwrap();
        assert_eq!(back[0], "</script><script>alert(1)</script>");
        assert_eq!(back[1], "a\u{2028}b");
        assert_eq!(back[3], "x\u{202E}y\u{E0041}");
    }
}
