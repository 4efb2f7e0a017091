//! Python semantics that MVT's parsers and messages depend on, reproduced exactly so that
//! records, timeline texts and alert messages read the same: string slicing with negative
//! indices and `find() == -1`, and `repr()`/`str()` of JSON-loaded values.

use serde_json::Value;
use std::fmt::Write;

/// `s.find(pat)` in characters, `-1` when absent.
pub fn find(s: &str, pat: &str) -> isize {
    match s.find(pat) {
        Some(byte) => isize::try_from(s.get(..byte).map_or(0, |p| p.chars().count())).unwrap_or(-1),
        None => -1,
    }
}

/// `s[start:end]` with Python's rules: negative indices count from the end, out-of-range
/// indices are clamped, and an empty slice results when `start >= end`.
pub fn slice(s: &str, start: isize, end: Option<isize>) -> &str {
    let len = isize::try_from(s.chars().count()).unwrap_or(isize::MAX);
    let norm = |i: isize| -> isize {
        if i < 0 {
            len.saturating_add(i).max(0)
        } else {
            i.min(len)
        }
    };
    let a = norm(start);
    let b = end.map_or(len, norm);
    if a >= b {
        return "";
    }
    let byte_at = |ci: isize| -> usize {
        let ci = usize::try_from(ci).unwrap_or(0);
        s.char_indices().nth(ci).map_or(s.len(), |(b, _)| b)
    };
    s.get(byte_at(a)..byte_at(b)).unwrap_or("")
}

/// Python's `str.strip(chars)`.
pub fn strip_chars<'a>(s: &'a str, chars: &str) -> &'a str {
    s.trim_matches(|c| chars.contains(c))
}

/// Python's `repr()` of a value loaded by `json.loads`.
pub fn repr(v: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, v, 0);
    out
}

/// Python's `str()` of a value loaded by `json.loads` (a string is itself; the rest as
/// `repr`).
pub fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => repr(other),
    }
}

/// Deepest nesting rendered; deeper values become `...` (Python would recurse; evidence
/// could nest a million levels).
const MAX_REPR_DEPTH: usize = 64;

fn write_repr(out: &mut String, v: &Value, depth: usize) {
    if depth > MAX_REPR_DEPTH {
        out.push_str("...");
        return;
    }
    match v {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else if let Some(f) = n.as_f64() {
                out.push_str(&float_repr(f));
            }
        }
        Value::String(s) => out.push_str(&str_repr(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, item, depth + 1);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&str_repr(k));
                out.push_str(": ");
                write_repr(out, item, depth + 1);
            }
            out.push('}');
        }
    }
}

/// Python's `repr(float)`: shortest round-trip digits, fixed notation for exponents in
/// -4..16, otherwise `1e-05` / `1e+16` style.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let s = format!("{f}");
        if s.contains('.') { s } else { format!("{s}.0") }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.unsigned_abs())
    }
}

/// Python's `repr(str)`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || bridle_model::sanitize::is_dangerous(c) => {
                let n = c as u32;
                let _ = if n < 0x100 {
                    write!(out, "\\x{n:02x}")
                } else if n < 0x10000 {
                    write!(out, "\\u{n:04x}")
                } else {
                    write!(out, "\\U{n:08x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn slicing_like_python() {
        assert_eq!(slice("  Uid 0:", 6, Some(-1)), "0");
        assert_eq!(slice("abc", -1, None), "c");
        assert_eq!(slice("abc", 0, Some(-1)), "ab");
        assert_eq!(slice("abc", 5, None), "");
        assert_eq!(slice("abc", 2, Some(1)), "");
        assert_eq!(slice("héllo", 1, Some(3)), "él");
        assert_eq!(find("héllo", "l"), 2);
        assert_eq!(find("abc", "z"), -1);
    }

    #[test]
    fn repr_like_python() {
        let v = json!({"field": "value", "n": 1, "ok": true, "none": null, "l": [1.5, "it's"]});
        assert_eq!(
            repr(&v),
            "{'field': 'value', 'n': 1, 'ok': True, 'none': None, 'l': [1.5, \"it's\"]}"
        );
        assert_eq!(float_repr(1.0), "1.0");
        assert_eq!(float_repr(1e-5), "1e-05");
        assert_eq!(float_repr(1e16), "1e+16");
        assert_eq!(float_repr(0.1), "0.1");
        assert_eq!(str_repr("a\nb\u{1b}"), "'a\\nb\\x1b'");
        assert_eq!(str_of(&json!("plain")), "plain");
    }
}
