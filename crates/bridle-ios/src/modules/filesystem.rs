//! Every file and folder of a filesystem dump, with its modification time.
//!
//! MVT's `Filesystem` lists the whole tree and checks each relative path (`private/var/...`,
//! no leading `/`) against file-path indicators with `startswith`, so an absolute indicator
//! such as `/private/var/tmp/takePhoto` never matches the very file it names. Here every
//! entry is offered as the absolute device path (`/private/var/...`), so path and file-name
//! indicators match the dump's own files, on component boundaries (`docs/matching.md`).
//!
//! MVT also (unless `--fast`) flags a path any of whose components equals a process
//! indicator. Every folder is itself an entry, so each component is some entry's own name:
//! the entry's name is offered as a process name, and a folder named like a spyware process
//! is flagged once, on the folder, rather than once per file below it.
//!
//! Links are listed, never followed (a link loop or a link out of the dump is one entry).
//! Times are the entry's own (`lstat`); MVT's `os.stat` follows links.

use super::entry_source;
use crate::{Ios, IosKind};
use bridle_model::{
    Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record,
    Sink, TimelineEvent, Timestamp,
};

ios_module!(
    Filesystem,
    "filesystem",
    "Filesystem",
    "Every file and folder of the dump with its modification time, checked against path, file and process indicators"
);

/// Modification time of an entry, to the microsecond.
fn mtime(meta: &std::fs::Metadata) -> Option<Timestamp> {
    let modified = meta.modified().ok()?;
    let micros = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).ok()?,
        Err(e) => i64::try_from(e.duration().as_micros())
            .ok()?
            .checked_neg()?,
    };
    Timestamp::from_unix_micros(micros)
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::FileSystem {
        return Ok(ModuleOutcome::NotFound(
            "not a filesystem dump: there is no device tree to list".into(),
        ));
    }
    let fast = ios.fast();
    let mut unstatable = 0u64;
    let report = ios
        .walk("", |e| {
            let modified = match e.metadata() {
                Ok(m) => mtime(&m),
                Err(_) => {
                    // MVT drops entries it cannot stat; keep them, without a date.
                    unstatable += 1;
                    None
                }
            };
            let modified_text = super::iso(modified);
            let mut r = Record::new(entry_source("filesystem", e.rel));
            r.set("path", e.rel).set("modified", modified_text);
            r.event(TimelineEvent::new(modified, "entry_modified", e.rel));
            r.observe(
                Observable::new(ObservableKind::FilePath, format!("/{}", e.rel), "path")
                    .with_level(Level::High),
            );
            if !fast {
                r.observe(
                    Observable::new(ObservableKind::Process, e.name, "path")
                        .with_level(Level::High),
                );
            }
            sink.record(r);
        })
        .map_err(|e| super::unreadable("/", &e))?;
    if let Some(p) = report.problem() {
        sink.problem(Problem {
            kind: ProblemKind::Partial,
            module: String::new(),
            file: Some("/".into()),
            message: p,
        });
    }
    if unstatable > 0 {
        sink.problem(Problem {
            kind: ProblemKind::Partial,
            module: String::new(),
            file: Some("/".into()),
            message: format!("{unstatable} entries have no readable modification time"),
        });
    }
    Ok(ModuleOutcome::Done)
}
