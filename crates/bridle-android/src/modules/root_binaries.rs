//! root_binaries.json: root tools AndroidQF found on the device.

use super::aqf_common::{MAX_SMALL_FILE, not_found, read_member};
use crate::androidqf::AndroidQf;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent,
};
use serde_json::{Value, json};
use std::sync::Arc;

android_module!(
    RootBinaries,
    Arc<AndroidQf>,
    "root_binaries",
    "RootBinaries",
    "Root binaries found on the device (root_binaries.json)"
);

const KNOWN: [(&str, &str); 10] = [
    ("su", "SuperUser binary"),
    ("busybox", "BusyBox utilities"),
    ("supersu", "SuperSU root management"),
    ("superuser.apk", "Superuser app"),
    ("kingouser.apk", "KingRoot app"),
    ("supersu.apk", "SuperSU app"),
    ("magisk", "Magisk root framework"),
    ("magiskhide", "Magisk hide utility"),
    ("magiskinit", "Magisk init binary"),
    ("magiskpolicy", "Magisk policy binary"),
];

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("root_binaries.json").map(|e| e.name.clone()) else {
        return Ok(not_found("root_binaries.json"));
    };
    let (bytes, file) = read_member(files, &name, MAX_SMALL_FILE)?;
    let list = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(a)) => a,
        Ok(_) => {
            return Err(ModuleError::Unreadable {
                file: files.stored(&name),
                reason: "not a JSON list of paths".into(),
            });
        }
        Err(e) => {
            return Err(ModuleError::Unreadable {
                file: files.stored(&name),
                reason: format!("not valid JSON: {e}"),
            });
        }
    };
    for (i, v) in list.iter().enumerate() {
        let Some(path) = v.as_str().filter(|p| !p.is_empty()) else {
            continue;
        };
        let binary = path.rsplit('/').next().unwrap_or_default().to_lowercase();
        let description = KNOWN
            .iter()
            .find(|(k, _)| *k == binary)
            .map_or("Unknown root binary", |(_, d)| d);
        let path = path.trim();
        let mut r = Record::new(Source::row(&file, "root_binaries", i));
        r.set("path", json!(path));
        r.set("binary_name", json!(binary));
        r.set("description", json!(description));
        r.observe(Observable::new(ObservableKind::FilePath, path, "path"));
        r.alert(Heuristic::new(
            Level::High,
            format!("Found root binary \"{binary}\" at path \"{path}\""),
        ));
        r.event(TimelineEvent::new(
            None,
            "root_binary_found",
            format!("Root binary found: {path} (binary: {binary})"),
        ));
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
