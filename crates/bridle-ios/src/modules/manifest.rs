//! Manifest.db: every file of the backup, with its metadata.
//!
//! Each row's relative path is checked as a file path (HIGH on a match, as MVT), and each
//! `_`-separated part of it that is a host name under a known public suffix as a domain:
//! Safari and WebKit name their storage files after sites
//! (`LocalStorage/https_evil.example_0.localstorage`).

use super::{report_rows, unreadable};
use crate::{Ios, ManifestFilter};
use bridle_evidence::nska;
use bridle_model::{
    Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::borrow::Cow;

ios_module!(
    Manifest,
    "manifest",
    "Manifest",
    "Files listed in the backup's Manifest.db, with times, mode, owner and size"
);

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if let Some(problem) = ios.manifest_problem() {
        return Err(ModuleError::Unreadable {
            file: "Manifest.db".into(),
            reason: problem.to_owned(),
        });
    }
    let file = ios
        .evidence()
        .files()
        .into_iter()
        .find(|f| f.stored_path == "Manifest.db")
        .ok_or_else(|| ModuleError::Other("Manifest.db was not registered".into()))?;
    let read = ios
        .manifest_rows(ManifestFilter::All, true, |row| {
            sink.record(record(&row, &file));
        })
        .map_err(|e| unreadable("Manifest.db", &e))?;
    report_rows(sink, &file, "Files", &read);
    Ok(ModuleOutcome::Done)
}

fn record(row: &crate::ManifestRow, file: &std::sync::Arc<bridle_model::EvidenceFile>) -> Record {
    let mut r = Record::new(Source::row(file, "Files", &row.file_id));
    // Written straight to JSON: a backup's Manifest holds up to hundreds of thousands of rows.
    let mut o = crate::rows::JsonObject::with_capacity(256);
    o.str("file_id", &row.file_id)
        .str("domain", &row.domain)
        .str("relative_path", &row.relative_path)
        .value("flags", &row.flags.map_or(Json::Null, Json::from));
    let int = |v: Option<i64>| v.map_or(Json::Null, Json::from);
    if let Some(meta) = row.file.as_deref().and_then(metadata) {
        let fmt = |t: Option<Timestamp>| t.map(Timestamp::to_mvt).unwrap_or_default();
        o.str("created", &fmt(meta.birth))
            .str("modified", &fmt(meta.modified))
            .str("status_changed", &fmt(meta.status_changed))
            .value(
                "mode",
                &meta
                    .mode
                    .map_or(Json::Null, |m| Json::from(format!("0o{m:o}"))),
            )
            .value("owner", &int(meta.owner))
            .value("size", &int(meta.size));
        timeline(&mut r, &meta, row);
    } else {
        o.str("created", "");
    }
    r.raw = Some(o.finish());
    if !row.relative_path.is_empty() {
        r.observe(
            Observable::new(
                ObservableKind::FilePath,
                format!("/{}", row.relative_path),
                "relative_path",
            )
            .with_level(Level::High),
        );
        for host in hosts_in_path(&row.relative_path) {
            r.observe(Observable {
                kind: ObservableKind::Domain,
                value: host,
                field: Cow::Borrowed("relative_path"),
                level: Level::High,
            });
        }
    }
    r
}

/// The MBFile fields MVT reads from `$objects[1]`.
struct Meta {
    birth: Option<Timestamp>,
    modified: Option<Timestamp>,
    status_changed: Option<Timestamp>,
    mode: Option<i64>,
    owner: Option<i64>,
    size: Option<i64>,
}

fn metadata(blob: &[u8]) -> Option<Meta> {
    let archive = bridle_evidence::plist_json::parse_plist(blob).ok()?;
    let obj = nska::object(&archive, 1)?;
    let int = |k: &str| {
        bridle_evidence::plist_json::get(obj, k).and_then(bridle_evidence::plist_json::as_i64)
    };
    let time = |k: &str| match bridle_evidence::plist_json::get(obj, k) {
        Some(plist::Value::Date(d)) => bridle_evidence::plist_json::plist_date(*d),
        Some(v) => {
            bridle_evidence::plist_json::as_f64(v).and_then(Timestamp::from_unix_seconds_f64)
        }
        None => None,
    };
    Some(Meta {
        birth: time("Birth"),
        modified: time("LastModified"),
        status_changed: time("LastStatusChange"),
        mode: int("Mode"),
        owner: int("UserID"),
        size: int("Size"),
    })
}

/// One event per distinct time among birth, modification and status change, flagged MACB
/// (there is no access time in a backup).
fn timeline(r: &mut Record, meta: &Meta, row: &crate::ManifestRow) {
    let mut seen: Vec<Option<Timestamp>> = Vec::with_capacity(3);
    for t in [meta.birth, meta.modified, meta.status_changed] {
        if seen.contains(&t) {
            continue;
        }
        seen.push(t);
        let mut macb = String::with_capacity(4);
        macb.push(if t == meta.modified { 'M' } else { '-' });
        macb.push('-');
        macb.push(if t == meta.status_changed { 'C' } else { '-' });
        macb.push(if t == meta.birth { 'B' } else { '-' });
        r.event(TimelineEvent::new(
            t,
            macb,
            format!("{} - {}", row.relative_path, row.domain),
        ));
    }
}

/// Host names mentioned in a path: `_`-separated parts of the lower-cased path that look like
/// a host under a known public suffix.
pub(crate) fn hosts_in_path(relative_path: &str) -> Vec<String> {
    let lower = relative_path.to_lowercase();
    let mut out = Vec::new();
    for part in lower.split('_') {
        if looks_like_host(part) && !out.iter().any(|h: &String| h == part) {
            out.push(part.to_owned());
        }
    }
    out
}

fn looks_like_host(s: &str) -> bool {
    if s.len() < 4 || s.len() > 253 || !s.contains('.') {
        return false;
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    {
        return false;
    }
    if s.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return false;
    }
    // A known public suffix, and something registrable under it.
    match psl::suffix(s.as_bytes()) {
        Some(suffix) if suffix.is_known() => psl::domain(s.as_bytes()).is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_from_storage_file_names() {
        assert_eq!(
            hosts_in_path(
                "Library/WebKit/WebsiteData/LocalStorage/https_Evil.example.com_0.localstorage"
            ),
            ["evil.example.com"]
        );
        assert!(hosts_in_path("Library/Preferences/com.apple.foo.plist").is_empty());
        assert!(hosts_in_path("Media/DCIM/100APPLE/IMG_0001.HEIC").is_empty());
        assert!(hosts_in_path("a_0.localstorage_b").is_empty());
    }
}
