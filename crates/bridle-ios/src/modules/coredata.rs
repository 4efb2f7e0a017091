//! Conventions shared by the Core Data / SQLite stores of several modules: Mac absolute
//! times in untyped columns, queries that adapt to the columns a schema version has, and
//! MVT's Python renderings of values in timeline text.
//!
//! Apps rename and drop columns between versions (WhatsApp, interactionC, Calendar), so the
//! modules build their `SELECT` from what `pragma_table_info` says is there and put `NULL`
//! in place of what is missing, rather than running a fixed query and losing every row
//! when one column is gone.

use bridle_evidence::sqlite::Database;
use bridle_model::Timestamp;
use rusqlite::Row;
use rusqlite::types::ValueRef;
use serde_json::Value as Json;

/// The columns of one table, read once, to build queries against.
#[derive(Debug, Clone, Default)]
pub(crate) struct Columns {
    table: &'static str,
    names: Vec<String>,
}

impl Columns {
    /// The columns of `table` (none if the table is missing).
    pub(crate) fn of(db: &Database, table: &'static str) -> Columns {
        Columns {
            table,
            names: db.columns(table),
        }
    }

    /// Whether the table exists (has any column).
    pub(crate) fn exists(&self) -> bool {
        !self.names.is_empty()
    }

    /// Whether the table has a column (case-insensitive, as SQLite is).
    pub(crate) fn has(&self, column: &str) -> bool {
        self.names.iter().any(|c| c.eq_ignore_ascii_case(column))
    }

    /// `"table"."column" AS "alias"` when the column exists, `NULL AS "alias"` otherwise.
    pub(crate) fn select(&self, column: &str, alias: &str) -> String {
        self.select_from(self.table, column, alias)
    }

    /// As [`Columns::select`], with the table referred to by another name (an alias in the
    /// `FROM` clause).
    pub(crate) fn select_from(&self, qualifier: &str, column: &str, alias: &str) -> String {
        if self.has(column) {
            format!("{}.{} AS {}", quote(qualifier), quote(column), quote(alias))
        } else {
            format!("NULL AS {}", quote(alias))
        }
    }
}

/// An SQL identifier in double quotes (the names come from our own constants or from the
/// database's schema, which could hold a quote).
pub(crate) fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A Mac absolute time column: a float of seconds, an integer of seconds, or an 18-digit
/// integer of nanoseconds (MVT's rule). Zero, NULL and anything unparseable are "no date".
pub(crate) fn mac_time(row: &Row<'_>, idx: usize) -> Option<Timestamp> {
    match row.get_ref(idx).ok()? {
        ValueRef::Integer(0) => None,
        ValueRef::Integer(i) => Timestamp::from_cocoa_int(i),
        ValueRef::Real(0.0) => None,
        ValueRef::Real(f) => Timestamp::from_cocoa_seconds_f64(f),
        ValueRef::Text(t) => {
            let f: f64 = std::str::from_utf8(t).ok()?.trim().parse().ok()?;
            (f != 0.0)
                .then_some(f)
                .and_then(Timestamp::from_cocoa_seconds_f64)
        }
        _ => None,
    }
}

/// MVT's date text, `""` when there is no date.
pub(crate) fn iso(t: Option<Timestamp>) -> String {
    t.map(Timestamp::to_mvt).unwrap_or_default()
}

/// MVT's date text, or JSON null when there is no date (the modules that write `None`).
pub(crate) fn iso_or_null(t: Option<Timestamp>) -> Json {
    t.map_or(Json::Null, |t| Json::String(t.to_mvt()))
}

/// A value as Python's `str()` shows it in MVT's timeline text: `None`, `True`/`False`,
/// floats with a `.0`, text as is.
pub(crate) fn py_str(v: &Json) -> String {
    match v {
        Json::Null => "None".to_owned(),
        Json::Bool(true) => "True".to_owned(),
        Json::Bool(false) => "False".to_owned(),
        Json::String(s) => s.clone(),
        Json::Number(n) => {
            if n.is_f64() {
                n.as_f64().map_or_else(|| n.to_string(), py_float)
            } else {
                n.to_string()
            }
        }
        other => other.to_string(),
    }
}

/// Python's `repr()` of a float: shortest round-trip digits, `.0` on whole numbers,
/// exponent with a sign and two digits (`1e+16`).
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's Debug rendering switches to exponents at the same magnitudes as Python's repr
    // (below 1e-4 and from 1e16); only the exponent's spelling differs.
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((mantissa, exp)) => {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            format!("{mantissa}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// A text value from the data map, or `None` for null/absent.
pub(crate) fn text_of(data: &bridle_model::Map, key: &str) -> Option<String> {
    match data.get(key) {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Null) | None => None,
        Some(other) => Some(py_str(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_renderings() {
        assert_eq!(py_float(86400.0), "86400.0");
        assert_eq!(py_float(0.5), "0.5");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.5e-5), "1.5e-05");
        assert_eq!(py_str(&Json::Null), "None");
        assert_eq!(py_str(&Json::Bool(false)), "False");
        assert_eq!(py_str(&serde_json::json!(12)), "12");
        assert_eq!(py_str(&serde_json::json!(12.0)), "12.0");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
    }
}
