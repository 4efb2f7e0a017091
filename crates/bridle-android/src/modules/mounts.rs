//! mounts.json: how partitions were mounted (a writable /system means root).

use super::aqf_common::{MAX_SMALL_FILE, not_found, read_member};
use crate::androidqf::AndroidQf;
use crate::parsers::simple::mount_line;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
};
use serde_json::Value;
use std::sync::Arc;

android_module!(
    Mounts,
    Arc<AndroidQf>,
    "mounts",
    "Mounts",
    "Mounted partitions (mounts.json): system partitions writable or remounted"
);

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("mounts.json").map(|e| e.name.clone()) else {
        return Ok(not_found("mounts.json"));
    };
    let (bytes, file) = read_member(files, &name, MAX_SMALL_FILE)?;
    let lines: Vec<String> = match serde_json::from_str::<Value>(&String::from_utf8_lossy(&bytes)) {
        Ok(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Ok(_) => {
            return Err(ModuleError::Unreadable {
                file: files.stored(&name),
                reason: "not a JSON list of mount lines".into(),
            });
        }
        Err(e) => {
            return Err(ModuleError::Unreadable {
                file: files.stored(&name),
                reason: format!("not valid JSON: {e}"),
            });
        }
    };
    let mut n = 0usize;
    for text in &lines {
        for line in text.lines() {
            let Some(m) = mount_line(line) else { continue };
            let mut r = Record::new(Source::row(&file, "mounts", n));
            n += 1;
            r.observe(Observable::new(
                ObservableKind::FilePath,
                m.mount_point.clone(),
                "mount_point",
            ));
            r.observe(Observable::new(
                ObservableKind::FilePath,
                m.device.clone(),
                "device",
            ));
            for (high, message) in m.heuristics() {
                r.alert(Heuristic::new(
                    if high { Level::High } else { Level::Medium },
                    message,
                ));
            }
            r.data = m.json();
            sink.record(r);
        }
    }
    Ok(ModuleOutcome::Done)
}
