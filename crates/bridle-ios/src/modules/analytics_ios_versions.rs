//! The iOS builds seen in the Security analytics events, with the date each was first seen
//! (MVT's `AnalyticsIOSVersions`).
//!
//! The version of a build comes from the dump itself (the analyticsd journal headers and
//! `SystemVersion.plist` pair builds with versions): MVT looks it up in a table it ships
//! instead; a build the dump does not name gets `""`, as an unknown build does in MVT.

use crate::Ios;
use bridle_model::{ModuleError, ModuleOutcome, Record, Sink, Source, TimelineEvent, Timestamp};
use std::collections::BTreeMap;

ios_module!(
    AnalyticsIosVersions,
    "analytics_ios_versions",
    "AnalyticsIOSVersions",
    "iOS builds seen in the Security analytics events, with the date each was first seen"
);

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(rows) = super::analytics::read_all(ios, sink)? else {
        return Ok(ModuleOutcome::NotFound(
            "no analytics database (private/var/Keychains/Analytics/*.db)".into(),
        ));
    };
    // First date per build, in order of first appearance (MVT's dict), with the row that
    // showed it.
    let mut first: Vec<(String, Timestamp, Source)> = Vec::new();
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for row in &rows {
        let Some(time) = row.time else { continue };
        let Some(build) = row
            .data
            .as_ref()
            .and_then(|d| d.get("build"))
            .and_then(plist::Value::as_string)
            .filter(|b| !b.is_empty())
        else {
            continue;
        };
        let source = Source::row(&row.file, row.table, row.rowid);
        match at.get(build) {
            Some(&i) => {
                if let Some(slot) = first.get_mut(i)
                    && time < slot.1
                {
                    slot.1 = time;
                    slot.2 = source;
                }
            }
            None => {
                at.insert(build.to_owned(), first.len());
                first.push((build.to_owned(), time, source));
            }
        }
    }
    let known = super::ios_version_history::known_builds(ios);
    first.sort_by_key(|(_, t, _)| *t);
    for (build, time, source) in first {
        let version = known
            .get(&build.to_ascii_uppercase())
            .cloned()
            .unwrap_or_default();
        let mut r = Record::new(source);
        r.set("isodate", time.to_mvt())
            .set("build", build.as_str())
            .set("version", version.as_str());
        r.event(TimelineEvent::new(
            Some(time),
            "analytics_ios_version",
            format!("Seen iOS version {version} ({build})"),
        ));
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
