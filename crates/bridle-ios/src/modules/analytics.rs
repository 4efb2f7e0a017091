//! Security framework analytics databases (`private/var/Keychains/Analytics/*.db`).
//!
//! Each row of `hard_failures`, `soft_failures` and `all_events` holds a time (Unix seconds)
//! and a binary plist describing an event (its `build`, `eventtype`, sometimes a process or a
//! URL). MVT's `Analytics` reads the three tables with one `UNION` (so identical rows appear
//! once), adds `isodate` and `artifact` (the database's file name), sorts everything by
//! date, and checks every string value as a process name, then as a URL. The same rows feed
//! [`super::analytics_ios_versions`].
//!
//! Rows are held in memory for the sort ([`MAX_ROWS`] bounds them); a row whose plist cannot
//! be read keeps its date and is reported.

use super::found::Tally;
use crate::{Ios, Locations, pyfmt, rows};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    EvidenceFile, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind,
    Record, Sink, Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::collections::HashSet;
use std::sync::Arc;

ios_module!(
    Analytics,
    "analytics",
    "Analytics",
    "Security analytics events (Keychains/Analytics/*.db), checked for process names and URLs"
);

pub(crate) const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &["private/var/Keychains/Analytics/*.db"],
};

/// The tables MVT reads, in its `UNION` order.
const TABLES: [&str; 3] = ["hard_failures", "soft_failures", "all_events"];
/// Most rows kept over all databases (they are sorted before output).
pub const MAX_ROWS: usize = 1_000_000;

/// One analytics row.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    /// The event plist (a dictionary), when the row has one that could be read.
    pub(crate) data: Option<plist::Dictionary>,
    /// The row's time.
    pub(crate) time: Option<Timestamp>,
    /// The raw time, for MVT's tie order.
    raw_time: f64,
    /// The database's file name (MVT's `artifact`).
    pub(crate) artifact: String,
    pub(crate) file: Arc<EvidenceFile>,
    pub(crate) table: &'static str,
    pub(crate) rowid: i64,
    raw_data: Vec<u8>,
}

/// Reads every analytics database: rows de-duplicated per database as MVT's `UNION` does,
/// sorted by date. `Ok(None)` when there is no database.
pub(crate) fn read_all(ios: &Ios, sink: &mut dyn Sink) -> Result<Option<Vec<Row>>, ModuleError> {
    let found = ios
        .locate(&LOCATIONS)
        .map_err(|e| super::unreadable("Keychains/Analytics", &e))?;
    if found.is_empty() {
        return Ok(None);
    }
    let mut tally = Tally::default();
    let mut out: Vec<Row> = Vec::new();
    let mut skipped = 0u64;
    for located in &found {
        let (db, file) = match ios.open_db(located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        let tables: Vec<&'static str> = TABLES.into_iter().filter(|t| db.has_table(t)).collect();
        if tables.is_empty() {
            tally.unusable(
                sink,
                located,
                "none of the tables hard_failures, soft_failures, all_events",
            );
            continue;
        }
        tally.ok();
        let artifact = located
            .stored
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut seen: HashSet<(Option<u64>, Vec<u8>)> = HashSet::new();
        let mut unreadable = 0u64;
        for table in tables {
            let sql = format!("SELECT timestamp, data, rowid FROM {table} ORDER BY rowid");
            let read = for_each_row(db.conn(), &sql, [], |row| {
                if out.len() >= MAX_ROWS {
                    skipped += 1;
                    return;
                }
                let raw_time = rows::real(row, 0).unwrap_or(0.0);
                let raw_data = rows::bytes(row, 1).unwrap_or_default();
                let has_time = raw_time != 0.0 && raw_time.is_finite();
                if !has_time && raw_data.is_empty() {
                    return;
                }
                // UNION semantics: the same (timestamp, data) once per database.
                let key = (has_time.then(|| raw_time.to_bits()), raw_data.clone());
                if !seen.insert(key) {
                    return;
                }
                let data = if raw_data.is_empty() {
                    None
                } else {
                    match plist_json::parse_plist(&raw_data) {
                        Ok(plist::Value::Dictionary(d)) => Some(d),
                        Ok(other) => {
                            let mut d = plist::Dictionary::new();
                            d.insert("data".into(), other);
                            Some(d)
                        }
                        Err(_) => {
                            unreadable += 1;
                            None
                        }
                    }
                };
                out.push(Row {
                    data,
                    time: if has_time {
                        pyfmt::unix_seconds(raw_time)
                    } else {
                        None
                    },
                    raw_time,
                    artifact: artifact.clone(),
                    file: Arc::clone(&file),
                    table,
                    rowid: rows::int(row, 2).unwrap_or_default(),
                    raw_data,
                });
            });
            super::report_rows(sink, &file, table, &read);
        }
        if unreadable > 0 {
            sink.problem(Problem::file(
                ProblemKind::Partial,
                located.logical.clone(),
                format!("{unreadable} rows hold data that is not a readable plist"),
            ));
        }
    }
    if skipped > 0 {
        sink.problem(Problem {
            kind: ProblemKind::Skipped,
            module: String::new(),
            file: None,
            message: format!("{skipped} analytics rows past the first {MAX_ROWS} were not read"),
        });
    }
    if out.is_empty()
        && let Err(e) = tally.finish()
    {
        return Err(e);
    }
    // MVT: SQLite's UNION returns rows ordered by (timestamp, data); then a stable sort by
    // date, with "" (no date) first.
    out.sort_by(|a, b| {
        a.time
            .cmp(&b.time)
            .then(a.raw_time.total_cmp(&b.raw_time))
            .then_with(|| a.raw_data.cmp(&b.raw_data))
    });
    Ok(Some(out))
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(rows) = read_all(ios, sink)? else {
        return Ok(ModuleOutcome::NotFound(
            "no analytics database (private/var/Keychains/Analytics/*.db)".into(),
        ));
    };
    for row in rows {
        sink.record(record(row));
    }
    Ok(ModuleOutcome::Done)
}

fn record(row: Row) -> Record {
    let isodate = super::iso(row.time);
    let mut r = Record::new(Source::row(&row.file, row.table, row.rowid));
    // Python's str() of MVT's record, for the timeline.
    let mut repr: Vec<(String, String)> = Vec::new();
    if let Some(d) = &row.data {
        for (k, v) in d {
            r.set(k, plist_json::to_json(v, Bytes::Escaped));
            repr.push((k.clone(), python_repr(v, 0)));
            if let plist::Value::String(s) = v
                && k != "isodate"
                && k != "artifact"
            {
                r.observe(Observable::new(ObservableKind::Process, s.as_str(), "data"));
                r.observe(Observable::new(ObservableKind::Url, s.as_str(), "data"));
            }
        }
    }
    r.set("isodate", isodate.as_str());
    r.set("artifact", row.artifact.as_str());
    for (k, v) in [("isodate", &isodate), ("artifact", &row.artifact)] {
        let v = py_str(v);
        match repr.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v,
            None => repr.push((k.to_owned(), v)),
        }
    }
    let text = format!(
        "{{{}}}",
        repr.iter()
            .map(|(k, v)| format!("{}: {v}", py_str(k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    r.event(TimelineEvent::new(row.time, row.artifact, text));
    if row.data.is_none() && !row.raw_data.is_empty() {
        r.set(
            "data",
            Json::String(plist_json::escape_bytes(&row.raw_data)),
        );
    }
    r
}

/// Deepest nesting written by [`python_repr`].
const MAX_REPR_DEPTH: usize = 32;

/// Python's `repr()` of a string: single quotes unless the text has a `'` and no `"`.
fn py_str(s: &str) -> String {
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
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `repr()` of bytes.
fn py_bytes(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::from("b");
    out.push(char::from(quote));
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(char::from(c));
            }
            0x20..=0x7e => out.push(char::from(c)),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(char::from(quote));
    out
}

/// Python's `repr()` of what `plistlib.loads` gives for a value (MVT's timeline writes
/// `str(record)`).
fn python_repr(v: &plist::Value, depth: usize) -> String {
    if depth > MAX_REPR_DEPTH {
        return "...".into();
    }
    match v {
        plist::Value::Dictionary(d) => format!(
            "{{{}}}",
            d.iter()
                .map(|(k, v)| format!("{}: {}", py_str(k), python_repr(v, depth + 1)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        plist::Value::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|v| python_repr(v, depth + 1))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        plist::Value::Boolean(true) => "True".into(),
        plist::Value::Boolean(false) => "False".into(),
        plist::Value::Data(d) => py_bytes(d),
        plist::Value::Date(d) => match pyfmt::plist_date(*d) {
            Some(t) => {
                let us = t.unix_micros().rem_euclid(1_000_000);
                let text = t.to_mvt();
                // "YYYY-mm-dd HH:MM:SS.ffffff" -> datetime.datetime(Y, M, D, H, M[, S[, us]])
                let n = |a: usize, b: usize| {
                    text.get(a..b)
                        .and_then(|s| s.parse::<i64>().ok())
                        .unwrap_or_default()
                };
                let (y, mo, da, h, mi, s) =
                    (n(0, 4), n(5, 7), n(8, 10), n(11, 13), n(14, 16), n(17, 19));
                let mut parts = vec![y, mo, da, h, mi];
                if s != 0 || us != 0 {
                    parts.push(s);
                }
                if us != 0 {
                    parts.push(us);
                }
                format!(
                    "datetime.datetime({})",
                    parts
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            None => "None".into(),
        },
        plist::Value::Real(f) => pyfmt::float(*f),
        plist::Value::Integer(i) => i
            .as_signed()
            .map(|v| v.to_string())
            .or_else(|| i.as_unsigned().map(|v| v.to_string()))
            .unwrap_or_default(),
        plist::Value::String(s) => py_str(s),
        plist::Value::Uid(u) => format!("UID({})", u.get()),
        _ => "None".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_reprs() {
        assert_eq!(py_str("a'b"), "\"a'b\"");
        assert_eq!(py_str("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(py_str("x\ny\u{1}"), "'x\\ny\\x01'");
        assert_eq!(py_bytes(b"ab\x00\xff'"), "b\"ab\\x00\\xff'\"");
        let mut d = plist::Dictionary::new();
        d.insert("n".into(), plist::Value::Integer(5.into()));
        d.insert("f".into(), plist::Value::Real(2.0));
        d.insert("b".into(), plist::Value::Boolean(false));
        d.insert(
            "l".into(),
            plist::Value::Array(vec![plist::Value::String("s".into())]),
        );
        assert_eq!(
            python_repr(&plist::Value::Dictionary(d), 0),
            "{'n': 5, 'f': 2.0, 'b': False, 'l': ['s']}"
        );
        let date: plist::Date =
            (std::time::UNIX_EPOCH + std::time::Duration::from_secs(86_400 + 61)).into();
        assert_eq!(
            python_repr(&plist::Value::Date(date), 0),
            "datetime.datetime(1970, 1, 2, 0, 1, 1)"
        );
    }
}
