//! Plists from evidence, and their conversion to the JSON bridle writes.

use crate::{EvidenceError, Limits};
use base64::Engine;
use bridle_model::Timestamp;
use serde_json::Value as Json;
use std::io::Read;
use std::path::Path;

/// Deepest plist nesting converted to JSON; deeper values become a marker string. The plist
/// crate already refuses reference cycles; this bounds the recursion of the conversion.
pub const MAX_DEPTH: usize = 128;

/// Reads a plist (binary, XML or ASCII) from a file, refusing files over the cap.
pub fn read_plist(path: &Path, limits: &Limits) -> Result<plist::Value, EvidenceError> {
    let bytes = read_capped(path, limits.max_plist_bytes, "a plist")?;
    parse_plist(&bytes).map_err(|message| EvidenceError::Plist {
        path: path.to_path_buf(),
        message,
    })
}

/// Parses plist bytes. The plist crate is fuzzed and rejects recursive objects and
/// oversized allocations; errors are returned as text for the caller to attach a path to.
pub fn parse_plist(bytes: &[u8]) -> Result<plist::Value, String> {
    // Choose the format from the first bytes rather than letting the reader guess: a lenient
    // guess turns any junk into a one-string "plist".
    let cursor = std::io::Cursor::new(bytes);
    if bytes.starts_with(b"bplist") {
        return plist::Value::from_reader(cursor).map_err(|e| e.to_string());
    }
    let text = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    match text.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => plist::Value::from_reader_xml(cursor).map_err(|e| e.to_string()),
        // Older property lists can be in the ASCII (OpenStep) format.
        Some(b'{' | b'(') => plist::Value::from_reader_ascii(cursor).map_err(|e| e.to_string()),
        _ => Err("not a binary, XML or ASCII property list".into()),
    }
}

/// Reads a whole file if it is no larger than `max` bytes.
pub fn read_capped(path: &Path, max: u64, what: &'static str) -> Result<Vec<u8>, EvidenceError> {
    let file = std::fs::File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    let size = file
        .metadata()
        .map_err(|e| EvidenceError::io(path, e))?
        .len();
    if size > max {
        return Err(EvidenceError::TooLarge {
            path: path.to_path_buf(),
            size,
            max,
            what,
        });
    }
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while we read it.
    file.take(max.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| EvidenceError::io(path, e))?;
    if buf.len() as u64 > max {
        return Err(EvidenceError::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
            max,
            what,
        });
    }
    Ok(buf)
}

/// How binary data is written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bytes {
    /// Base64 (MVT does this for known binary fields such as certificates).
    Base64,
    /// MVT's default: UTF-8 text with each invalid byte written as `\xNN`.
    Escaped,
}

/// Converts a plist value to JSON the way MVT's output shows it: dates as
/// `YYYY-mm-dd HH:MM:SS.ffffff`, UIDs as numbers, data per `bytes`.
pub fn to_json(value: &plist::Value, bytes: Bytes) -> Json {
    to_json_depth(value, bytes, 0)
}

fn to_json_depth(value: &plist::Value, bytes: Bytes, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::String("<nested too deep>".into());
    }
    match value {
        plist::Value::Array(a) => Json::Array(
            a.iter()
                .map(|v| to_json_depth(v, bytes, depth + 1))
                .collect(),
        ),
        plist::Value::Dictionary(d) => Json::Object(
            d.iter()
                .map(|(k, v)| (k.clone(), to_json_depth(v, bytes, depth + 1)))
                .collect(),
        ),
        plist::Value::Boolean(b) => Json::Bool(*b),
        plist::Value::Data(d) => data_to_json(d, bytes),
        plist::Value::Date(d) => {
            Json::String(plist_date(*d).map(Timestamp::to_mvt).unwrap_or_default())
        }
        plist::Value::Real(r) => serde_json::Number::from_f64(*r).map_or(Json::Null, Json::Number),
        plist::Value::Integer(i) => {
            if let Some(v) = i.as_signed() {
                Json::from(v)
            } else if let Some(v) = i.as_unsigned() {
                Json::from(v)
            } else {
                Json::Null
            }
        }
        plist::Value::String(s) => Json::String(s.clone()),
        plist::Value::Uid(u) => Json::from(u.get()),
        _ => Json::Null,
    }
}

/// Binary data as JSON.
pub fn data_to_json(d: &[u8], bytes: Bytes) -> Json {
    match bytes {
        Bytes::Base64 => Json::String(base64::engine::general_purpose::STANDARD.encode(d)),
        Bytes::Escaped => Json::String(escape_bytes(d)),
    }
}

/// A plist date as a [`Timestamp`].
pub fn plist_date(d: plist::Date) -> Option<Timestamp> {
    let st: std::time::SystemTime = d.into();
    match st.duration_since(std::time::UNIX_EPOCH) {
        Ok(dur) => i64::try_from(dur.as_micros())
            .ok()
            .and_then(Timestamp::from_unix_micros),
        Err(e) => i64::try_from(e.duration().as_micros())
            .ok()
            .and_then(|us| Timestamp::from_unix_micros(-us)),
    }
}

/// UTF-8 text with every invalid byte written as `\xNN` (Python's `backslashreplace`, which
/// is what MVT's JSON shows for bytes), so nothing is lost and nothing is invented.
pub fn escape_bytes(d: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(d) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(d.len());
    for chunk in d.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Looks up a key in a plist dictionary value.
pub fn get<'a>(value: &'a plist::Value, key: &str) -> Option<&'a plist::Value> {
    value.as_dictionary().and_then(|d| d.get(key))
}

/// A plist value as an integer, accepting reals with no fraction and numeric strings (some
/// artifacts store numbers as text).
pub fn as_i64(value: &plist::Value) -> Option<i64> {
    match value {
        plist::Value::Integer(i) => i.as_signed(),
        #[allow(clippy::cast_possible_truncation)]
        plist::Value::Real(r) if r.is_finite() && r.fract() == 0.0 && r.abs() < 9.0e18 => {
            Some(*r as i64)
        }
        plist::Value::String(s) => s.trim().parse().ok(),
        plist::Value::Boolean(b) => Some(i64::from(*b)),
        _ => None,
    }
}

/// A plist value as a float.
pub fn as_f64(value: &plist::Value) -> Option<f64> {
    match value {
        plist::Value::Real(r) => Some(*r),
        #[allow(clippy::cast_precision_loss)]
        plist::Value::Integer(i) => i.as_signed().map(|v| v as f64),
        plist::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_python_backslashreplace() {
        assert_eq!(escape_bytes(b"\xa8\xa9"), "\\xa8\\xa9");
        assert_eq!(escape_bytes("家".as_bytes()), "家");
        assert_eq!(escape_bytes(b"ok\xffok"), "ok\\xffok");
    }

    #[test]
    fn truncated_and_garbage_plists_are_errors() {
        let mut d = plist::Dictionary::new();
        d.insert("a".into(), plist::Value::String("b".repeat(100)));
        let mut buf = Vec::new();
        plist::Value::Dictionary(d)
            .to_writer_binary(&mut buf)
            .unwrap();
        assert!(parse_plist(&buf).is_ok());
        assert!(parse_plist(&buf[..buf.len() / 2]).is_err());
        assert!(parse_plist(b"\x00\x01garbage").is_err());
        assert!(parse_plist(b"").is_err());
    }

    #[test]
    fn oversized_file_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.plist");
        std::fs::write(&p, vec![b' '; 2000]).unwrap();
        let limits = Limits {
            max_plist_bytes: 1000,
            ..Limits::default()
        };
        assert!(matches!(
            read_plist(&p, &limits),
            Err(EvidenceError::TooLarge { .. })
        ));
    }

    #[test]
    fn json_conversion() {
        let v = plist::Value::Array(vec![
            plist::Value::Data(vec![0, 1, 2]),
            plist::Value::Real(f64::NAN),
            plist::Value::Integer(7.into()),
        ]);
        assert_eq!(
            to_json(&v, Bytes::Base64),
            serde_json::json!(["AAEC", null, 7])
        );
    }
}
