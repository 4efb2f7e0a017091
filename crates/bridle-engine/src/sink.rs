use crate::alerts::{self, RecordRef};
use crate::timeline::{Spool, TimelineRow};
use crate::{Config, EngineError, Matcher, Progress};
use bridle_model::{
    Alert, Heuristic, Map, Module, ModuleOutcome, OutputShape, Problem, ProblemKind, Record, Sink,
    Source, Timestamp,
};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// How one module's run went.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleReport {
    /// Slug.
    pub module: String,
    /// `done`, `not_found` or `failed`.
    pub status: &'static str,
    /// Why it was not found or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Records produced.
    pub records: u64,
    /// Alerts raised (indicator and heuristic).
    pub alerts: u64,
    /// Timeline events produced (before de-duplication).
    pub timeline_events: u64,
    /// Problems reported.
    pub problems: u64,
    /// How long the module ran, in milliseconds (run metadata, varies between runs).
    pub elapsed_ms: u64,
}

/// A module's results once it has run.
pub(crate) struct Finished {
    pub(crate) index: usize,
    pub(crate) report: ModuleReport,
    pub(crate) alerts: Vec<Alert>,
    pub(crate) problems: Vec<Problem>,
    pub(crate) spool: Spool,
    /// This module's lines of observables.jsonl, in a temporary file.
    pub(crate) observables: Option<PathBuf>,
    /// The same lines' probe keys ([`crate::results::KEYS_FILE`]), in a temporary file.
    pub(crate) keys: Option<PathBuf>,
    /// Whether `<slug>.json` was written.
    pub(crate) wrote_json: bool,
    pub(crate) name: &'static str,
}

/// The sink the engine gives a module.
struct ModuleSink<'a> {
    slug: &'static str,
    name: &'static str,
    shape: OutputShape,
    matcher: &'a dyn Matcher,
    out: Option<&'a Path>,
    records: u64,
    timeline_events: u64,
    alerts: Vec<Alert>,
    problems: Vec<Problem>,
    spool: Spool,
    json: Option<BufWriter<crate::written::DigestingFile>>,
    observables: Option<BufWriter<File>>,
    observables_path: Option<PathBuf>,
    keys: Option<BufWriter<File>>,
    keys_path: Option<PathBuf>,
    spool_dir: &'a Path,
    /// The first write error; once set, the sink stops writing and the run reports it.
    error: Option<EngineError>,
}

/// One line of `observables.jsonl` as written; `crate::results::ObservableLine` reads it
/// back. `time` is the record's time ([`alerts::record_time`]), so that a re-check cites the
/// record exactly as the check did.
#[derive(Serialize)]
///
/// `source` is written last on purpose: a re-check parses only what comes before it for
/// every line (the source is most of a line's bytes), and the whole line only for the few
/// that match (`crate::results::parse_light`).
struct ObservableLine<'a> {
    module: &'a str,
    record: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    time: Option<String>,
    observables: &'a [bridle_model::Observable],
    source: &'a Source,
}

impl ModuleSink<'_> {
    fn write_json(&mut self, data: &Map, raw: Option<&str>) {
        let Some(dir) = self.out else { return };
        if self.error.is_some() {
            return;
        }
        let path = dir.join(format!("{}.json", self.slug));
        let result = (|| -> std::io::Result<()> {
            let first = self.json.is_none();
            if first {
                self.json = Some(BufWriter::with_capacity(
                    crate::WRITE_BUFFER,
                    crate::written::DigestingFile::create(&path)?,
                ));
            }
            let Some(w) = self.json.as_mut() else {
                return Ok(());
            };
            match (self.shape, raw) {
                (OutputShape::Object, raw) => {
                    if first {
                        match raw {
                            Some(r) => w.write_all(r.as_bytes())?,
                            None => serde_json::to_writer_pretty(&mut *w, data)?,
                        }
                    }
                }
                (OutputShape::List, raw) => {
                    w.write_all(if first { b"[\n" } else { b",\n" })?;
                    match raw {
                        Some(r) => w.write_all(r.as_bytes())?,
                        None => serde_json::to_writer(&mut *w, data)?,
                    }
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            self.error = Some(EngineError::output(path, e));
        }
    }

    fn write_observables(&mut self, record: &Record, index: u64) {
        if record.observables.is_empty() || self.error.is_some() {
            return;
        }
        let path = self.spool_dir.join(format!("{}.observables", self.slug));
        let result = (|| -> std::io::Result<()> {
            if self.observables.is_none() {
                self.observables = Some(BufWriter::with_capacity(
                    crate::WRITE_BUFFER,
                    File::create(&path)?,
                ));
                self.observables_path = Some(path.clone());
            }
            let Some(w) = self.observables.as_mut() else {
                return Ok(());
            };
            serde_json::to_writer(
                &mut *w,
                &ObservableLine {
                    module: self.slug,
                    record: index,
                    source: &record.source,
                    time: alerts::record_time(&record.timeline).map(Timestamp::to_mvt),
                    observables: &record.observables,
                },
            )?;
            w.write_all(b"\n")
        })();
        if let Err(e) = result {
            self.error = Some(EngineError::output(path, e));
            return;
        }
        let result = (|| -> std::io::Result<()> {
            if self.keys.is_none() {
                let keys_path = self.spool_dir.join(format!("{}.keys", self.slug));
                self.keys = Some(BufWriter::with_capacity(
                    crate::WRITE_BUFFER,
                    File::create(&keys_path)?,
                ));
                self.keys_path = Some(keys_path);
            }
            match self.keys.as_mut() {
                Some(k) => crate::results::write_keys_line(&record.observables, k),
                None => Ok(()),
            }
        })();
        if let Err(e) = result {
            let keys_path = self
                .keys_path
                .clone()
                .unwrap_or_else(|| self.spool_dir.join(format!("{}.keys", self.slug)));
            self.error = Some(EngineError::output(keys_path, e));
        }
    }
}

impl Sink for ModuleSink<'_> {
    fn record(&mut self, record: Record) {
        let index = self.records;
        self.records += 1;
        let time = alerts::record_time(&record.timeline);
        let hits = self.matcher.match_record(&record.observables);
        if !hits.is_empty() || !record.heuristics.is_empty() {
            // A record given as raw JSON is parsed only when an alert needs its data.
            let parsed;
            let data: &Map = match &record.raw {
                Some(_) => {
                    parsed = record.data_map();
                    &parsed
                }
                None => &record.data,
            };
            let at = RecordRef {
                module: self.slug,
                index,
                source: &record.source,
                time,
                data,
            };
            if !hits.is_empty() {
                let found = alerts::indicator_alerts(&at, &record.observables, hits);
                self.alerts.extend(found);
            }
            for h in &record.heuristics {
                self.alerts
                    .push(alerts::heuristic_alert(self.slug, h.clone(), Some(&at)));
            }
        }
        for e in &record.timeline {
            self.timeline_events += 1;
            let row = TimelineRow {
                timestamp: e.timestamp,
                module: std::borrow::Cow::Borrowed(self.name),
                event: e.event.clone(),
                data: e.data.clone(),
            };
            if let Err(err) = self.spool.push(row, self.spool_dir)
                && self.error.is_none()
            {
                self.error = Some(err);
            }
        }
        self.write_observables(&record, index);
        self.write_json(&record.data, record.raw.as_deref());
    }

    fn alert(&mut self, heuristic: Heuristic) {
        self.alerts
            .push(alerts::heuristic_alert(self.slug, heuristic, None));
    }

    fn problem(&mut self, mut problem: Problem) {
        if problem.module.is_empty() {
            problem.module = self.slug.to_owned();
        }
        self.problems.push(problem);
    }
}

pub(crate) fn run_module(
    index: usize,
    module: &dyn Module,
    matcher: &dyn Matcher,
    out: Option<&Path>,
    spool_dir: &Path,
    config: &Config,
    progress: &dyn Progress,
) -> Result<Finished, EngineError> {
    let info = module.info();
    let started = std::time::Instant::now();
    progress.module_started(info.slug);
    let mut sink = ModuleSink {
        slug: info.slug,
        name: info.name,
        shape: info.shape,
        matcher,
        out,
        records: 0,
        timeline_events: 0,
        alerts: Vec::new(),
        problems: Vec::new(),
        spool: Spool::new(info.slug, config.timeline_run_len),
        json: None,
        observables: None,
        observables_path: None,
        keys: None,
        keys_path: None,
        spool_dir,
        error: None,
    };
    // A module that panics is a bug, but one module's bug must not cost the rest of the
    // check: catch it, report the module as failed, go on.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| module.run(&mut sink)));
    let (status, detail) = match outcome {
        Ok(Ok(ModuleOutcome::Done)) => ("done", None),
        Ok(Ok(ModuleOutcome::NotFound(why))) => ("not_found", Some(why)),
        Ok(Err(e)) => {
            let message = e.to_string();
            sink.problems.push(Problem {
                kind: ProblemKind::ModuleFailed,
                module: info.slug.to_owned(),
                file: None,
                message: message.clone(),
            });
            ("failed", Some(message))
        }
        Err(_) => {
            let message = "the module stopped on an internal error (a bug: please report it)";
            sink.problems.push(Problem {
                kind: ProblemKind::ModuleFailed,
                module: info.slug.to_owned(),
                file: None,
                message: message.into(),
            });
            ("failed", Some(message.to_owned()))
        }
    };
    if let Some(e) = sink.error.take() {
        return Err(e);
    }
    let wrote_json = sink.json.is_some();
    if let Some(mut w) = sink.json.take() {
        let path = out
            .map(|d| d.join(format!("{}.json", info.slug)))
            .unwrap_or_default();
        let tail: &[u8] = match info.shape {
            OutputShape::List => b"\n]\n",
            OutputShape::Object => b"\n",
        };
        w.write_all(tail)
            .and_then(|()| crate::written::finish(w))
            .map_err(|e| EngineError::output(&path, e))?;
    }
    if let Some(mut w) = sink.observables.take() {
        w.flush().map_err(|e| {
            EngineError::output(sink.observables_path.clone().unwrap_or_default(), e)
        })?;
    }
    if let Some(mut w) = sink.keys.take() {
        w.flush()
            .map_err(|e| EngineError::output(sink.keys_path.clone().unwrap_or_default(), e))?;
    }
    sink.spool.finish(spool_dir)?;
    let report = ModuleReport {
        module: info.slug.to_owned(),
        status,
        detail,
        records: sink.records,
        alerts: sink.alerts.len() as u64,
        timeline_events: sink.timeline_events,
        problems: sink.problems.len() as u64,
        elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    };
    progress.module_finished(&report);
    Ok(Finished {
        index,
        report,
        alerts: sink.alerts,
        problems: sink.problems,
        spool: sink.spool,
        observables: sink.observables_path,
        keys: sink.keys_path,
        wrote_json,
        name: info.name,
    })
}
