//! `dumpsys batterystats`, battery history: jobs, alarms and foreground apps by package.

use super::{DumpsysOrigin, with_section};
use crate::parsers::battery::parse_history;
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};

dumpsys_module!(
    DumpsysBatteryHistory,
    "dumpsys_battery_history",
    "DumpsysBatteryHistory",
    "aqf_dumpsys_battery_history",
    "AQFDumpsysBatteryHistory",
    "Battery history events naming packages (dumpsys batterystats)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "batterystats", sink, |ds, lines, sink, _| {
        let mut i = 0usize;
        parse_history(lines, |e| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys batterystats history", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                e.package_name.clone(),
                "package_name",
            ));
            r.data = e.json();
            sink.record(r);
        });
    })
}
