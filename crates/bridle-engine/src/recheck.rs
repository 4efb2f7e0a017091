//! Re-checking saved results against new indicators, without the evidence.
//!
//! ```text
//! observables.jsonl --stream, match each line--> hits (few)
//!                                                  |
//! <module>.json ------- read only the hit records --+--> indicator alerts (alerts.rs)
//! alerts.json --------- heuristic alerts, kept ----------+
//! previous run's alerts.json -- identities --> `new` flags, removed alerts
//! ```
//!
//! Heuristic alerts do not depend on indicators, so they are carried over from the original
//! run. Indicator alerts are built by the same function as during the check, from the same
//! record data, so a re-check and a check with the same indicators give the same alerts.
//! The results go to a new folder, `rechecks/<sequence>-<UTC time>/` inside the results
//! folder by default; nothing of the original run is modified.

use crate::alerts::{self, AlertIdentity, RecordRef};
use crate::manifest::{self, MANIFEST_FILE, RECHECKS_DIR};
use crate::output::{self, now_rfc3339, write_alert_files};
use crate::results::{self, Digest256, LineChunks, ObservableLine, ReadError};
use crate::{EngineError, IndicatorFileInfo, Matcher};
use bridle_model::{Alert, IndicatorRef, Map, Problem, ProblemKind};
use serde::Serialize;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Most re-check folders numbered in one results folder.
pub const MAX_RECHECKS: u32 = 9999;

/// How to re-check.
#[derive(Debug, Clone)]
pub struct RecheckConfig {
    /// The results folder of the original check.
    pub results: PathBuf,
    /// Where to write; default `<results>/rechecks/<sequence>-<UTC time>/`. Must be new or
    /// empty.
    pub output: Option<PathBuf>,
    /// Worker threads.
    pub jobs: usize,
}

/// Facts about the re-check run for its `info.json`, provided by the caller.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecheckInfo {
    /// bridle's version.
    pub bridle_version: String,
    /// The command line.
    pub command_line: Vec<String>,
    /// Indicator files loaded.
    pub indicator_files: Vec<IndicatorFileInfo>,
    /// Problems met while loading indicators.
    pub indicator_problems: Vec<String>,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
}

/// What a re-check produced.
#[derive(Debug, Clone)]
pub struct RecheckSummary {
    /// The folder written.
    pub output: PathBuf,
    /// Every alert (heuristics carried over, indicator alerts re-matched), sorted.
    pub alerts: Vec<Alert>,
    /// For each alert, whether it is new since the previous run.
    pub new: Vec<bool>,
    /// Indicator alerts of the previous run that are gone (indicators removed or revoked).
    pub removed: Vec<AlertIdentity>,
    /// What could not be re-checked.
    pub problems: Vec<Problem>,
    /// Records re-matched (lines of observables.jsonl).
    pub records: u64,
    /// Observables re-matched.
    pub observables: u64,
    /// The run the `new` flags compare with (the original folder, or an earlier re-check).
    pub compared_with: PathBuf,
    /// Problems the original check recorded (parts of the acquisition it could not read):
    /// a re-check cannot cover them either.
    pub original_problems: usize,
}

impl RecheckSummary {
    /// Whether any alert is a finding (an indicator match, or HIGH/CRITICAL).
    pub fn has_findings(&self) -> bool {
        self.alerts.iter().any(Alert::is_finding)
    }

    /// Whether part of the saved results could not be re-checked, or the original check
    /// could not read part of the acquisition.
    pub fn is_incomplete(&self) -> bool {
        !self.problems.is_empty() || self.original_problems > 0
    }

    /// Indicator alerts that are new.
    pub fn new_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .zip(&self.new)
            .filter(|(_, n)| **n)
            .map(|(a, _)| a)
    }
}

/// Why a re-check could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecheckError {
    /// The folder is not the results of a check.
    #[error("{}: {why}", path.display())]
    NotResults {
        /// The folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A file needed to re-check could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing results failed.
    #[error(transparent)]
    Output(#[from] EngineError),
}

/// A line that matched, waiting for its record's data.
struct Pending {
    line: ObservableLine,
    hits: Vec<(usize, IndicatorRef)>,
}

/// A file read, with what the original manifest says about it.
#[derive(Debug, Clone, Serialize)]
struct FileRead {
    path: String,
    sha256: String,
    size: u64,
    /// `matches`, `differs`, `not listed` or `no manifest`.
    manifest: &'static str,
}

#[derive(Serialize)]
struct Original<'a> {
    path: String,
    info_sha256: Option<String>,
    started_at: Option<&'a serde_json::Value>,
    acquisition_kind: Option<&'a serde_json::Value>,
    acquisition_path: Option<&'a serde_json::Value>,
    indicator_files: Option<&'a serde_json::Value>,
}

#[derive(Serialize)]
struct InfoFile<'a> {
    kind: &'static str,
    #[serde(flatten)]
    run: &'a RecheckInfo,
    finished_at: String,
    original: Original<'a>,
    compared_with: String,
    records: u64,
    observables: u64,
    alerts: usize,
    indicator_alerts: usize,
    new_alerts: usize,
    removed_alerts: &'a [AlertIdentity],
    problems: &'a [Problem],
    files_read: &'a [FileRead],
}

struct Context<'a> {
    results: &'a Path,
    manifest: Option<HashMap<String, (u64, String)>>,
    problems: Vec<Problem>,
    files_read: Vec<FileRead>,
}

impl Context<'_> {
    fn problem(&mut self, module: &str, file: &str, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            kind,
            module: module.to_owned(),
            file: Some(file.to_owned()),
            message,
        });
    }

    /// Notes a file read in full, and whether it still is what the manifest says.
    fn read(&mut self, module: &str, name: &str, digest: &Digest256) {
        let state = match &self.manifest {
            None => "no manifest",
            Some(m) => match m.get(name) {
                None => "not listed",
                Some((size, sha)) if *size == digest.size && sha == &digest.sha256 => "matches",
                Some(_) => "differs",
            },
        };
        if state == "differs" || state == "not listed" {
            self.problem(
                module,
                name,
                ProblemKind::Partial,
                format!(
                    "{name} is not the file the original run wrote ({state} in its {MANIFEST_FILE}): \
                     results re-checked from it may not reflect the evidence"
                ),
            );
        }
        self.files_read.push(FileRead {
            path: name.to_owned(),
            sha256: digest.sha256.clone(),
            size: digest.size,
            manifest: state,
        });
    }
}

/// Re-checks a results folder. See the module documentation.
pub fn recheck(
    config: &RecheckConfig,
    matcher: &dyn Matcher,
    info: &RecheckInfo,
) -> Result<RecheckSummary, RecheckError> {
    let results = config.results.as_path();
    if !results.is_dir() {
        return Err(RecheckError::NotResults {
            path: results.to_owned(),
            why: "not a folder".into(),
        });
    }
    let mut cx = Context {
        results,
        manifest: None,
        problems: Vec::new(),
        files_read: Vec::new(),
    };
    // When the run wrote a keys file, observables.jsonl is hashed and indexed from the start,
    // while the rest is read ([`match_by_keys`]).
    let index = results.join(results::KEYS_FILE).is_file().then(|| {
        let path = results.join("observables.jsonl");
        std::thread::spawn(move || index_lines(&path))
    });

    let original_info = match results::read_json::<serde_json::Value>(&results.join("info.json")) {
        Ok((value, digest)) => {
            if value.get("kind").and_then(serde_json::Value::as_str) == Some("recheck") {
                return Err(RecheckError::NotResults {
                    path: results.to_owned(),
                    why: "this is a re-check folder; give the results folder of the original \
                          check (its re-checks are compared automatically)"
                        .into(),
                });
            }
            Some((value, digest))
        }
        Err(e) => {
            cx.problem(
                "recheck",
                "info.json",
                ProblemKind::Unreadable,
                format!("{e}; the original run's details are unknown"),
            );
            None
        }
    };
    match manifest::read(results) {
        Ok((m, _)) => {
            cx.manifest = Some(
                m.files
                    .into_iter()
                    .map(|f| (f.path, (f.size, f.sha256)))
                    .collect(),
            );
        }
        Err(ReadError::Missing { .. }) => {}
        Err(e) => cx.problem(
            "recheck",
            MANIFEST_FILE,
            ProblemKind::Unreadable,
            format!("{e}; the files re-checked cannot be compared with the original run"),
        ),
    }
    if let Some((_, digest)) = &original_info {
        cx.read("recheck", "info.json", &digest.clone());
    }

    let clock = std::time::Instant::now();
    let (pending, records, observables) = match_lines(&mut cx, matcher, config.jobs, index)?;
    tracing::debug!(records, elapsed = ?clock.elapsed(), "observables matched");
    let mut alerts = build_alerts(&mut cx, pending);
    tracing::debug!(alerts = alerts.len(), elapsed = ?clock.elapsed(), "record data read");

    // Heuristic alerts of the original run.
    let original_alerts = match results::read_json::<Vec<Alert>>(&results.join("alerts.json")) {
        Ok((list, digest)) => {
            cx.read("recheck", "alerts.json", &digest);
            list
        }
        Err(e) => {
            cx.problem(
                "recheck",
                "alerts.json",
                ProblemKind::Unreadable,
                format!(
                    "{e}; the original run's heuristic alerts cannot be carried over, and no \
                     alert can be compared with it"
                ),
            );
            Vec::new()
        }
    };
    alerts.extend(
        original_alerts
            .iter()
            .filter(|a| a.matched_indicator.is_none())
            .cloned(),
    );
    alerts.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));

    // The previous run: the latest finished re-check, else the original.
    let (compared_with, previous) = match latest_recheck(results) {
        Some(dir) => match results::read_json::<Vec<Alert>>(&dir.join("alerts.json")) {
            Ok((list, _)) => (dir, list),
            Err(e) => {
                cx.problem(
                    "recheck",
                    &relative_name(results, &dir.join("alerts.json")),
                    ProblemKind::Unreadable,
                    format!("{e}; alerts are compared with the original run instead"),
                );
                (results.to_owned(), original_alerts)
            }
        },
        None => (results.to_owned(), original_alerts),
    };
    let before: BTreeSet<AlertIdentity> = previous.iter().filter_map(AlertIdentity::of).collect();
    let now: BTreeSet<AlertIdentity> = alerts.iter().filter_map(AlertIdentity::of).collect();
    let new: Vec<bool> = alerts
        .iter()
        .map(|a| AlertIdentity::of(a).is_some_and(|id| !before.contains(&id)))
        .collect();
    let removed: Vec<AlertIdentity> = before.difference(&now).cloned().collect();

    let out = match &config.output {
        Some(dir) => prepare_output(dir)?,
        None => numbered_folder(&results.join(RECHECKS_DIR))?,
    };
    write_alert_files(&out, &alerts, Some(&new))?;
    let mut problems = std::mem::take(&mut cx.problems);
    problems.sort();
    problems.dedup();
    let original = original_info.as_ref().map(|(v, _)| v);
    let field = |name: &str| original.and_then(|v| v.get(name));
    let original_problems = field("problems")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    let info_file = InfoFile {
        kind: "recheck",
        run: info,
        finished_at: now_rfc3339(),
        original: Original {
            path: std::path::absolute(results)
                .unwrap_or_else(|_| results.to_owned())
                .display()
                .to_string(),
            info_sha256: original_info.as_ref().map(|(_, d)| d.sha256.clone()),
            started_at: field("started_at"),
            acquisition_kind: field("acquisition_kind"),
            acquisition_path: field("acquisition_path"),
            indicator_files: field("indicator_files"),
        },
        compared_with: relative_name(results, &compared_with),
        records,
        observables,
        alerts: alerts.len(),
        indicator_alerts: alerts
            .iter()
            .filter(|a| a.matched_indicator.is_some())
            .count(),
        new_alerts: new.iter().filter(|n| **n).count(),
        removed_alerts: &removed,
        problems: &problems,
        files_read: &cx.files_read,
    };
    output::write_json(&out.join("info.json"), &info_file)?;
    Ok(RecheckSummary {
        output: out,
        alerts,
        new,
        removed,
        problems,
        records,
        observables,
        compared_with,
        original_problems,
    })
}

/// What matching one line gave.
enum LineResult {
    Bad(u64, String),
    Good {
        observables: usize,
        pending: Option<Pending>,
    },
}

fn match_line(matcher: &dyn Matcher, number: u64, bytes: &[u8]) -> LineResult {
    let light = match results::parse_light(bytes) {
        Ok(l) => l,
        Err(why) => return LineResult::Bad(number, why),
    };
    let observables = light.observables.len();
    if matcher.match_record(&light.observables).is_empty() {
        return LineResult::Good {
            observables,
            pending: None,
        };
    }
    // A match: the whole line, and the match again on the whole observables (with their
    // fields and levels), exactly as the check matched them.
    match results::parse_line(bytes) {
        Ok(line) => {
            let hits = matcher.match_record(&line.observables);
            LineResult::Good {
                observables,
                pending: Some(Pending { line, hits }),
            }
        }
        Err(why) => LineResult::Bad(number, why),
    }
}

/// What matching the observables gave: the lines that matched, in file order, and the
/// numbers of records and observables read.
type Matched = (Vec<Pending>, u64, u64);

/// Matches the observables of the results: through the keys file when the run wrote one and
/// both it and observables.jsonl are what the manifest lists ([`match_by_keys`]), otherwise by
/// reading observables.jsonl whole.
fn match_lines(
    cx: &mut Context<'_>,
    matcher: &dyn Matcher,
    jobs: usize,
    index: Option<LineIndex>,
) -> Result<Matched, RecheckError> {
    let fast = index.and_then(|index| match_by_keys(cx, matcher, jobs, index));
    if let Some((matched, keys, observables)) = fast {
        cx.read("recheck", results::KEYS_FILE, &keys);
        cx.read("recheck", "observables.jsonl", &observables);
        return Ok(matched);
    }
    match_all_lines(cx, matcher, jobs)
}

/// [`index_lines`] of observables.jsonl, running.
type LineIndex = std::thread::JoinHandle<std::io::Result<(Vec<u64>, Digest256)>>;

/// The line starts of a file, its size and SHA-256, read in one pass.
fn index_lines(path: &Path) -> std::io::Result<(Vec<u64>, Digest256)> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let (mut starts, mut offset, mut at_line_start) = (Vec::new(), 0u64, true);
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let block = buf.get(..n).unwrap_or_default();
        hasher.update(block);
        let mut from = 0usize;
        for nl in memchr::memchr_iter(b'\n', block) {
            if at_line_start {
                starts.push(offset + from as u64);
            }
            at_line_start = true;
            from = nl + 1;
        }
        if from < n && at_line_start {
            starts.push(offset + from as u64);
            at_line_start = false;
        }
        offset += n as u64;
    }
    let digest = Digest256 {
        sha256: hex::encode(hasher.finalize()),
        size: offset,
    };
    Ok((starts, digest))
}

/// The fast path: matches the keys file (kinds and values only, no JSON), while
/// observables.jsonl is hashed and its lines indexed on another thread, then parses only the
/// lines that matched, exactly as [`match_all_lines`] would. `None` when it cannot be taken
/// (no manifest or keys file, a file not as the manifest lists it, line counts that
/// disagree, a line that does not parse): the caller then reads observables.jsonl whole,
/// which reports each of those cases precisely.
fn match_by_keys(
    cx: &Context<'_>,
    matcher: &dyn Matcher,
    jobs: usize,
    index: LineIndex,
) -> Option<(Matched, Digest256, Digest256)> {
    use rayon::prelude::*;
    let Some(manifest) = cx.manifest.as_ref() else {
        let _ = index.join();
        return None;
    };
    let listed = |name: &str, d: &Digest256| {
        manifest
            .get(name)
            .is_some_and(|(size, sha)| *size == d.size && *sha == d.sha256)
    };
    let keys_path = cx.results.join(results::KEYS_FILE);
    let obs_path = cx.results.join("observables.jsonl");
    let keyed = (|| {
        if !manifest.contains_key(results::KEYS_FILE) || !manifest.contains_key("observables.jsonl")
        {
            return None;
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
            .ok()?;
        let data = std::fs::read(&keys_path).ok()?;
        let digest = Digest256 {
            sha256: hex::encode(sha2::Sha256::digest(&data)),
            size: data.len() as u64,
        };
        if !listed(results::KEYS_FILE, &digest) {
            return None;
        }
        let body = data.strip_suffix(b"\n").unwrap_or(&data);
        let lines: Vec<&[u8]> = if body.is_empty() {
            Vec::new()
        } else {
            body.split(|b| *b == b'\n').collect()
        };
        // Per line: its observables count and whether any indicator matches.
        let per_line: Option<Vec<(usize, bool)>> = pool.install(|| {
            lines
                .par_iter()
                .map(|line| {
                    let obs = results::parse_keys_line(line)?;
                    Some((obs.len(), !matcher.match_record(&obs).is_empty()))
                })
                .collect()
        });
        Some((per_line?, digest))
    })();
    // Joined whatever happened, so that no reading goes on behind the re-check.
    let index = index.join().ok().and_then(Result::ok);
    let (starts, obs_digest) = index?;
    let (per_line, keys_digest) = keyed?;
    if !listed("observables.jsonl", &obs_digest) || starts.len() != per_line.len() {
        return None;
    }
    let mut file = std::fs::File::open(&obs_path).ok()?;
    let mut pending = Vec::new();
    let mut observables = 0u64;
    for (i, (count, hit)) in per_line.iter().enumerate() {
        observables = observables.saturating_add(*count as u64);
        if !hit {
            continue;
        }
        let start = *starts.get(i)?;
        let end = starts.get(i + 1).copied().unwrap_or(obs_digest.size);
        let bytes = read_range(&mut file, start, end)?;
        let line = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match match_line(matcher, i as u64 + 1, line) {
            LineResult::Good { pending: p, .. } => pending.extend(p),
            LineResult::Bad(..) => return None,
        }
    }
    Some((
        (pending, per_line.len() as u64, observables),
        keys_digest,
        obs_digest,
    ))
}

/// Bytes `start..end` of a file (a line of a file already indexed: bounded by it).
fn read_range(file: &mut std::fs::File, start: u64, end: u64) -> Option<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let len = usize::try_from(end.checked_sub(start)?).ok()?;
    if len > results::MAX_LINE_BYTES {
        return None;
    }
    file.seek(SeekFrom::Start(start)).ok()?;
    let mut bytes = vec![0u8; len];
    file.read_exact(&mut bytes).ok()?;
    Some(bytes)
}

/// Streams observables.jsonl and matches every line, a block of lines at a time in
/// parallel; returns the lines that matched, in file order, and the numbers of records and
/// observables read.
fn match_all_lines(
    cx: &mut Context<'_>,
    matcher: &dyn Matcher,
    jobs: usize,
) -> Result<Matched, RecheckError> {
    let path = cx.results.join("observables.jsonl");
    let mut reader = LineChunks::open(&path).map_err(|e| match e {
        ReadError::Missing { path } => RecheckError::NotResults {
            why: format!(
                "{} is missing: this is not the output folder of `bridle check` (or it \
                 was damaged); nothing can be re-checked",
                path.display()
            ),
            path: cx.results.to_owned(),
        },
        other => RecheckError::Read(other),
    })?;
    let pool = (jobs > 1)
        .then(|| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(jobs)
                .build()
                .ok()
        })
        .flatten();
    let mut pending = Vec::new();
    let (mut records, mut observables) = (0u64, 0u64);
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    // The next block is read while the current one is matched and hashed.
    let mut current = reader.next_chunk()?;
    while let Some(chunk) = current.take() {
        size = size.saturating_add(chunk.data.len() as u64);
        for (n, why) in &chunk.invalid {
            cx.problem(
                "recheck",
                "observables.jsonl",
                ProblemKind::Partial,
                format!("line {n}: {why}; this record was not re-checked"),
            );
        }
        let one =
            |&(n, start, end): &(u64, usize, usize)| match_line(matcher, n, chunk.line(start, end));
        let (matched, next): (Vec<LineResult>, _) = match &pool {
            Some(pool) => pool.install(|| {
                use rayon::prelude::*;
                let ((matched, ()), next) = rayon::join(
                    || {
                        rayon::join(
                            || chunk.lines.par_iter().map(one).collect(),
                            || hasher.update(&chunk.data),
                        )
                    },
                    || reader.next_chunk(),
                );
                (matched, next)
            }),
            None => {
                hasher.update(&chunk.data);
                (chunk.lines.iter().map(one).collect(), reader.next_chunk())
            }
        };
        current = next?;
        for result in matched {
            match result {
                LineResult::Bad(n, why) => cx.problem(
                    "recheck",
                    "observables.jsonl",
                    ProblemKind::Partial,
                    format!("line {n}: {why}; this record was not re-checked"),
                ),
                LineResult::Good {
                    observables: n,
                    pending: p,
                } => {
                    records = records.saturating_add(1);
                    observables = observables.saturating_add(n as u64);
                    pending.extend(p);
                }
            }
        }
    }
    if reader.lossy() {
        cx.problem(
            "recheck",
            "observables.jsonl",
            ProblemKind::Partial,
            "an over-long line was skipped, so the file could not be compared with the \
             original run's manifest"
                .into(),
        );
    } else {
        let digest = Digest256 {
            sha256: hex::encode(hasher.finalize()),
            size,
        };
        cx.read("recheck", "observables.jsonl", &digest);
    }
    Ok((pending, records, observables))
}

/// Reads the data of the records that matched and builds their alerts.
fn build_alerts(cx: &mut Context<'_>, pending: Vec<Pending>) -> Vec<Alert> {
    let mut by_module: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
    for p in pending {
        by_module.entry(p.line.module.clone()).or_default().push(p);
    }
    let mut alerts = Vec::new();
    for (module, lines) in by_module {
        let name = format!("{module}.json");
        let wanted: BTreeSet<u64> = lines.iter().map(|p| p.line.record).collect();
        let read = match results::read_records(&cx.results.join(&name), &wanted) {
            Ok(r) => r,
            Err(e) => {
                cx.problem(
                    &module,
                    &name,
                    ProblemKind::Unreadable,
                    format!("{e}; its matching records are cited without their data"),
                );
                results::RecordsRead::default()
            }
        };
        if let Some(e) = &read.error {
            cx.problem(
                &module,
                &name,
                ProblemKind::Partial,
                format!("{e}; records after the damage are cited without their data"),
            );
        }
        if let Some(digest) = &read.digest {
            cx.read(&module, &name, digest);
        }
        let missing: Vec<u64> = wanted
            .iter()
            .filter(|i| !read.records.contains_key(i))
            .copied()
            .collect();
        if !missing.is_empty() && read.error.is_none() {
            cx.problem(
                &module,
                &name,
                ProblemKind::Partial,
                format!(
                    "holds {} records, but observables.jsonl cites record(s) {}; they are cited \
                     without their data",
                    read.count,
                    missing
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let empty = Map::new();
        for p in lines {
            let at = RecordRef {
                module: &p.line.module,
                index: p.line.record,
                source: &p.line.source,
                time: p.line.time,
                data: read.records.get(&p.line.record).unwrap_or(&empty),
            };
            alerts.extend(alerts::indicator_alerts(&at, &p.line.observables, p.hits));
        }
    }
    alerts
}

fn relative_name(results: &Path, path: &Path) -> String {
    match path.strip_prefix(results) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".to_owned(),
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

/// The sequence number a re-check folder name starts with.
fn sequence(name: &str) -> Option<u32> {
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The latest finished re-check (one with a manifest, written last) of a results folder.
pub fn latest_recheck(results: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(results.join(RECHECKS_DIR)).ok()?;
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let seq = sequence(&name)?;
            let path = e.path();
            (path.join(MANIFEST_FILE).is_file() && path.join("alerts.json").is_file())
                .then_some((seq, name, path))
        })
        .max()
        .map(|(_, _, p)| p)
}

/// Every re-check folder of a results folder, in sequence order.
pub fn rechecks(results: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(results.join(RECHECKS_DIR)) else {
        return Vec::new();
    };
    let mut found: Vec<(u32, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            Some((sequence(&name)?, name, e.path()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, _, p)| p).collect()
}

/// Creates `<dir>/<next sequence>-<UTC time>`: `create_dir` is atomic, so two re-checks at
/// the same moment get two folders.
fn numbered_folder(dir: &Path) -> Result<PathBuf, EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::output(dir, e))?;
    let last = std::fs::read_dir(dir)
        .map_err(|e| EngineError::output(dir, e))?
        .filter_map(Result::ok)
        .filter_map(|e| sequence(&e.file_name().to_string_lossy()))
        .max()
        .unwrap_or(0);
    let stamp: String = now_rfc3339()
        .chars()
        .take(19)
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .collect();
    let mut next = last.saturating_add(1);
    while next <= MAX_RECHECKS {
        let path = dir.join(format!("{next:04}-{stamp}Z"));
        match std::fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => next += 1,
            Err(e) => return Err(EngineError::output(&path, e)),
        }
    }
    Err(EngineError::output(
        dir,
        std::io::Error::other(format!("more than {MAX_RECHECKS} re-checks")),
    ))
}

fn prepare_output(dir: &Path) -> Result<PathBuf, EngineError> {
    std::fs::create_dir_all(dir).map_err(|e| EngineError::output(dir, e))?;
    let empty = std::fs::read_dir(dir)
        .map_err(|e| EngineError::output(dir, e))?
        .next()
        .is_none();
    if !empty {
        return Err(EngineError::output(
            dir,
            std::io::Error::other("the output folder is not empty"),
        ));
    }
    Ok(dir.to_owned())
}
