//! The dumpstate's `SYSTEM PROPERTIES` block (getprop inside a bugreport).

use super::DumpsysOrigin;
use super::aqf_get_prop::{prop_record, reference_time};
use crate::parsers::simple::getprop_line;
use bridle_model::{ModuleError, ModuleOutcome, Sink, Source};

dumpsys_module!(
    DumpsysGetProp,
    "dumpsys_get_prop",
    "DumpsysGetProp",
    "aqf_dumpsys_get_prop",
    "AQFDumpsysGetProp",
    "Android system properties in the dumpstate and the security patch level"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(ds) = origin.dumpstate()? else {
        return Ok(origin.missing());
    };
    let mut problems = Vec::new();
    let section = ds
        .system_properties(&mut problems)
        .map_err(|e| ModuleError::Unreadable {
            file: ds.files().stored(ds.member()),
            reason: e.to_string(),
        })?;
    let Some(mut lines) = section else {
        for p in problems {
            sink.problem(p);
        }
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `------ SYSTEM PROPERTIES` block",
            ds.files().stored(ds.member())
        )));
    };
    let reference = reference_time(origin.context().and_then(|c| c.started_at()));
    let mut i = 0usize;
    for line in lines.by_ref() {
        if let Some(p) = getprop_line(&line) {
            sink.record(prop_record(
                p,
                Source::row(ds.file(), "system properties", i),
                reference,
            ));
            i += 1;
        }
    }
    lines.finish(ds.files(), ds.member(), &mut problems);
    for p in problems {
        sink.problem(p);
    }
    Ok(ModuleOutcome::Done)
}
