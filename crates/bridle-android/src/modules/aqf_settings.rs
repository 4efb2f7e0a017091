//! settings_*.txt: the system, secure and global settings, checked for protections that were
//! turned off.

use super::aqf_common::{MAX_SMALL_FILE, not_found, read_member};
use crate::androidqf::AndroidQf;
use crate::parsers::simple::{dangerous_setting, setting_line};
use crate::text::lines;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, OutputShape, Record, Sink, Source,
};
use serde_json::{Map, Value};
use std::sync::Arc;

android_module!(
    AqfSettings,
    Arc<AndroidQf>,
    "aqf_settings",
    "AQFSettings",
    "Android settings (settings_*.txt): disabled Play Protect, adb install confirmation, reports",
    OutputShape::Object
);

/// The namespace of `.../settings_secure.txt`: between the last `_` and `.txt` (as MVT).
fn namespace(name: &str) -> String {
    let start = name.rfind('_').map_or(0, |i| i + 1);
    let end = name.len().saturating_sub(4).max(start);
    name.get(start..end).unwrap_or_default().to_owned()
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let names: Vec<String> = files
        .find_all("settings_*.txt")
        .into_iter()
        .map(|e| e.name.clone())
        .collect();
    if names.is_empty() {
        return Ok(not_found("settings_*.txt"));
    }
    let mut data = Map::new();
    let mut heuristics = Vec::new();
    let mut first_file = None;
    for name in &names {
        let (bytes, file) = read_member(files, name, MAX_SMALL_FILE)?;
        first_file.get_or_insert(file);
        let ns = namespace(name);
        let mut settings = Map::new();
        for line in lines(&bytes) {
            let Some((k, v)) = setting_line(&line.text) else {
                continue;
            };
            settings.insert(k, Value::String(v));
        }
        for (k, v) in &settings {
            let v = v.as_str().unwrap_or_default();
            if let Some(d) = dangerous_setting(k, v) {
                heuristics.push(Heuristic::new(
                    Level::Medium,
                    format!(
                        "Found suspicious \"{ns}\" setting \"{k} = {v}\" ({})",
                        d.description
                    ),
                ));
            }
        }
        data.insert(ns, Value::Object(settings));
    }
    let source = first_file.as_ref().map_or_else(Source::default, |f| {
        Source::row(f, "settings", names.join(","))
    });
    let mut r = Record::new(source);
    r.data = data;
    for h in heuristics {
        r.alert(h);
    }
    sink.record(r);
    Ok(ModuleOutcome::Done)
}

#[cfg(test)]
mod tests {
    #[test]
    fn namespaces() {
        assert_eq!(super::namespace("androidqf/settings_secure.txt"), "secure");
        assert_eq!(super::namespace("settings_random.txt"), "random");
    }
}
