//! `dumpsys platform_compat`: packages still named in compatibility overrides, which lists
//! apps that were installed and since removed.

use super::{DumpsysOrigin, with_section};
use crate::parsers::dumpsys_misc::parse_platform_compat;
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};
use serde_json::json;

dumpsys_module!(
    DumpsysPlatformCompat,
    "dumpsys_platform_compat",
    "DumpsysPlatformCompat",
    "aqf_dumpsys_platform_compat",
    "AQFDumpsysPlatformCompat",
    "Uninstalled apps still named by platform compatibility overrides (dumpsys platform_compat)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "platform_compat", sink, |ds, lines, sink, _| {
        let mut i = 0usize;
        parse_platform_compat(lines, |name| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys platform_compat", i));
            i += 1;
            r.observe(Observable::new(
                ObservableKind::AppId,
                name.clone(),
                "package_name",
            ));
            r.set("package_name", json!(name));
            sink.record(r);
        });
    })
}
