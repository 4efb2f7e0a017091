//! `dumpsys package`, Packages: every installed package with its installer, flags,
//! permissions and install times.

use super::aqf_packages::ROOT_PACKAGES;
use super::{DumpsysOrigin, tz_json, with_section};
use crate::parsers::packages::parse;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, ProblemKind, Record,
    Sink, Source, TimelineEvent,
};
use std::collections::BTreeSet;

dumpsys_module!(
    DumpsysPackages,
    "dumpsys_packages",
    "DumpsysPackages",
    "aqf_dumpsys_packages",
    "AQFDumpsysPackages",
    "Installed packages with installer, permissions and install times (dumpsys package)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "package", sink, |ds, lines, sink, problems| {
        let tz = ds.tz().clone();
        let mut alerted = BTreeSet::new();
        let mut i = 0usize;
        let dropped = parse(lines, |p| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys package", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                p.package_name.clone(),
                "package_name",
            ));
            r.observe(Observable::new(
                ObservableKind::AppId,
                p.installer.clone(),
                "installer",
            ));
            for (event, raw) in [
                ("package_install", &p.timestamp),
                ("package_first_install", &p.first_install_time),
                ("package_last_update", &p.last_update_time),
            ] {
                r.event(TimelineEvent::new(
                    tz.parse_wall(raw),
                    event,
                    format!("Install or update of package {}", p.package_name),
                ));
            }
            if ROOT_PACKAGES.contains(&p.package_name.as_str())
                && alerted.insert(p.package_name.clone())
            {
                r.alert(Heuristic::new(
                    Level::Medium,
                    format!(
                        "Found an installed package related to rooting/jailbreaking: \"{}\"",
                        p.package_name
                    ),
                ));
            }
            r.data = p.json();
            r.set("device_timezone", tz_json(&tz));
            sink.record(r);
        });
        if dropped > 0 {
            problems.push(ds.files().problem(
                ProblemKind::Partial,
                ds.member(),
                format!("{dropped} lines of oversized package blocks were dropped"),
            ));
        }
    })
}
