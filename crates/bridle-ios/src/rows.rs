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
