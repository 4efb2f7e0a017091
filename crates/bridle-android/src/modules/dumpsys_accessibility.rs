//! `dumpsys accessibility`: installed and enabled accessibility services (a favourite of
//! stalkerware and banking trojans).

use super::{DumpsysOrigin, with_section};
use crate::parsers::dumpsys_misc::parse_accessibility;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
};
use serde_json::json;

dumpsys_module!(
    DumpsysAccessibility,
    "dumpsys_accessibility",
    "DumpsysAccessibility",
    "aqf_dumpsys_accessibility",
    "AQFDumpsysAccessibility",
    "Accessibility services (dumpsys accessibility)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "accessibility", sink, |ds, lines, sink, _| {
        let mut i = 0usize;
        parse_accessibility(lines, |s| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys accessibility", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                s.package_name.clone(),
                "package_name",
            ));
            r.alert(Heuristic::new(
                Level::Medium,
                format!("Found accessibility service: \"{}\"", s.service),
            ));
            r.set("package_name", json!(s.package_name));
            r.set("service", json!(s.service));
            sink.record(r);
        });
    })
}
