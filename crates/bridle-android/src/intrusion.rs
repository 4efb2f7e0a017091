//! Android intrusion logs (Advanced Protection's intrusion logging): newline-delimited JSON
//! files, one `{"<event_type>": {...}}` object per line, in a folder or zip (zips may nest).
//!
//! MVT loads every event of every file into memory once, dropping events whose data is
//! identical to one seen before (in any file, under any event type). Here each module
//! streams the files in the same order and keeps only a set of 32-byte fingerprints of the
//! events seen, which gives the same de-duplication in memory proportional to the number
//! of distinct events rather than their size.

use crate::error::OpenError;
use crate::files::Files;
use crate::text::LineReader;
use crate::tz::DeviceTz;
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::{ArchiveLimits, Tree};
use bridle_model::{EvidenceFile, Problem, ProblemKind};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// The event types bridle (and MVT) know.
pub const KNOWN_EVENT_TYPES: [&str; 3] = ["connect_event", "dns_event", "security_event"];

/// Where the log files are.
#[derive(Debug)]
pub struct IntrusionLogs {
    files: Arc<Files>,
    /// The members to read (text files and nested zips), sorted.
    members: Vec<String>,
    tz: DeviceTz,
}

/// What a walk over the logs saw.
#[derive(Debug, Default, Clone)]
pub struct WalkStats {
    /// Files read.
    pub files: u64,
    /// Non-blank lines.
    pub lines: u64,
    /// Events dropped as duplicates of earlier ones.
    pub duplicates: u64,
    /// Top-level event types bridle does not know, with counts.
    pub unknown_types: BTreeMap<String, u64>,
}

fn is_log(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".txt")
}

fn is_zip(name: &str) -> bool {
    name.to_ascii_lowercase().ends_with(".zip")
}

/// The canonical JSON of a value (object keys sorted), for fingerprints.
fn canonical(v: &Value, out: &mut Vec<u8>, depth: usize) {
    if depth > 128 {
        return;
    }
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(serde_json::to_string(k).unwrap_or_default().as_bytes());
                out.push(b':');
                if let Some(x) = m.get(k) {
                    canonical(x, out, depth + 1);
                }
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(x, out, depth + 1);
            }
            out.push(b']');
        }
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

fn fingerprint(v: &Value) -> [u8; 32] {
    let mut buf = Vec::new();
    canonical(v, &mut buf, 0);
    Sha256::digest(&buf).into()
}

/// One event handed to a module.
pub struct Event<'a> {
    /// The event's data object.
    pub data: Map<String, Value>,
    /// The log file it was read from.
    pub file: &'a Arc<EvidenceFile>,
    /// Its line number.
    pub line: u64,
}

impl IntrusionLogs {
    /// Opens a folder or zip of intrusion logs.
    pub fn open(
        path: &Path,
        log: EvidenceLog,
        tz: DeviceTz,
        limits: ArchiveLimits,
    ) -> Result<IntrusionLogs, OpenError> {
        let tree = Tree::open_with(path, limits)?;
        let files = Arc::new(Files::new(tree, log, ""));
        let members = files
            .tree()
            .files()
            .filter(|e| is_log(&e.name) || is_zip(&e.name))
            .map(|e| e.name.clone())
            .collect();
        Ok(IntrusionLogs { files, members, tz })
    }

    /// The logs under `intrusion_logs/` in an AndroidQF acquisition.
    pub fn from_members(files: Arc<Files>, members: Vec<String>, tz: DeviceTz) -> IntrusionLogs {
        let members = members
            .into_iter()
            .filter(|n| is_log(n) || is_zip(n))
            .collect();
        IntrusionLogs { files, members, tz }
    }

    /// Whether there is anything to read.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The device's time zone (recorded in the records; times stay in UTC).
    pub fn tz(&self) -> &DeviceTz {
        &self.tz
    }

    /// Streams every event of type `want` that is not a duplicate of an earlier event of
    /// any type, in file order.
    pub fn walk(
        &self,
        want: &str,
        problems: &mut Vec<Problem>,
        mut f: impl FnMut(Event<'_>),
    ) -> WalkStats {
        let mut seen: HashSet<[u8; 32]> = HashSet::new();
        let mut stats = WalkStats::default();
        for m in &self.members {
            walk_member(
                &self.files,
                m,
                want,
                &mut seen,
                &mut stats,
                problems,
                &mut f,
            );
        }
        stats
    }
}

fn walk_member(
    files: &Arc<Files>,
    name: &str,
    want: &str,
    seen: &mut HashSet<[u8; 32]>,
    stats: &mut WalkStats,
    problems: &mut Vec<Problem>,
    f: &mut dyn FnMut(Event<'_>),
) {
    if is_zip(name) {
        let nested = match files.tree().open_nested(name) {
            Ok(t) => Arc::new(Files::new(
                t,
                files.log().clone(),
                format!("{}!/", files.stored(name)),
            )),
            Err(e) => {
                problems.push(files.problem(ProblemKind::Unreadable, name, e.to_string()));
                return;
            }
        };
        let inner: Vec<String> = nested
            .tree()
            .files()
            .filter(|e| is_log(&e.name) || is_zip(&e.name))
            .map(|e| e.name.clone())
            .collect();
        for m in inner {
            walk_member(&nested, &m, want, seen, stats, problems, f);
        }
        return;
    }
    // Cite the file first (hashed once per run, whichever module comes first), then stream
    // it, handing each event on as it is read.
    let file = match files.register(name) {
        Ok(c) => c,
        Err(e) => {
            problems.push(files.problem(ProblemKind::Unreadable, name, e.to_string()));
            return;
        }
    };
    let member = match files.tree().open_file(name) {
        Ok(m) => m,
        Err(e) => {
            problems.push(files.problem(ProblemKind::Unreadable, name, e.to_string()));
            return;
        }
    };
    stats.files += 1;
    let mut bad = 0u64;
    let mut first_bad: Option<(u64, String)> = None;
    let mut lines = LineReader::new(member, 0, 1);
    for line in lines.by_ref() {
        let text = line.text.trim();
        if text.is_empty() {
            continue;
        }
        stats.lines += 1;
        let entry = match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                bad += 1;
                first_bad.get_or_insert((line.number, "not a JSON object".into()));
                continue;
            }
            Err(e) => {
                bad += 1;
                first_bad.get_or_insert((line.number, e.to_string()));
                continue;
            }
        };
        for (event_type, data) in entry {
            let Value::Object(data) = data else { continue };
            if !seen.insert(fingerprint(&Value::Object(data.clone()))) {
                stats.duplicates += 1;
                continue;
            }
            if !KNOWN_EVENT_TYPES.contains(&event_type.as_str()) {
                *stats.unknown_types.entry(event_type.clone()).or_default() += 1;
            }
            if event_type == want {
                f(Event {
                    data,
                    file: &file,
                    line: line.number,
                });
            }
        }
    }
    if let Some(e) = lines.take_error() {
        problems.push(files.problem(ProblemKind::Partial, name, format!("read error: {e}")));
    }
    report_bad(files, name, bad, first_bad, problems);
}

fn report_bad(
    files: &Files,
    name: &str,
    bad: u64,
    first_bad: Option<(u64, String)>,
    problems: &mut Vec<Problem>,
) {
    if let Some((line, err)) = first_bad {
        problems.push(files.problem(
            ProblemKind::Partial,
            name,
            format!(
                "{bad} lines are not JSON objects and were skipped (first: line {line}: {err})"
            ),
        ));
    }
}
