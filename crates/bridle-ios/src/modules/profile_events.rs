//! MCProfileEvents.plist: which process installed or removed which configuration profile,
//! and when.
//!
//! Every event is worth a look (profiles are a classic way to take control of a phone), so
//! each raises a LOW alert, as MVT does. The process and the profile id are checked against
//! indicators.

use super::coredata::py_str;
use crate::{Ios, Locations};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    EvidenceFile, Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind,
    Problem, ProblemKind, Record, Sink, Source, TimelineEvent, Timestamp,
};
use plist::Value;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::sync::Arc;

ios_module!(
    ProfileEvents,
    "profile_events",
    "ProfileEvents",
    "Configuration profile installations and removals (MCProfileEvents.plist)"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &["Library/ConfigurationProfiles/MCProfileEvents.plist"],
    fs: &[
        "private/var/containers/Shared/SystemGroup/*/Library/ConfigurationProfiles/MCProfileEvents.plist",
    ],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let found = ios
        .locate(&LOCATIONS)
        .map_err(|e| super::unreadable("MCProfileEvents.plist", &e))?;
    if found.is_empty() {
        return Ok(ModuleOutcome::NotFound("no MCProfileEvents.plist".into()));
    }
    let mut first_error = None;
    let mut read_any = false;
    for located in &found {
        match ios.read_plist(located) {
            Ok((plist, file)) => {
                read_any = true;
                events(&plist, &file, sink);
            }
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                first_error.get_or_insert_with(|| super::unreadable(&located.logical, &e));
            }
        }
    }
    match first_error {
        Some(e) if !read_any => Err(e),
        _ => Ok(ModuleOutcome::Done),
    }
}

fn events(plist: &Value, file: &Arc<EvidenceFile>, sink: &mut dyn Sink) {
    let Some(list) = plist_json::get(plist, "ProfileEvents").and_then(Value::as_array) else {
        return;
    };
    let mut skipped = 0usize;
    for (index, event) in list.iter().enumerate() {
        // Each event is `{profile id: {timestamp, operation, process, ...}}`.
        let Some((profile_id, details)) = event.as_dictionary().and_then(|d| d.iter().next())
        else {
            skipped += 1;
            continue;
        };
        let mut data = Map::new();
        data.insert("profile_id".into(), Json::from(profile_id.as_str()));
        data.insert("timestamp".into(), Json::from(""));
        data.insert("operation".into(), Json::from(""));
        data.insert("process".into(), Json::from(""));
        let mut when = None;
        if let Some(d) = details.as_dictionary() {
            for (k, v) in d {
                let key = k.to_lowercase();
                if key == "timestamp" {
                    when = match v {
                        Value::Date(d) => plist_json::plist_date(*d),
                        Value::String(s) => Timestamp::parse(s),
                        _ => None,
                    };
                    // A time that is not a date is kept as written rather than lost.
                    let shown = match (when, v) {
                        (Some(t), _) => t.to_mvt(),
                        (None, Value::String(s)) => s.clone(),
                        (None, _) => String::new(),
                    };
                    data.insert(key, Json::String(shown));
                } else {
                    data.insert(key, plist_json::to_json(v, Bytes::Escaped));
                }
            }
        }
        let field = |k: &str| data.get(k).map(py_str).unwrap_or_default();
        let (process, operation, ts) = (field("process"), field("operation"), field("timestamp"));
        let mut r = Record::new(Source {
            table: Some(Cow::Borrowed("ProfileEvents")),
            row: Some(index.to_string()),
            ..Source::file(file)
        });
        r.event(TimelineEvent::new(
            when,
            "profile_operation",
            format!("Process {process} started operation {operation} of profile {profile_id}"),
        ));
        r.alert(
            Heuristic::new(
                Level::Low,
                format!(
                    "On {ts} process \"{process}\" started operation \"{operation}\" of profile \"{profile_id}\""
                ),
            )
            .at(when),
        );
        r.observe(Observable::new(ObservableKind::Process, process, "process"));
        r.observe(Observable::new(
            ObservableKind::ProfileId,
            profile_id.as_str(),
            "profile_id",
        ));
        r.data = data;
        sink.record(r);
    }
    if skipped > 0 {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            file.logical_path.clone(),
            format!("{skipped} profile events are not dictionaries with a profile id"),
        ));
    }
}
