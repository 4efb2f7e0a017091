//! `dumpsys batterystats`, daily stats: package updates by day, with uninstalls and version
//! downgrades (a downgrade can reinstall an exploitable version).

use super::{DumpsysOrigin, tz_json, with_section};
use crate::parsers::battery::parse_daily;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, ProblemKind, Record,
    Sink, Source, TimelineEvent,
};

dumpsys_module!(
    DumpsysBatteryDaily,
    "dumpsys_battery_daily",
    "DumpsysBatteryDaily",
    "aqf_dumpsys_battery_daily",
    "AQFDumpsysBatteryDaily",
    "Daily package updates, uninstalls and downgrades (dumpsys batterystats)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "batterystats", sink, |ds, lines, sink, problems| {
        let tz = ds.tz().clone();
        let daily = parse_daily(lines);
        if daily.bad_lines > 0 {
            problems.push(ds.files().problem(
                ProblemKind::Partial,
                ds.member(),
                format!(
                    "{} daily-stats lines cannot be read and were skipped",
                    daily.bad_lines
                ),
            ));
        }
        if daily.dropped > 0 {
            problems.push(ds.files().problem(
                ProblemKind::Partial,
                ds.member(),
                format!("{} daily updates over the cap were dropped", daily.dropped),
            ));
        }
        for (i, u) in daily.records.iter().enumerate() {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys batterystats daily", i));
            let day = tz.parse_wall(&u.from);
            r.observe(Observable::new(
                ObservableKind::AppId,
                u.package_name.clone(),
                "package_name",
            ));
            r.event(TimelineEvent::new(day, "battery_daily", u.timeline_text()));
            for (_, message) in daily.alerts.iter().filter(|(j, _)| *j == i) {
                r.alert(Heuristic::new(Level::Medium, message.clone()).at(day));
            }
            r.data = u.json();
            r.set("device_timezone", tz_json(&tz));
            sink.record(r);
        }
    })
}
