//! ps.txt: the processes running at acquisition time.

use super::aqf_common::{MAX_SMALL_FILE, not_found, read_member};
use crate::androidqf::AndroidQf;
use crate::parsers::simple::ps_line;
use crate::text::lines;
use bridle_model::{
    EvidenceFile, ModuleError, ModuleOutcome, Observable, ObservableKind, ProblemKind, Record,
    Sink, Source,
};
use std::sync::Arc;

android_module!(
    AqfProcesses,
    Arc<AndroidQf>,
    "aqf_processes",
    "AQFProcesses",
    "Running processes (ps.txt)"
);

/// MVT never checks this process name (false positives with a common indicator).
const SKIPPED_PROCESS: &str = "gatekeeperd";

/// Streams the rows of a `ps` listing (after its header) as records.
pub(crate) fn ps_records(
    bytes: &[u8],
    file: &Arc<EvidenceFile>,
    stored: &str,
    sink: &mut dyn Sink,
) {
    let mut bad = 0u64;
    let mut first_bad = None;
    for line in lines(bytes).skip(1) {
        match ps_line(&line.text) {
            Ok(Some(p)) => {
                let mut r = Record::new(Source::row(file, "ps", line.number));
                if !p.name.is_empty() && p.name != SKIPPED_PROCESS {
                    r.observe(Observable::new(
                        ObservableKind::AppId,
                        p.name.clone(),
                        "proc_name",
                    ));
                    r.observe(Observable::new(
                        ObservableKind::Process,
                        p.name.clone(),
                        "proc_name",
                    ));
                }
                r.data = p.json;
                sink.record(r);
            }
            Ok(None) => {}
            Err(e) => {
                bad += 1;
                first_bad.get_or_insert((line.number, e));
            }
        }
    }
    if let Some((n, e)) = first_bad {
        sink.problem(bridle_model::Problem::file(
            ProblemKind::Partial,
            stored,
            format!("{bad} rows cannot be read and were skipped (first: line {n}: {e})"),
        ));
    }
}

fn run(aqf: &Arc<AndroidQf>, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = aqf.files();
    let Some(name) = files.find("ps.txt").map(|e| e.name.clone()) else {
        return Ok(not_found("ps.txt"));
    };
    let (bytes, file) = read_member(files, &name, MAX_SMALL_FILE)?;
    ps_records(&bytes, &file, &files.stored(&name), sink);
    Ok(ModuleOutcome::Done)
}
