//! The check pipeline.
//!
//! ```text
//! modules (in parallel) --records--> ModuleSink --observables--> Matcher --> alerts
//!                                         |--> <module>.json (streamed)
//!                                         |--> observables.jsonl (streamed, for recheck)
//!                                         '--> timeline spool (sorted runs on disk)
//! ```
//!
//! [`run`] takes the modules an acquisition offers and an indicator [`Matcher`], runs every
//! module on a thread pool, and writes MVT's output layout plus bridle's own files. Memory
//! does not grow with the size of the evidence: records are written as they arrive, the
//! timeline is sorted in bounded runs and merged from disk, and only alerts (few) and
//! counters are kept.
//!
//! The engine knows nothing about iOS or Android, STIX or the command line.

#![deny(missing_docs)]

pub mod alerts;
pub mod manifest;
mod output;
pub mod recheck;
pub mod results;
mod sink;
mod timeline;
pub mod written;

pub use output::{OUTPUT_FILES, csv_safe, is_safe_slug};
pub use sink::ModuleReport;
pub use timeline::TimelineRow;

use bridle_model::{Alert, EvidenceFile, IndicatorRef, Level, Module, Observable, Problem};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Output buffers: large outputs (hundreds of megabytes of records and timeline) are written
/// in big blocks, one system call per block.
pub(crate) const WRITE_BUFFER: usize = 256 << 10;

/// The indicator matcher as the engine sees it: given every observable of one record, the
/// matches, each as (index of the observable, the indicator behind it).
///
/// A trait so that the engine does not depend on how indicators are loaded, and so that a
/// run with no indicators is just [`NoIndicators`].
pub trait Matcher: Sync {
    /// Matches one record's observables.
    fn match_record(&self, observables: &[Observable]) -> Vec<(usize, IndicatorRef)>;
}

/// A matcher with no indicators.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoIndicators;

impl Matcher for NoIndicators {
    fn match_record(&self, _: &[Observable]) -> Vec<(usize, IndicatorRef)> {
        Vec::new()
    }
}

/// Progress notifications, for a progress bar.
pub trait Progress: Sync {
    /// A module started.
    fn module_started(&self, _slug: &str) {}
    /// A module finished.
    fn module_finished(&self, _report: &ModuleReport) {}
}

/// No progress display.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;
impl Progress for NoProgress {}

/// How to run.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to write results; `None` writes nothing (the summary is still returned).
    pub output: Option<PathBuf>,
    /// Worker threads (at least 1).
    pub jobs: usize,
    /// Timeline events held in memory per module before a sorted run is spilled to disk.
    pub timeline_run_len: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            output: None,
            jobs: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            timeline_run_len: 32_768,
        }
    }
}

/// Facts about the run that go into `info.json`, provided by the caller.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunInfo {
    /// bridle's version.
    pub bridle_version: String,
    /// The command line, with secrets removed.
    pub command_line: Vec<String>,
    /// Acquisition kind (`ios_backup`...).
    pub acquisition_kind: String,
    /// Acquisition path as given.
    pub acquisition_path: String,
    /// Indicator files loaded.
    pub indicator_files: Vec<IndicatorFileInfo>,
    /// Problems found while loading indicators (unusable patterns...).
    pub indicator_problems: Vec<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
}

/// An indicator file, as `info.json` lists it.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IndicatorFileInfo {
    /// Path as loaded.
    pub path: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Indicators used from it.
    pub indicators: usize,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// One report per module, in module order.
    pub modules: Vec<ModuleReport>,
    /// Every alert, sorted.
    pub alerts: Vec<Alert>,
    /// Everything that could not be checked.
    pub problems: Vec<Problem>,
    /// Evidence files read.
    pub evidence: Vec<Arc<EvidenceFile>>,
    /// Timeline rows written.
    pub timeline_rows: u64,
}

impl Summary {
    /// Whether any alert is a finding (an indicator match, or HIGH/CRITICAL).
    pub fn has_findings(&self) -> bool {
        self.alerts.iter().any(Alert::is_finding)
    }

    /// Drops each alert's record, once the alerts are written: the summary printed at the end
    /// needs only levels, modules and messages, and a run with tens of thousands of alerts
    /// would otherwise hold all their records while the report is rendered.
    pub fn release_records(&mut self) {
        for a in &mut self.alerts {
            a.event = bridle_model::AlertRecord::default();
        }
        self.evidence = Vec::new();
    }

    /// Whether part of the acquisition could not be checked.
    pub fn is_incomplete(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Alerts per level, lowest first.
    pub fn alerts_by_level(&self) -> Vec<(Level, usize)> {
        Level::ALL
            .iter()
            .map(|l| (*l, self.alerts.iter().filter(|a| a.level == *l).count()))
            .collect()
    }
}

/// Why a run could not complete (output could not be written).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Writing an output file failed.
    #[error("{path}: {source}")]
    Output {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    pub(crate) fn output(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        EngineError::Output {
            path: path.as_ref().to_path_buf(),
            source,
        }
    }
}

/// Runs modules and writes outputs.
///
/// `evidence` is called at the end to list the evidence files read (the acquisition's
/// evidence log) and the problems noted while opening them.
pub fn run(
    modules: Vec<Box<dyn Module>>,
    matcher: &dyn Matcher,
    config: &Config,
    info: &RunInfo,
    evidence: &dyn Fn() -> (Vec<Arc<EvidenceFile>>, Vec<Problem>),
    progress: &dyn Progress,
) -> Result<Summary, EngineError> {
    let out = config.output.as_deref();
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).map_err(|e| EngineError::output(dir, e))?;
    }
    let spool_dir = tempfile::Builder::new()
        .prefix("bridle-timeline-")
        .tempdir()
        .map_err(|e| EngineError::output(std::env::temp_dir(), e))?;

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.jobs.max(1))
        .build();
    let run_one = |(i, m): (usize, &dyn Module)| {
        sink::run_module(i, m, matcher, out, spool_dir.path(), config, progress)
    };
    let results: Vec<Result<sink::Finished, EngineError>> = match pool {
        Ok(pool) => pool.install(|| {
            use rayon::prelude::*;
            modules
                .par_iter()
                .enumerate()
                .map(|(i, m)| run_one((i, m.as_ref())))
                .collect()
        }),
        // No threads to be had: run in this one, in order.
        Err(_) => modules
            .iter()
            .enumerate()
            .map(|(i, m)| run_one((i, m.as_ref())))
            .collect(),
    };
    let mut finished = Vec::with_capacity(results.len());
    for r in results {
        finished.push(r?);
    }
    output::finish(finished, out, info, evidence(), spool_dir.path())
}
