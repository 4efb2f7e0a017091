//! files.json: AndroidQF's listing of the files it could see, with times, modes, SELinux
//! contexts and (optionally) hashes. Streamed entry by entry: it can hold millions.

use super::aqf_common::{cite, not_found, open_member, report_json};
use crate::androidqf::AndroidQf;
use crate::json_stream::for_each_value;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::{Map, Value, json};
use std::sync::Arc;

android_module!(
    AqfFiles,
    Arc<AndroidQf>,
    "aqf_files",
    "AQFFiles",
    "Files seen by AndroidQF (files.json): paths, hashes, times, files in /data/local/tmp"
);

const SUSPICIOUS_PREFIX: &str = "/data/local/tmp/";
/// AndroidQF's own collector binary lives there.
const COLLECTOR: &str = "/data/local/tmp/collector";
const TIME_KEYS: [&str; 3] = ["access_time", "changed_time", "modified_time"];

fn epoch(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(Timestamp::from_unix_seconds)
            .or_else(|| n.as_f64().and_then(Timestamp::from_unix_seconds_f64)),
        _ => None,
    }
}

/// One files.json entry as a record: times in UTC, MVT's MACB timeline, the suspicious-path
/// heuristic (always, where MVT needs indicators loaded).
pub(crate) fn file_record(
    mut entry: Map<String, Value>,
    source: Source,
    tz: &crate::tz::DeviceTz,
) -> Record {
    let mut r = Record::new(source);
    let mut times: [Option<Timestamp>; 3] = [None; 3];
    for (slot, key) in times.iter_mut().zip(TIME_KEYS) {
        if let Some(t) = entry.get(key).and_then(epoch) {
            *slot = Some(t);
            entry.insert(key.to_owned(), json!(t.to_mvt()));
        }
    }
    entry.insert("device_timezone".into(), tz.json());
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let path = s("path");
    let context = s("context");
    let [access, changed, modified] = times;
    let mut distinct: Vec<Timestamp> = times.iter().flatten().copied().collect();
    distinct.sort();
    distinct.dedup();
    let data = if context.is_empty() {
        path.clone()
    } else {
        format!("{path} ({context})")
    };
    for t in distinct {
        let macb = format!(
            "{}{}{}-",
            if modified == Some(t) { 'M' } else { '-' },
            if access == Some(t) { 'A' } else { '-' },
            if changed == Some(t) { 'C' } else { '-' },
        );
        r.event(TimelineEvent::new(Some(t), macb, data.clone()));
    }
    r.observe(Observable::new(
        ObservableKind::FilePath,
        path.clone(),
        "path",
    ));
    for h in ["sha256", "sha1", "md5"] {
        r.observe(Observable::new(ObservableKind::FileHash, s(h), h));
    }
    if path.starts_with(SUSPICIOUS_PREFIX) && path != COLLECTOR {
        let kind = if s("mode").contains('x') {
            "executable "
        } else {
            ""
        };
        r.alert(Heuristic::new(
            Level::High,
            format!("Found {kind}file at suspicious path \"{path}\""),
        ));
    }
    r.data = entry;
    r
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("files.json").map(|e| e.name.clone()) else {
        return Ok(not_found("files.json"));
    };
    let file = cite(files, &name)?;
    let reader = open_member(files, &name)?;
    let tz = aqf.tz();
    let mut not_objects = 0u64;
    let stats = for_each_value(reader, |v, i| match v {
        Value::Object(entry) => sink.record(file_record(entry, Source::row(&file, "files", i), tz)),
        _ => not_objects += 1,
    });
    report_json(files, &name, &stats, not_objects, sink);
    Ok(ModuleOutcome::Done)
}
