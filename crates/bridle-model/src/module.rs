use crate::{Heuristic, Record};
use serde::{Deserialize, Serialize};

/// How a module's records are written to `<slug>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputShape {
    /// A JSON array of records (most modules).
    List,
    /// A single JSON object: the module yields one record (backup_info).
    Object,
}

/// What a module is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleInfo {
    /// MVT's slug: names the output files (`sms.json`) and `--module`.
    pub slug: &'static str,
    /// MVT's class name, used as the timeline's "Plugin" column (`SMS`, `Manifest`).
    pub name: &'static str,
    /// One line for `--list-modules`.
    pub description: &'static str,
    /// How its records are written.
    pub shape: OutputShape,
}

/// How a module run ended when it did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleOutcome {
    /// The artifact was found and read (possibly with problems reported to the sink).
    Done,
    /// The artifact is not in this acquisition: nothing to check, not an error.
    NotFound(String),
}

/// Why a module could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModuleError {
    /// A file the module needs exists but cannot be read or parsed.
    #[error("{file}: {reason}")]
    Unreadable {
        /// The evidence file (logical path).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The data is encrypted and no key was given.
    #[error("{file}: encrypted, a password is needed")]
    Encrypted {
        /// The evidence file.
        file: String,
    },
    /// Anything else.
    #[error("{0}")]
    Other(String),
}

/// What kind of thing could not be checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A module failed as a whole.
    ModuleFailed,
    /// A file could be read only in part (rows lost to corruption, a truncated plist).
    Partial,
    /// A file could not be read at all.
    Unreadable,
    /// A file or value was skipped on purpose (over a size cap, unsafe name).
    Skipped,
}

/// Something that could not be checked, reported without stopping the run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Problem {
    /// What kind.
    pub kind: ProblemKind,
    /// Module slug (filled by the engine when the module leaves it empty).
    pub module: String,
    /// Evidence file (logical path), when one is concerned.
    pub file: Option<String>,
    /// What went wrong, for a person.
    pub message: String,
}

impl Problem {
    /// A problem with a file.
    pub fn file(kind: ProblemKind, file: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            kind,
            module: String::new(),
            file: Some(file.into()),
            message: message.into(),
        }
    }
}

/// Where a module sends what it finds. The engine's sink matches observables, writes records
/// to disk and keeps only what it must (alerts, counters), so a module can stream millions of
/// rows in constant memory.
pub trait Sink {
    /// One record, in output order.
    fn record(&mut self, record: Record);
    /// A module-level heuristic alert, not about one record (for example "device shows signs
    /// of rooting with 4 root binaries").
    fn alert(&mut self, heuristic: Heuristic);
    /// Something that could not be checked; the run goes on.
    fn problem(&mut self, problem: Problem);
}

/// An artifact module: knows where an artifact is in an acquisition and how to read it.
///
/// A module holds a handle to its acquisition; `run` reads, builds records and streams them.
/// It never matches indicators (the engine does) and never writes to the evidence.
pub trait Module: Send + Sync {
    /// Name and output shape.
    fn info(&self) -> ModuleInfo;
    /// Reads the artifact and streams its records.
    fn run(&self, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError>;
}

/// A sink that keeps everything in memory: for tests and small tools.
#[derive(Debug, Default)]
pub struct VecSink {
    /// Records received.
    pub records: Vec<Record>,
    /// Module-level alerts received.
    pub alerts: Vec<Heuristic>,
    /// Problems received.
    pub problems: Vec<Problem>,
}

impl Sink for VecSink {
    /// Keeps the record with its data as a map (a record given as raw JSON is parsed), so
    /// tests can look at fields whichever way the module built it.
    fn record(&mut self, mut record: Record) {
        if record.raw.is_some() {
            record.data = record.data_map();
            record.raw = None;
        }
        self.records.push(record);
    }
    fn alert(&mut self, heuristic: Heuristic) {
        self.alerts.push(heuristic);
    }
    fn problem(&mut self, problem: Problem) {
        self.problems.push(problem);
    }
}

impl VecSink {
    /// Every timeline event of every record.
    pub fn timeline(&self) -> impl Iterator<Item = &crate::TimelineEvent> {
        self.records.iter().flat_map(|r| r.timeline.iter())
    }

    /// Every heuristic alert, record-level and module-level.
    pub fn heuristics(&self) -> impl Iterator<Item = &Heuristic> {
        self.records
            .iter()
            .flat_map(|r| r.heuristics.iter())
            .chain(self.alerts.iter())
    }
}
