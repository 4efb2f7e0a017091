//! SMS and MMS from an Android backup: zlib-compressed JSON lists inside the backup's tar,
//! read in place (never extracted), with the links they carry.

use super::BackupOrigin;
use crate::backup::{Backup, inflate_bounded};
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record, Sink,
    Source, Timestamp,
};
use regex::Regex;
use serde_json::{Map, Value, json};
use std::io::Read;
use std::sync::{Arc, LazyLock};

android_module!(
    Sms,
    BackupOrigin,
    "sms",
    "SMS",
    "SMS and MMS messages in an Android backup, and their links"
);

const PATTERNS: [&str; 2] = [
    "apps/com.android.providers.telephony/d_f/*_sms_backup",
    "apps/com.android.providers.telephony/d_f/*_mms_backup",
];

/// Largest inflated message file.
const MAX_INFLATED: u64 = 512 << 20;

static LINK: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"(?i)https?://[^\s]+").ok());

/// Links in a message body, as MVT finds them.
pub fn find_links(text: &str) -> Vec<String> {
    LINK.as_ref()
        .map(|re| re.find_iter(text).map(|m| m.as_str().to_owned()).collect())
        .unwrap_or_default()
}

fn as_int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One message as MVT writes it: `mms_body` renamed `body`, `isodate` from the date in
/// milliseconds (UTC), `direction`, and `links` when the body has links (or is empty).
pub fn message_record(mut entry: Map<String, Value>, source: Source) -> Record {
    if let Some(body) = entry.remove("mms_body") {
        entry.insert("body".into(), body);
    }
    let isodate = as_int(entry.get("date"))
        .and_then(|ms| Timestamp::from_unix_seconds_f64(ms as f64 / 1000.0))
        .map(Timestamp::to_mvt)
        .unwrap_or_default();
    let sent = as_int(entry.get("date_sent")).is_some_and(|d| d != 0);
    let body = entry.get("body").and_then(Value::as_str).map(str::to_owned);
    entry.insert("isodate".into(), json!(isodate));
    entry.insert(
        "direction".into(),
        json!(if sent { "sent" } else { "received" }),
    );
    let mut r = Record::new(source);
    if let Some(body) = &body {
        let links = find_links(body);
        if !links.is_empty() {
            entry.insert("links".into(), json!(links));
        } else if body.trim().is_empty() {
            entry.insert(
                "links".into(),
                if body.is_empty() {
                    Value::Null
                } else {
                    json!(links)
                },
            );
        }
        for l in links {
            r.observe(Observable::new(ObservableKind::Url, l, "links"));
        }
    }
    r.data = entry;
    r
}

fn read_file(
    backup: &Backup,
    m: crate::backup::BackupMember<'_>,
    problems: &mut Vec<Problem>,
    sink: &mut dyn Sink,
) {
    let label = format!("{}!/{}", backup.label(), m.name);
    let max = backup.max_member();
    if m.size > max {
        problems.push(Problem::file(
            ProblemKind::Skipped,
            label,
            format!("{} bytes is over the {max}-byte limit; skipped", m.size),
        ));
        return;
    }
    let mut bytes = Vec::new();
    if let Err(e) = m.reader.take(max.saturating_add(1)).read_to_end(&mut bytes) {
        problems.push(Problem::file(ProblemKind::Unreadable, label, e.to_string()));
        return;
    }
    let file = backup.cite_member(&m.name, &bytes);
    let json = match inflate_bounded(&bytes, MAX_INFLATED) {
        Ok(j) => j,
        Err(e) => {
            problems.push(Problem::file(
                ProblemKind::Unreadable,
                label,
                format!("not zlib-compressed messages: {e}"),
            ));
            return;
        }
    };
    let list = match serde_json::from_slice::<Value>(&json) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            problems.push(Problem::file(
                ProblemKind::Unreadable,
                label,
                "not a JSON list of messages",
            ));
            return;
        }
        Err(e) => {
            problems.push(Problem::file(
                ProblemKind::Unreadable,
                label,
                format!("not valid JSON: {e}"),
            ));
            return;
        }
    };
    let mut skipped = 0u64;
    for (i, v) in list.into_iter().enumerate() {
        match v {
            Value::Object(entry) => {
                sink.record(message_record(entry, Source::row(&file, "messages", i)))
            }
            _ => skipped += 1,
        }
    }
    if skipped > 0 {
        problems.push(Problem::file(
            ProblemKind::Partial,
            label,
            format!("{skipped} entries are not messages and were skipped"),
        ));
    }
}

fn run(origin: &BackupOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let backup: Arc<Backup> = match origin.open()? {
        Ok(b) => b,
        Err(not_found) => return Ok(not_found),
    };
    let mut problems = Vec::new();
    let result = backup.visit(&PATTERNS, &mut problems, |m, problems| {
        read_file(&backup, m, problems, sink)
    });
    for p in problems {
        sink.problem(p);
    }
    match result {
        Ok(()) => Ok(ModuleOutcome::Done),
        Err(e) => Err(origin.error(&backup, e)),
    }
}
