//! Device strings are attacker-controlled: a message body or a file name can carry terminal
//! escape sequences, bidi overrides that reverse what a reader sees, or zero-width characters
//! that hide a look-alike domain. These helpers make such strings safe to show.

use std::borrow::Cow;
use std::fmt::Write;

/// Whether a character must not reach a terminal or a report as is.
///
/// Control characters (C0, DEL, C1), bidi controls (U+061C, U+200E/F, U+202A-E, U+2066-9),
/// zero-width and invisible formatting characters (U+200B-D, U+2060-4, U+FEFF), and
/// Unicode tag characters (U+E0000-E007F).
pub fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// Escapes dangerous characters as `\u{XXXX}` (and `\n`, `\t`, `\r`), leaving the rest.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_dangerous) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_dangerous(c) => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_escape_sequences_and_bidi() {
        assert_eq!(for_terminal("plain"), "plain");
        assert_eq!(for_terminal("a\x1b[31mb"), "a\\u{001B}[31mb");
        assert_eq!(for_terminal("evil\u{202E}gpj.exe"), "evil\\u{202E}gpj.exe");
        assert_eq!(for_terminal("x\u{200B}y\n"), "x\\u{200B}y\\n");
    }
}
