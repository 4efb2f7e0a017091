//! The modification times of the device files copied into a bugreport's `FS/`.

use super::DumpsysOrigin;
use super::aqf_log_timestamps::timestamp_record;
use bridle_model::{ModuleError, ModuleOutcome, Sink};

android_module!(
    BugreportTimestamps,
    DumpsysOrigin,
    "bugreport_timestamps",
    "BugReportTimestamps",
    "Modification times of the files under FS/ in a bugreport"
);

fn run(origin: &DumpsysOrigin, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(b) = origin.bugreport()? else {
        return Ok(origin.missing());
    };
    let tz = b.tz();
    let files = b.files();
    let members: Vec<_> = files
        .tree()
        .glob("FS/*")
        .into_iter()
        .filter(|e| e.is_file())
        .collect();
    if members.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no FS/ folder in this bugreport".into(),
        ));
    }
    for e in members {
        sink.record(timestamp_record(files, e, &tz));
    }
    Ok(ModuleOutcome::Done)
}
