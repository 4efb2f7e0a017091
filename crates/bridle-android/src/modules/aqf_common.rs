//! Helpers shared by the AndroidQF modules.

use crate::files::Files;
use crate::json_stream::JsonStats;
use bridle_evidence::archive::Member;
use bridle_model::{EvidenceFile, ModuleError, ModuleOutcome, ProblemKind, Sink};
use std::sync::Arc;

/// "not found" for a missing AndroidQF file.
pub(crate) fn not_found(what: &str) -> ModuleOutcome {
    ModuleOutcome::NotFound(format!("no {what} in this AndroidQF acquisition"))
}

/// A module error naming a member.
pub(crate) fn unreadable(files: &Files, name: &str, reason: impl ToString) -> ModuleError {
    ModuleError::Unreadable {
        file: files.stored(name),
        reason: reason.to_string(),
    }
}

/// Cites a member (hashing it) or fails the module.
pub(crate) fn cite(files: &Files, name: &str) -> Result<Arc<EvidenceFile>, ModuleError> {
    files.register(name).map_err(|e| unreadable(files, name, e))
}

/// Opens a member for streaming or fails the module.
pub(crate) fn open_member(files: &Files, name: &str) -> Result<Member, ModuleError> {
    files
        .tree()
        .open_file(name)
        .map_err(|e| unreadable(files, name, e))
}

/// Reads a member whole (bounded) or fails the module.
pub(crate) fn read_member(
    files: &Files,
    name: &str,
    max: u64,
) -> Result<(Vec<u8>, Arc<EvidenceFile>), ModuleError> {
    files
        .read(name, max)
        .map_err(|e| unreadable(files, name, e))
}

/// Reports what a JSON stream could not read.
pub(crate) fn report_json(
    files: &Files,
    name: &str,
    stats: &JsonStats,
    not_objects: u64,
    sink: &mut dyn Sink,
) {
    for (line, err) in &stats.bad_lines {
        sink.problem(files.problem(
            ProblemKind::Partial,
            name,
            format!("line {line} is not valid JSON and was skipped: {err}"),
        ));
    }
    let unreported = stats.bad_count.saturating_sub(stats.bad_lines.len() as u64);
    if unreported > 0 {
        sink.problem(files.problem(
            ProblemKind::Partial,
            name,
            format!("{unreported} more invalid lines were skipped"),
        ));
    }
    if let Some(why) = &stats.stopped {
        sink.problem(files.problem(
            ProblemKind::Partial,
            name,
            format!("read {} entries, then stopped: {why}", stats.values),
        ));
    }
    if not_objects > 0 {
        sink.problem(files.problem(
            ProblemKind::Partial,
            name,
            format!("{not_objects} entries are not JSON objects and were skipped"),
        ));
    }
}

/// Most bytes of a small AndroidQF text file read into memory (getprop, ps, settings,
/// root_binaries, mounts).
pub(crate) const MAX_SMALL_FILE: u64 = 64 << 20;
