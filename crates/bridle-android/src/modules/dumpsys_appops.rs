//! `dumpsys appops`: which app used which operation when, with MVT's checks for apps allowed
//! to install packages and for the adb shell.

use super::{DumpsysOrigin, tz_json, with_section};
use crate::parsers::appops::{Package, parse};
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, ProblemKind, Record,
    Sink, Source, TimelineEvent, Timestamp,
};

dumpsys_module!(
    DumpsysAppops,
    "dumpsys_appops",
    "DumpsysAppops",
    "aqf_dumpsys_appops",
    "AQFDumpsysAppops",
    "App operations by package (dumpsys appops): REQUEST_INSTALL_PACKAGES, adb shell"
);

const RISKY_PERMISSIONS: [&str; 1] = ["REQUEST_INSTALL_PACKAGES"];
const RISKY_PACKAGES: [&str; 1] = ["com.android.shell"];

/// MVT's heuristics on a package, one MEDIUM per entry (or per risky operation without
/// entries), sorted by time.
pub fn appops_heuristics(p: &Package) -> Vec<Heuristic> {
    let mut out = Vec::new();
    for perm in &p.permissions {
        let risky_perm = RISKY_PERMISSIONS.contains(&perm.name.as_str());
        if !risky_perm && !RISKY_PACKAGES.contains(&p.package_name.as_str()) {
            continue;
        }
        let mut entries: Vec<(String, Option<Timestamp>, &str)> = perm
            .entries
            .iter()
            .map(|e| {
                (
                    e.time.map(Timestamp::to_mvt).unwrap_or_default(),
                    e.time,
                    e.access.as_str(),
                )
            })
            .collect();
        if entries.is_empty() {
            entries.push((String::new(), None, "Unknown"));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (shown, time, access) in entries {
            let message = if risky_perm {
                format!(
                    "Package '{}' had risky permission '{}' set to '{access}' at {shown}",
                    p.package_name, perm.name
                )
            } else {
                format!(
                    "Risky package '{}' had '{}' permission set to '{access}' at {shown}",
                    p.package_name, perm.name
                )
            };
            out.push(Heuristic::new(Level::Medium, message).at(time));
        }
    }
    out
}

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "appops", sink, |ds, lines, sink, problems| {
        let tz = ds.tz().clone();
        let mut i = 0usize;
        let dropped = parse(lines, &tz, |p| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys appops", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                p.package_name.clone(),
                "package_name",
            ));
            for perm in &p.permissions {
                for e in &perm.entries {
                    if let Some(t) = e.time {
                        r.event(TimelineEvent::new(
                            Some(t),
                            e.access.clone(),
                            format!("{} access to {}: {}", p.package_name, perm.name, e.access),
                        ));
                    }
                }
            }
            for h in appops_heuristics(&p) {
                r.alert(h);
            }
            r.data = p.json();
            r.set("device_timezone", tz_json(&tz));
            sink.record(r);
        });
        if dropped > 0 {
            problems.push(ds.files().problem(
                ProblemKind::Partial,
                ds.member(),
                format!("{dropped} app-op entries over the per-package caps were dropped"),
            ));
        }
    })
}
