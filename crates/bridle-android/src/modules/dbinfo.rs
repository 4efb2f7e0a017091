//! `dumpsys dbinfo`: recently executed SQL per app database.

use super::{DumpsysOrigin, with_section};
use crate::parsers::dumpsys_misc::parse_dbinfo;
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};

dumpsys_module!(
    DumpsysDbInfo,
    "dbinfo",
    "DumpsysDBInfo",
    "aqf_dbinfo",
    "AQFDumpsysDBInfo",
    "Recently executed database operations (dumpsys dbinfo)"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    with_section(origin, "dbinfo", sink, |ds, lines, sink, _| {
        let mut i = 0usize;
        parse_dbinfo(lines, |op| {
            let mut r = Record::new(Source::row(ds.file(), "dumpsys dbinfo", i));
            i += 1;
            // MVT checks every component of the database path as an app id.
            for part in op.path.split('/').filter(|p| !p.is_empty()) {
                r.observe(Observable::new(ObservableKind::AppId, part, "path"));
            }
            r.data = op.json();
            sink.record(r);
        });
    })
}
