//! `dumpsys package`, Activity Resolver Table: which app handles which intent.

use super::{DumpsysOrigin, with_section};
use crate::parsers::dumpsys_misc::parse_activities;
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};
use serde_json::json;

dumpsys_module!(
    DumpsysActivities,
    "dumpsys_activities",
    "DumpsysActivities",
    "aqf_dumpsys_activities",
    "AQFDumpsysActivities",
    "Activities handling intents (dumpsys package, Activity Resolver Table)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "package", sink, |ds, lines, sink, _| {
        let mut i = 0usize;
        parse_activities(lines, |a| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys package", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                a.package_name.clone(),
                "package_name",
            ));
            r.set("intent", json!(a.intent));
            r.set("package_name", json!(a.package_name));
            r.set("activity", json!(a.activity));
            sink.record(r);
        });
    })
}
