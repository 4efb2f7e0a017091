//! The modification times of the files AndroidQF saved under `logs/`.

use super::aqf_common::not_found;
use crate::androidqf::AndroidQf;
use crate::files::Files;
use crate::tz::DeviceTz;
use bridle_evidence::archive::Entry;
use bridle_model::{ModuleError, ModuleOutcome, Record, Sink, Source, TimelineEvent, Timestamp};
use serde_json::json;
use std::sync::Arc;

android_module!(
    AqfLogTimestamps,
    Arc<AndroidQf>,
    "aqf_log_timestamps",
    "AQFLogTimestamps",
    "Modification times of the log files AndroidQF collected (logs/)"
);

/// The UTC modification time of a member: a zip's wall-clock time is converted with the
/// device's zone (the zip was written on the device or the acquiring computer: MVT prints
/// it as is), a tar's or folder's time is already UTC.
pub(crate) fn member_mtime(e: &Entry, tz: &DeviceTz) -> Option<Timestamp> {
    let t = e.mtime?;
    if !e.mtime_is_local {
        return Some(t);
    }
    let ts = jiff::Timestamp::from_microsecond(t.unix_micros()).ok()?;
    let dt = jiff::tz::TimeZone::UTC.to_datetime(ts);
    tz.wall_to_utc(dt)
}

/// One `{path, modified_time}` record with its `M---` event (MVT's file timestamps).
pub(crate) fn timestamp_record(files: &Files, e: &Entry, tz: &DeviceTz) -> Record {
    let mtime = member_mtime(e, tz);
    let mut r = Record::new(Source {
        file: None,
        table: Some(std::borrow::Cow::Borrowed("member")),
        row: Some(files.stored(&e.name)),
    });
    r.set("path", json!(e.name));
    r.set(
        "modified_time",
        json!(mtime.map(Timestamp::to_mvt).unwrap_or_default()),
    );
    r.set("device_timezone", tz.json());
    if mtime.is_some() {
        r.event(TimelineEvent::new(mtime, "M---", e.name.clone()));
    }
    r
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let logs = files.under("logs");
    if logs.is_empty() {
        return Ok(not_found("logs/ folder"));
    }
    for e in logs {
        sink.record(timestamp_record(files, e, aqf.tz()));
    }
    Ok(ModuleOutcome::Done)
}
