//! The files a check writes, once every module has finished.

use crate::WRITE_BUFFER;
use crate::sink::Finished;
use crate::timeline::{self, TimelineRow};
use crate::written::DigestingFile;
use crate::{EngineError, RunInfo, Summary};
use bridle_model::{Alert, EvidenceFile, Timestamp};
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

/// The files every check writes to its output folder (besides one `<module>.json` and
/// `<module>_detected.json` per module).
pub const OUTPUT_FILES: [&str; 7] = [
    "alerts.json",
    "alerts_timeline.csv",
    "timeline.csv",
    "timeline.jsonl",
    "observables.jsonl",
    crate::results::KEYS_FILE,
    "info.json",
];

/// Protects a spreadsheet cell against formula injection: device text that starts with `=`,
/// `+`, `-`, `@`, tab or carriage return is prefixed with `'`, which spreadsheets show as
/// text. Only free text columns get this; JSON outputs keep the exact value.
pub fn csv_safe(s: &str) -> std::borrow::Cow<'_, str> {
    match s.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}

/// Creates an output file, hashed as it is written (see [`crate::written`]).
pub(crate) fn create(path: &Path) -> Result<BufWriter<DigestingFile>, EngineError> {
    DigestingFile::create(path)
        .map(|f| BufWriter::with_capacity(WRITE_BUFFER, f))
        .map_err(|e| EngineError::output(path, e))
}

/// Flushes an output file made by [`create`] and keeps its digest for the manifest.
pub(crate) fn close(w: BufWriter<DigestingFile>, path: &Path) -> Result<(), EngineError> {
    crate::written::finish(w).map_err(|e| EngineError::output(path, e))
}

/// Flushes the CSV writer of an output file made by [`create`] and keeps its digest.
fn close_csv(csv: csv::Writer<BufWriter<DigestingFile>>, path: &Path) -> Result<(), EngineError> {
    let w = csv
        .into_inner()
        .map_err(|e| EngineError::output(path, e.into_error()))?;
    close(w, path)
}

pub(crate) fn write_json<T: Serialize + ?Sized>(path: &Path, value: &T) -> Result<(), EngineError> {
    let mut w = create(path)?;
    serde_json::to_writer_pretty(&mut w, value)
        .map_err(|e| EngineError::output(path, std::io::Error::other(e)))?;
    w.write_all(b"\n")
        .map_err(|e| EngineError::output(path, e))?;
    close(w, path)
}

#[derive(Serialize)]
struct TimesketchRow<'a> {
    message: &'a str,
    datetime: String,
    timestamp: i64,
    timestamp_desc: &'a str,
    module: &'a str,
    data_type: String,
}

#[derive(Serialize)]
struct Info<'a> {
    #[serde(flatten)]
    run: &'a RunInfo,
    finished_at: String,
    modules: &'a [crate::ModuleReport],
    alerts: usize,
    timeline_rows: u64,
    problems: &'a [bridle_model::Problem],
    evidence_files: &'a [Arc<EvidenceFile>],
}

pub(crate) fn finish(
    mut finished: Vec<Finished>,
    out: Option<&Path>,
    info: &RunInfo,
    evidence: (Vec<Arc<EvidenceFile>>, Vec<bridle_model::Problem>),
    spool_dir: &Path,
) -> Result<Summary, EngineError> {
    let (evidence, evidence_problems) = evidence;
    finished.sort_by_key(|f| f.index);
    let mut alerts: Vec<Alert> = Vec::new();
    let mut problems = Vec::new();
    let mut reports = Vec::new();
    let mut spools = Vec::new();
    let mut observable_parts = Vec::new();
    let mut key_parts = Vec::new();
    for f in finished {
        let _ = (f.wrote_json, f.name);
        alerts.extend(f.alerts);
        problems.extend(f.problems);
        reports.push(f.report);
        spools.push(f.spool);
        if let Some(p) = f.observables {
            observable_parts.push(p);
        }
        if let Some(p) = f.keys {
            key_parts.push(p);
        }
    }
    alerts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    for mut p in evidence_problems {
        if p.module.is_empty() {
            "evidence".clone_into(&mut p.module);
        }
        problems.push(p);
    }
    problems.sort();
    problems.dedup();

    // The timeline (merge and two files) and the other outputs are independent: written
    // side by side, they overlap instead of adding up.
    let (timeline_rows, others) = std::thread::scope(|scope| {
        let others = out.map(|dir| {
            let alerts = &alerts;
            let observable_parts = &observable_parts;
            let key_parts = &key_parts;
            scope.spawn(move || -> Result<(), EngineError> {
                write_alert_files(dir, alerts, None)?;
                concatenate(&dir.join("observables.jsonl"), observable_parts)?;
                concatenate(&dir.join(crate::results::KEYS_FILE), key_parts)
            })
        });
        let rows = match out {
            Some(dir) => write_timelines(dir, spools),
            None => timeline::merge(spools, |_| Ok(())),
        };
        let others = others.map(|h| {
            h.join().unwrap_or_else(|_| {
                Err(EngineError::output(
                    spool_dir,
                    std::io::Error::other("an output writer panicked"),
                ))
            })
        });
        (rows, others)
    });
    let timeline_rows = timeline_rows?;
    if let Some(r) = others {
        r?;
    }

    if let Some(dir) = out {
        write_json(
            &dir.join("info.json"),
            &Info {
                run: info,
                finished_at: now_rfc3339(),
                modules: &reports,
                alerts: alerts.len(),
                timeline_rows,
                problems: &problems,
                evidence_files: &evidence,
            },
        )?;
    }
    let _ = spool_dir;
    Ok(Summary {
        modules: reports,
        alerts,
        problems,
        evidence,
        timeline_rows,
    })
}

/// Writes `parts` one after the other into `path`.
fn concatenate(path: &Path, parts: &[std::path::PathBuf]) -> Result<(), EngineError> {
    let mut w = create(path)?;
    for part in parts {
        let mut r = File::open(part).map_err(|e| EngineError::output(part, e))?;
        std::io::copy(&mut r, &mut w).map_err(|e| EngineError::output(path, e))?;
    }
    close(w, path)
}

/// The current time, for run metadata only.
pub(crate) fn now_rfc3339() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())
        .and_then(Timestamp::from_unix_micros);
    now.map(Timestamp::to_rfc3339).unwrap_or_default()
}

fn csv_writer(path: &Path) -> Result<csv::Writer<BufWriter<DigestingFile>>, EngineError> {
    Ok(csv::WriterBuilder::new()
        .quote_style(csv::QuoteStyle::Always)
        .from_writer(create(path)?))
}

fn csv_err(path: &Path, e: csv::Error) -> EngineError {
    EngineError::output(path, std::io::Error::other(e))
}

fn write_timelines(dir: &Path, spools: Vec<crate::timeline::Spool>) -> Result<u64, EngineError> {
    let csv_path = dir.join("timeline.csv");
    let jsonl_path = dir.join("timeline.jsonl");
    let mut csv = csv_writer(&csv_path)?;
    csv.write_record(["UTC Timestamp", "Plugin", "Event", "Description"])
        .map_err(|e| csv_err(&csv_path, e))?;
    let mut jsonl = create(&jsonl_path)?;
    let n = timeline::merge(spools, |row: &TimelineRow| {
        let ts = row.timestamp.map(Timestamp::to_mvt).unwrap_or_default();
        csv.write_record([ts.as_str(), &row.module, &row.event, &csv_safe(&row.data)])
            .map_err(|e| csv_err(&csv_path, e))?;
        // Timesketch needs a time: undated rows stay in the CSV only.
        if let Some(t) = row.timestamp {
            serde_json::to_writer(
                &mut jsonl,
                &TimesketchRow {
                    message: &row.data,
                    datetime: t.to_rfc3339(),
                    timestamp: t.unix_micros(),
                    timestamp_desc: &row.event,
                    module: &row.module,
                    data_type: format!("bridle:{}", row.module.to_lowercase()),
                },
            )
            .map_err(|e| EngineError::output(&jsonl_path, std::io::Error::other(e)))?;
            jsonl
                .write_all(b"\n")
                .map_err(|e| EngineError::output(&jsonl_path, e))?;
        }
        Ok(())
    })?;
    close_csv(csv, &csv_path)?;
    close(jsonl, &jsonl_path)?;
    Ok(n)
}

/// Whether a module name can be used in a file name (`<module>.json`): ASCII letters,
/// digits, `_` and `-`, at most 64 bytes. Module names read back from a results folder are
/// checked with it before any file is opened or written under them.
pub fn is_safe_slug(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An alert as a re-check writes it: the alert, plus whether it is new since the previous
/// run.
#[derive(Serialize)]
struct MarkedAlert<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    new: bool,
}

/// Writes `alerts.json`, one `<module>_detected.json` per module with alerts, and
/// `alerts_timeline.csv`, from alerts sorted by [`Alert::sort_key`]. With `new` (one flag
/// per alert, as a re-check computes them), each alert object gets a `"new"` key.
///
/// `check` and `recheck` both write their alert files here, so the files have one format.
pub(crate) fn write_alert_files(
    dir: &Path,
    alerts: &[Alert],
    new: Option<&[bool]>,
) -> Result<(), EngineError> {
    let write = |path: &Path, subset: &[(usize, &Alert)]| -> Result<(), EngineError> {
        match new {
            None => {
                let plain: Vec<&Alert> = subset.iter().map(|(_, a)| *a).collect();
                write_json(path, &plain)
            }
            Some(flags) => {
                let marked: Vec<MarkedAlert<'_>> = subset
                    .iter()
                    .map(|(i, a)| MarkedAlert {
                        alert: a,
                        new: flags.get(*i).copied().unwrap_or(false),
                    })
                    .collect();
                write_json(path, &marked)
            }
        }
    };
    let all: Vec<(usize, &Alert)> = alerts.iter().enumerate().collect();
    write(&dir.join("alerts.json"), &all)?;
    let mut modules: Vec<&str> = alerts.iter().map(|a| a.module.as_str()).collect();
    modules.sort_unstable();
    modules.dedup();
    for module in modules.into_iter().filter(|m| is_safe_slug(m)) {
        let subset: Vec<(usize, &Alert)> = all
            .iter()
            .filter(|(_, a)| a.module == module)
            .copied()
            .collect();
        write(&dir.join(format!("{module}_detected.json")), &subset)?;
    }
    write_alerts_timeline(&dir.join("alerts_timeline.csv"), alerts)
}

fn write_alerts_timeline(path: &Path, alerts: &[Alert]) -> Result<(), EngineError> {
    let mut csv = csv_writer(path)?;
    csv.write_record(["Event Time", "Module", "Message", "Event"])
        .map_err(|e| csv_err(path, e))?;
    let mut dated: Vec<&Alert> = alerts.iter().filter(|a| a.event_time.is_some()).collect();
    dated.sort_by(|a, b| (a.event_time, a.sort_key()).cmp(&(b.event_time, b.sort_key())));
    for a in dated {
        let event = a.event.as_json();
        let t = a.event_time.map(Timestamp::to_mvt).unwrap_or_default();
        csv.write_record([
            t.as_str(),
            &a.module,
            &csv_safe(&a.message),
            &csv_safe(event),
        ])
        .map_err(|e| csv_err(path, e))?;
    }
    close_csv(csv, path)
}
