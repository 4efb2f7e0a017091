//! Reading SQLite values the way MVT writes them, without trusting their types.
//!
//! SQLite columns are dynamically typed: a "date" column can hold text, a "name" a blob.
//! These helpers accept what is there and never fail: a wrong type gives `None` or the
//! closest faithful JSON value.

use base64::Engine;
use bridle_evidence::plist_json::escape_bytes;
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde_json::Value as Json;

/// A column as text: text and blobs decoded as UTF-8 (invalid bytes as `\xNN`), numbers
/// formatted; `None` for NULL or a missing column.
pub fn text(row: &Row<'_>, idx: usize) -> Option<String> {
    match row.get_ref(idx).ok()? {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(f.to_string()),
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(escape_bytes(t)),
    }
}

/// A column as an integer: integers, integral reals, and numeric text.
pub fn int(row: &Row<'_>, idx: usize) -> Option<i64> {
    match row.get_ref(idx).ok()? {
        ValueRef::Integer(i) => Some(i),
        #[allow(clippy::cast_possible_truncation)]
        ValueRef::Real(f) if f.is_finite() && f.abs() < 9.0e18 => Some(f as i64),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A column as a float: reals, integers, and numeric text.
pub fn real(row: &Row<'_>, idx: usize) -> Option<f64> {
    match row.get_ref(idx).ok()? {
        #[allow(clippy::cast_precision_loss)]
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        _ => None,
    }
}

/// A column's raw bytes (text or blob).
pub fn bytes(row: &Row<'_>, idx: usize) -> Option<Vec<u8>> {
    match row.get_ref(idx).ok()? {
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(t.to_vec()),
        _ => None,
    }
}

/// A column as JSON the way MVT's encoder writes it: numbers as numbers, text as text,
/// blobs as UTF-8 with `\xNN` escapes, NULL as null.
pub fn json(row: &Row<'_>, idx: usize) -> Json {
    match row.get_ref(idx) {
        Ok(ValueRef::Null) | Err(_) => Json::Null,
        Ok(ValueRef::Integer(i)) => Json::from(i),
        Ok(ValueRef::Real(f)) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Ok(ValueRef::Text(t) | ValueRef::Blob(t)) => Json::String(escape_bytes(t)),
    }
}

/// A column as base64 (for binary fields MVT encodes that way), or null.
pub fn base64(row: &Row<'_>, idx: usize) -> Json {
    match row.get_ref(idx) {
        Ok(ValueRef::Blob(b) | ValueRef::Text(b)) => {
            Json::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        _ => Json::Null,
    }
}

/// Every column of a row as a JSON object keyed by column name, in column order.
pub fn object(row: &Row<'_>) -> bridle_model::Map {
    let stmt = row.as_ref();
    let mut map = bridle_model::Map::new();
    for i in 0..stmt.column_count() {
        let name = stmt
            .column_name(i)
            .map_or_else(|_| format!("column{i}"), str::to_owned);
        map.insert(name, json(row, i));
    }
    map
}

/// Writes a JSON object straight into a string, for modules that stream large tables (see
/// `Record::raw`): no map, no per-key allocation. Keys are trusted (module constants or
/// column names), values are escaped.
#[derive(Debug, Default)]
pub struct JsonObject {
    buf: String,
    empty: bool,
}

impl JsonObject {
    /// An empty object with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buf = String::with_capacity(capacity);
        buf.push('{');
        JsonObject { buf, empty: true }
    }

    fn key(&mut self, key: &str) {
        if !self.empty {
            self.buf.push(',');
        }
        self.empty = false;
        push_json_str(&mut self.buf, key.as_bytes());
        self.buf.push(':');
    }

    /// A string value (bytes: invalid UTF-8 written as `\xNN`, as MVT shows bytes).
    pub fn bytes(&mut self, key: &str, value: &[u8]) -> &mut Self {
        self.key(key);
        push_json_str(&mut self.buf, value);
        self
    }

    /// A string value.
    pub fn str(&mut self, key: &str, value: &str) -> &mut Self {
        self.bytes(key, value.as_bytes())
    }

    /// An integer.
    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        push_int(&mut self.buf, value);
        self
    }

    /// Null.
    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.buf.push_str("null");
        self
    }

    /// Any JSON value.
    pub fn value(&mut self, key: &str, value: &Json) -> &mut Self {
        self.key(key);
        self.buf.push_str(&value.to_string());
        self
    }

    /// A list of strings.
    pub fn strings(&mut self, key: &str, values: &[String]) -> &mut Self {
        self.key(key);
        self.buf.push('[');
        for (i, v) in values.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            push_json_str(&mut self.buf, v.as_bytes());
        }
        self.buf.push(']');
        self
    }

    /// A SQLite column, as [`json`] would give it.
    pub fn column(&mut self, key: &str, row: &Row<'_>, idx: usize) -> &mut Self {
        self.key(key);
        match row.get_ref(idx) {
            Ok(ValueRef::Null) | Err(_) => self.buf.push_str("null"),
            Ok(ValueRef::Integer(i)) => push_int(&mut self.buf, i),
            Ok(ValueRef::Real(f)) => match serde_json::Number::from_f64(f) {
                Some(n) => self.buf.push_str(&n.to_string()),
                None => self.buf.push_str("null"),
            },
            Ok(ValueRef::Text(t) | ValueRef::Blob(t)) => push_json_str(&mut self.buf, t),
        }
        self
    }

    /// A SQLite column as base64 (null when not text or blob).
    pub fn column_base64(&mut self, key: &str, row: &Row<'_>, idx: usize) -> &mut Self {
        self.key(key);
        match row.get_ref(idx) {
            Ok(ValueRef::Blob(b) | ValueRef::Text(b)) => {
                self.buf.push('"');
                base64::engine::general_purpose::STANDARD.encode_string(b, &mut self.buf);
                self.buf.push('"');
            }
            _ => self.buf.push_str("null"),
        }
        self
    }

    /// The finished object.
    pub fn finish(mut self) -> String {
        self.buf.push('}');
        self.buf
    }
}

fn push_int(out: &mut String, v: i64) {
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// Appends `bytes` as a JSON string: UTF-8 text escaped per RFC 8259, each invalid byte as
/// the text `\xNN` (so the JSON holds a backslash, as MVT's output does).
pub fn push_json_str(out: &mut String, bytes: &[u8]) {
    // Most values are plain text: check with one pass and copy them whole.
    if !bytes.iter().any(|b| *b < 0x20 || *b == b'"' || *b == b'\\')
        && let Ok(text) = std::str::from_utf8(bytes)
    {
        out.reserve(text.len() + 2);
        out.push('"');
        out.push_str(text);
        out.push('"');
        return;
    }
    out.push('"');
    for chunk in bytes.utf8_chunks() {
        let valid = chunk.valid();
        let mut start = 0;
        for (i, b) in valid.bytes().enumerate() {
            let esc: Option<&str> = match b {
                b'"' => Some("\\\""),
                b'\\' => Some("\\\\"),
                b'\n' => Some("\\n"),
                b'\r' => Some("\\r"),
                b'\t' => Some("\\t"),
                0..=0x1f => None,
                _ => continue,
            };
            out.push_str(valid.get(start..i).unwrap_or_default());
            match esc {
                Some(e) => out.push_str(e),
                None => out.push_str(&format!("\\u{b:04x}")),
            }
            start = i + 1;
        }
        out.push_str(valid.get(start..).unwrap_or_default());
        for b in chunk.invalid() {
            out.push_str(&format!("\\\\x{b:02x}"));
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_object_escapes_like_serde() {
        let mut o = JsonObject::with_capacity(16);
        o.str("a", "q\"b\\s\n\u{1}é").int("n", -5).null("z");
        o.bytes("b", b"caf\xe9");
        o.strings("l", &["x".to_owned(), "y\"".to_owned()]);
        let text = o.finish();
        let v: Json = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a"], "q\"b\\s\n\u{1}é");
        assert_eq!(v["n"], -5);
        assert!(v["z"].is_null());
        assert_eq!(v["b"], "caf\\xe9");
        assert_eq!(v["l"], serde_json::json!(["x", "y\""]));
    }
}
