//! getprop.txt: the Android system properties.

use super::aqf_common::{MAX_SMALL_FILE, not_found, read_member};
use crate::androidqf::AndroidQf;
use crate::parsers::simple::{Prop, getprop_line};
use crate::text::lines;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    Timestamp,
};
use serde_json::json;
use std::sync::Arc;

android_module!(
    AqfGetProp,
    Arc<AndroidQf>,
    "aqf_get_prop",
    "AQFGetProp",
    "Android system properties (getprop.txt) and the security patch level"
);

/// Six months, as MVT counts them (6 × 31 days).
const PATCH_MAX_AGE_DAYS: i64 = 6 * 31;

/// The time patch levels are compared with: the acquisition's start when known, else the
/// time of the run (MVT always uses the analyst's clock).
pub(crate) fn reference_time(started: Option<Timestamp>) -> Option<Timestamp> {
    started.or_else(|| {
        let micros = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_micros()).ok())?;
        Timestamp::from_unix_micros(micros)
    })
}

/// MVT's patch-level heuristic, against `reference` instead of the analyst's clock. A
/// patch level that is not a `YYYY-mm-dd` date is ignored (MVT's module fails on it).
pub(crate) fn patch_heuristic(patch_level: &str, reference: Timestamp) -> Option<Heuristic> {
    let level = patch_level.trim();
    let date = crate::tz::parse_civil(level).filter(|_| level.len() == 10)?;
    let patch = crate::tz::DeviceTz::unknown().wall_to_utc(date)?;
    let age = reference.unix_micros().checked_sub(patch.unix_micros())?;
    (age > PATCH_MAX_AGE_DAYS * 86_400 * 1_000_000).then(|| {
        Heuristic::new(
            Level::Medium,
            format!(
                "This phone has not received security updates for more than six months (last update: {patch_level})."
            ),
        )
    })
}

/// The record of one property.
pub(crate) fn prop_record(p: Prop, source: Source, reference: Option<Timestamp>) -> Record {
    let mut r = Record::new(source);
    r.observe(Observable::new(
        ObservableKind::AndroidProperty,
        p.name.clone(),
        "name",
    ));
    if p.name == "ro.build.version.security_patch"
        && let Some(h) = reference.and_then(|t| patch_heuristic(&p.value, t))
    {
        r.alert(h);
    }
    r.set("name", json!(p.name));
    r.set("value", json!(p.value));
    r
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("getprop.txt").map(|e| e.name.clone()) else {
        return Ok(not_found("getprop.txt"));
    };
    let (bytes, file) = read_member(files, &name, MAX_SMALL_FILE)?;
    let reference = reference_time(aqf.context().started_at());
    for line in lines(&bytes) {
        if let Some(p) = getprop_line(&line.text) {
            sink.record(prop_record(
                p,
                Source::row(&file, "getprop", line.number),
                reference,
            ));
        }
    }
    Ok(ModuleOutcome::Done)
}
