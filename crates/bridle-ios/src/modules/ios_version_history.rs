//! iOS version history from the analyticsd journals
//! (`private/var/db/analyticsd/Analytics-Journal-*.ips`).
//!
//! Each journal starts with a one-line JSON header whose `timestamp` (local time with its UTC
//! offset) and `os_version` (`iPhone OS 17.1 (21B74)`) MVT's `IOSVersionHistory` records.
//! Only that first line is read (at most [`MAX_HEADER_BYTES`]); a journal whose header is not
//! such JSON is reported and skipped (MVT stops on it).

use super::found::Tally;
use crate::{Ios, Located, Locations};
use bridle_model::{
    ModuleError, ModuleOutcome, Problem, ProblemKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;

ios_module!(
    IosVersionHistory,
    "ios_version_history",
    "IOSVersionHistory",
    "iOS versions the phone ran, from the analyticsd journals"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &["private/var/db/analyticsd/Analytics-Journal-*.ips"],
};

/// Where a dump says which build it runs.
const SYSTEM_VERSION: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &["System/Library/CoreServices/SystemVersion.plist"],
};

/// Longest header line read.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// Parses a journal or crash-report time, `YYYY-mm-dd HH:MM:SS[.ffff] ±HHMM`, to UTC.
pub(crate) fn parse_offset_time(text: &str) -> Option<Timestamp> {
    let bdt = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S%.f %z", text.trim()).ok()?;
    let ts = bdt.to_timestamp().ok()?;
    Timestamp::from_unix_micros(ts.as_microsecond())
}

/// The build and version in an `os_version` text such as `iPhone OS 17.1 (21B74)`.
pub(crate) fn split_os_version(text: &str) -> Option<(String, String)> {
    let (head, tail) = text.trim().rsplit_once('(')?;
    let build = tail.strip_suffix(')')?.trim();
    let version = head.trim().rsplit(' ').next()?.trim();
    let ok = !build.is_empty()
        && build.bytes().all(|b| b.is_ascii_alphanumeric())
        && version.bytes().next().is_some_and(|b| b.is_ascii_digit());
    ok.then(|| (build.to_ascii_uppercase(), version.to_owned()))
}

/// One journal header.
struct Header {
    time: Option<Timestamp>,
    os_version: Json,
}

fn header(located: &Located) -> Result<Header, String> {
    let line = crate::text::first_line(&located.path, MAX_HEADER_BYTES)
        .map_err(|e| e.to_string())?
        .ok_or("empty file")?;
    let json: Json =
        serde_json::from_slice(&line).map_err(|e| format!("first line is not JSON: {e}"))?;
    let time = json
        .get("timestamp")
        .and_then(Json::as_str)
        .ok_or("no `timestamp` in the header")?;
    let time = parse_offset_time(time).ok_or_else(|| format!("unreadable timestamp `{time}`"))?;
    let os_version = json.get("os_version").cloned().ok_or("no `os_version`")?;
    Ok(Header {
        time: Some(time),
        os_version,
    })
}

/// The builds the dump itself names with their version: from the journal headers and from
/// `SystemVersion.plist`. MVT looks builds up in a table it ships; bridle learns them from
/// the evidence, so they are right for any release.
pub(crate) fn known_builds(ios: &Ios) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for located in ios.locate(&LOCATIONS).unwrap_or_default() {
        if let Ok(h) = header(&located)
            && let Some((build, version)) = h.os_version.as_str().and_then(split_os_version)
        {
            out.entry(build).or_insert(version);
        }
    }
    for located in ios.locate(&SYSTEM_VERSION).unwrap_or_default() {
        if let Ok((plist, _)) = ios.read_plist(&located) {
            let get = |k: &str| {
                bridle_evidence::plist_json::get(&plist, k)
                    .and_then(plist::Value::as_string)
                    .map(str::to_owned)
            };
            if let (Some(build), Some(version)) =
                (get("ProductBuildVersion"), get("ProductVersion"))
            {
                out.entry(build.to_ascii_uppercase()).or_insert(version);
            }
        }
    }
    out
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let found = ios
        .locate(&LOCATIONS)
        .map_err(|e| super::unreadable("private/var/db/analyticsd", &e))?;
    if found.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no analyticsd journal (Analytics-Journal-*.ips)".into(),
        ));
    }
    let mut tally = Tally::default();
    let mut records = Vec::new();
    for located in &found {
        let file = match ios.register(located) {
            Ok(f) => f,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        match header(located) {
            Ok(h) => {
                tally.ok();
                let os_version = match &h.os_version {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let mut r = Record::new(Source::row(&file, "header", 1));
                r.set("isodate", super::iso(h.time))
                    .set("os_version", h.os_version.clone());
                r.event(TimelineEvent::new(
                    h.time,
                    "ios_version",
                    format!("Recorded iOS version {os_version}"),
                ));
                records.push((h.time, r));
            }
            Err(reason) => {
                // One bad journal does not hide the others.
                tally.ok();
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    reason,
                ));
            }
        }
    }
    records.sort_by_key(|(t, _)| *t);
    for (_, r) in records {
        sink.record(r);
    }
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_times_and_versions() {
        assert_eq!(
            parse_offset_time("2022-11-03 13:43:14.00 -0500")
                .unwrap()
                .to_mvt(),
            "2022-11-03 18:43:14.000000"
        );
        assert_eq!(
            parse_offset_time("2022-11-03 13:43:14 +0530")
                .unwrap()
                .to_mvt(),
            "2022-11-03 08:13:14.000000"
        );
        assert_eq!(parse_offset_time("2022-11-03 13:43:14"), None);
        assert_eq!(
            split_os_version("iPhone OS 16.1.1 (20B101)"),
            Some(("20B101".into(), "16.1.1".into()))
        );
        assert_eq!(split_os_version("garbage"), None);
    }
}
