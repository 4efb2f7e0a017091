//! Configuration profiles and their history from a sysdiagnose's `logs/MCState/`
//! (ManagedConfiguration's state):
//!
//! * `*/profile-*.stub`: one plist per installed profile (`PayloadIdentifier`, `PayloadUUID`,
//!   `PayloadDisplayName`, `PayloadType`, `InstallDate`, `PayloadContent`…); the identifiers
//!   are offered as profile ids, and MVT's heuristic for a profile whose first payload is
//!   `com.apple.notificationsettings` (MEDIUM) is applied;
//! * `*/MCProfileEvents.plist`: profile installs and removals, with the process that did
//!   them (as MVT's `profile_events` reads the backup's copy: a LOW alert for each);
//! * `*/MCSettingsEvents.plist`: settings changed, with the process that changed them.

use super::found::Tally;
use crate::{Ios, IosKind, Located, pyfmt};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    McState,
    "mc_state",
    "MCState",
    "Configuration profiles, profile events and settings changes (logs/MCState)"
);

const STUBS: &[&str] = &["logs/MCState/*/profile-*.stub"];
const PROFILE_EVENTS: &[&str] = &["logs/MCState/*/MCProfileEvents.plist"];
const SETTINGS_EVENTS: &[&str] = &["logs/MCState/*/MCSettingsEvents.plist"];
/// Most events read from one plist.
pub const MAX_EVENTS: usize = 100_000;

fn date_of(v: Option<&plist::Value>) -> Option<Timestamp> {
    match v? {
        plist::Value::Date(d) => pyfmt::plist_date(*d),
        plist::Value::String(s) => {
            // EC-DIGIT's parser reads `%Y-%m-%dT%H:%M:%S.%f`, UTC.
            let s = s.trim().trim_end_matches('Z');
            jiff::civil::DateTime::strptime("%Y-%m-%dT%H:%M:%S%.f", s)
                .ok()
                .and_then(|dt| jiff::tz::TimeZone::UTC.to_timestamp(dt).ok())
                .and_then(|ts| Timestamp::from_unix_micros(ts.as_microsecond()))
        }
        _ => None,
    }
}

fn text(v: Option<&plist::Value>) -> String {
    match v {
        Some(plist::Value::String(s)) => s.clone(),
        Some(other) => pyfmt::value(&plist_json::to_json(other, Bytes::Escaped)),
        None => "None".into(),
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::Sysdiagnose {
        return Ok(ModuleOutcome::NotFound("not a sysdiagnose".into()));
    }
    let find = |p: &[&str]| {
        ios.find(p)
            .map_err(|e| super::unreadable("logs/MCState", &e))
    };
    let (stubs, profile_events, settings) =
        (find(STUBS)?, find(PROFILE_EVENTS)?, find(SETTINGS_EVENTS)?);
    if stubs.is_empty() && profile_events.is_empty() && settings.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no logs/MCState in this sysdiagnose".into(),
        ));
    }
    let mut tally = Tally::default();
    let mut read = |located: &Located, sink: &mut dyn Sink| match ios.read_plist(located) {
        Ok(x) => {
            tally.ok();
            Some(x)
        }
        Err(e) => {
            tally.failed(sink, located, &e);
            None
        }
    };
    for located in &stubs {
        let Some((plist, file)) = read(located, sink) else {
            continue;
        };
        let Some(dict) = plist.as_dictionary() else {
            continue;
        };
        let mut r = Record::new(Source::file(&file));
        r.set("record_type", "profile")
            .set("file", located.stored.as_str());
        for (k, v) in dict {
            if k != "PayloadContent" {
                r.set(k, plist_json::to_json(v, Bytes::Base64));
            }
        }
        let installed = date_of(dict.get("InstallDate"));
        r.set("isodate", super::iso(installed));
        for key in ["PayloadUUID", "PayloadIdentifier"] {
            if let Some(plist::Value::String(id)) = dict.get(key) {
                r.observe(Observable::new(ObservableKind::ProfileId, id.as_str(), key));
            }
        }
        let first_payload_type = dict
            .get("PayloadContent")
            .and_then(plist::Value::as_array)
            .and_then(|a| a.first())
            .and_then(|p| plist_json::get(p, "PayloadType"))
            .and_then(plist::Value::as_string);
        r.set(
            "payload_types",
            dict.get("PayloadContent")
                .and_then(plist::Value::as_array)
                .map(|a| {
                    a.iter()
                        .take(MAX_EVENTS)
                        .filter_map(|p| plist_json::get(p, "PayloadType"))
                        .map(|t| plist_json::to_json(t, Bytes::Escaped))
                        .collect::<Vec<_>>()
                })
                .map_or(Json::Null, Json::Array),
        );
        r.event(TimelineEvent::new(
            installed,
            "configuration_profile_install",
            format!(
                "{} installed: {} - {}: {}",
                text(dict.get("PayloadType")),
                text(dict.get("PayloadUUID")),
                text(dict.get("PayloadDisplayName")),
                text(dict.get("PayloadDescription")),
            ),
        ));
        if first_payload_type == Some("com.apple.notificationsettings") {
            r.alert(
                Heuristic::new(
                    Level::Medium,
                    format!(
                        "Found a potentially suspicious configuration profile \"{}\" with \
                         payload type com.apple.notificationsettings",
                        text(dict.get("PayloadDisplayName"))
                    ),
                )
                .at(installed),
            );
        }
        sink.record(r);
    }
    for located in &profile_events {
        let Some((plist, file)) = read(located, sink) else {
            continue;
        };
        let events = plist_json::get(&plist, "ProfileEvents")
            .and_then(plist::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, event) in events.iter().take(MAX_EVENTS).enumerate() {
            let Some(by_profile) = event.as_dictionary() else {
                continue;
            };
            for (profile_id, details) in by_profile {
                let get = |k: &str| plist_json::get(details, k);
                let when = date_of(get("timestamp"));
                let operation = text(get("operation"));
                let process = text(get("process"));
                let mut r = Record::new(Source::row(&file, "ProfileEvents", i));
                r.set("record_type", "profile_event")
                    .set("profile_id", profile_id.as_str())
                    .set("isodate", super::iso(when))
                    .set("operation", operation.as_str())
                    .set("process", process.as_str());
                r.event(TimelineEvent::new(
                    when,
                    "profile_operation",
                    format!(
                        "Process {process} started operation {operation} of profile {profile_id}"
                    ),
                ));
                r.observe(Observable::new(
                    ObservableKind::ProfileId,
                    profile_id.as_str(),
                    "profile_id",
                ));
                if get("process").is_some() {
                    r.observe(Observable::new(
                        ObservableKind::Process,
                        process.as_str(),
                        "process",
                    ));
                }
                r.alert(
                    Heuristic::new(
                        Level::Low,
                        format!(
                            "On {} process \"{process}\" started operation \"{operation}\" of \
                             profile \"{profile_id}\"",
                            super::iso(when)
                        ),
                    )
                    .at(when),
                );
                sink.record(r);
            }
        }
    }
    for located in &settings {
        let Some((plist, file)) = read(located, sink) else {
            continue;
        };
        let events = plist_json::get(&plist, "SettingsEvents")
            .and_then(plist::Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for (i, event) in events.iter().take(MAX_EVENTS).enumerate() {
            let when = date_of(plist_json::get(event, "Timestamp"));
            let process = text(plist_json::get(event, "Process"));
            let setting = text(plist_json::get(event, "Setting"));
            let mut r = Record::new(Source::row(&file, "SettingsEvents", i));
            r.set("record_type", "settings_event")
                .set("isodate", super::iso(when))
                .set("process", process.as_str())
                .set("setting", setting.as_str());
            r.event(TimelineEvent::new(
                when,
                "settings_change",
                format!("Process {process} changed setting {setting}"),
            ));
            if plist_json::get(event, "Process").is_some() {
                r.observe(Observable::new(
                    ObservableKind::Process,
                    process.as_str(),
                    "process",
                ));
            }
            sink.record(r);
        }
    }
    tally.finish()
}
