//! Crash and diagnostic reports of a sysdiagnose (`*.ips`, mostly in `crashes_and_spins/`).
//!
//! An `.ips` file is a one-line JSON header (`app_name`, `timestamp` with its UTC offset,
//! `bug_type`, `os_version`, `incident_id`, `bundleID`…) followed by a body: pretty-printed
//! JSON since iOS 15 (`procName`, `procPath`, `pid`, `parentProc`, `exception`,
//! `termination`, `usedImages`…; a JetsamEvent lists every process in memory under
//! `processes`), or the older text form (`Process: name [pid]`, `Path: /…`).
//!
//! One record per report. Observables: every process name the report gives (the crashed
//! process, its parent, the one that killed it, every process of a JetsamEvent), the
//! executable and loaded images as file paths, the bundle id as an app id. A process or
//! image running from under `/private/var/db/` or `/private/var/tmp/` is HIGH, as for
//! shutdown.log and ps. A file whose header is not JSON is reported and skipped.

use super::shutdown_log::suspicious_dir;
use crate::text::Lines;
use crate::{Ios, IosKind};
use bridle_evidence::plist_json::read_capped;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind,
    Record, Sink, Source, TimelineEvent,
};
use serde_json::Value as Json;
use std::collections::BTreeSet;

ios_module!(
    CrashReports,
    "crash_reports",
    "CrashReports",
    "Crash and diagnostic reports (*.ips): processes, paths, bug types, times"
);

/// Largest report read.
pub const MAX_REPORT_BYTES: u64 = 32 << 20;
/// Most reports read.
pub const MAX_REPORTS: usize = 100_000;
/// Most names or paths taken from one list in a report (Jetsam processes, loaded images).
pub const MAX_LIST_ITEMS: usize = 10_000;
/// Lines of a text-form body searched for `Process:` and `Path:`.
const MAX_TEXT_LINES: u64 = 500;

/// What the known `bug_type` codes are.
pub fn bug_type_name(code: &str) -> &'static str {
    match code {
        "109" | "309" => "crash",
        "308" => "exception (ExcUserFault)",
        "298" => "jetsam event",
        "288" => "stackshot",
        "210" => "panic",
        "211" => "analytics",
        "385" => "resource report",
        "142" => "low memory",
        _ => "report",
    }
}

/// The text form's `Process:` and `Path:` values.
fn text_body(body: &[u8]) -> (Option<String>, Option<i64>, Option<String>) {
    let mut lines = Lines::new(body, 4096, u64::MAX);
    let (mut name, mut pid, mut path) = (None, None, None);
    while let Ok(Some(line)) = lines.next_line() {
        if line.number > MAX_TEXT_LINES {
            break;
        }
        let text = String::from_utf8_lossy(line.bytes);
        if let Some(v) = text.strip_prefix("Process:") {
            let v = v.trim();
            match v.rsplit_once('[') {
                Some((n, p)) => {
                    name = Some(n.trim().to_owned());
                    pid = p.trim_end_matches(']').trim().parse().ok();
                }
                None => name = Some(v.to_owned()),
            }
        } else if let Some(v) = text.strip_prefix("Path:") {
            path = Some(v.trim().to_owned());
        }
    }
    (name, pid, path)
}

fn string(v: Option<&Json>) -> Option<String> {
    match v? {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::Sysdiagnose {
        return Ok(ModuleOutcome::NotFound("not a sysdiagnose".into()));
    }
    let mut reports: Vec<(String, std::path::PathBuf)> = Vec::new();
    let mut over = 0u64;
    let walked = ios
        .walk("", |e| {
            if e.file_type.is_file() && e.name.ends_with(".ips") {
                if reports.len() < MAX_REPORTS {
                    reports.push((e.rel.to_owned(), e.path.to_path_buf()));
                } else {
                    over += 1;
                }
            }
        })
        .map_err(|e| super::unreadable("crashes_and_spins", &e))?;
    if let Some(p) = walked.problem() {
        sink.problem(Problem {
            kind: ProblemKind::Partial,
            module: String::new(),
            file: None,
            message: p,
        });
    }
    if over > 0 {
        sink.problem(Problem {
            kind: ProblemKind::Skipped,
            module: String::new(),
            file: None,
            message: format!("{over} reports past the first {MAX_REPORTS} were not read"),
        });
    }
    if reports.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no .ips report in this sysdiagnose".into(),
        ));
    }
    for (rel, path) in reports {
        let located = ios.located_fs(path, &rel);
        let file = match ios.register(&located) {
            Ok(f) => f,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        let bytes = match read_capped(&located.path, MAX_REPORT_BYTES, "a crash report") {
            Ok(b) => b,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        let (head, body) = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) => (
                bytes.get(..i).unwrap_or_default(),
                bytes.get(i + 1..).unwrap_or_default(),
            ),
            None => (bytes.as_slice(), &[][..]),
        };
        let header: Json = match serde_json::from_slice(head) {
            Ok(h @ Json::Object(_)) => h,
            _ => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    "not a crash report: the first line is not a JSON object",
                ));
                continue;
            }
        };
        let trimmed = body.trim_ascii();
        let json_body: Option<Json> = if trimmed.starts_with(b"{") {
            match serde_json::from_slice(trimmed) {
                Ok(b) => Some(b),
                Err(e) => {
                    sink.problem(Problem::file(
                        ProblemKind::Partial,
                        located.logical.clone(),
                        format!("the report body is not valid JSON ({e}); only the header is read"),
                    ));
                    None
                }
            }
        } else {
            None
        };
        let mut r = Record::new(Source::file(&file));
        fill(&mut r, &rel, &header, json_body.as_ref(), trimmed);
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}

/// Builds the record of one report.
fn fill(r: &mut Record, rel: &str, header: &Json, body: Option<&Json>, raw_body: &[u8]) {
    let h = |k: &str| string(header.get(k));
    let b = |k: &str| string(body.and_then(|b| b.get(k)));
    let bug = h("bug_type").or_else(|| b("bug_type")).unwrap_or_default();
    let (text_name, text_pid, text_path) = if body.is_none() && !raw_body.is_empty() {
        text_body(raw_body)
    } else {
        (None, None, None)
    };
    let proc_name = b("procName")
        .or_else(|| h("app_name"))
        .or_else(|| h("name"))
        .or(text_name);
    let proc_path = b("procPath").or(text_path);
    let pid = body
        .and_then(|b| b.get("pid"))
        .and_then(Json::as_i64)
        .or(text_pid);
    let timestamp = h("timestamp");
    let time = timestamp
        .as_deref()
        .and_then(super::ios_version_history::parse_offset_time)
        .or_else(|| {
            b("captureTime")
                .or_else(|| b("date"))
                .as_deref()
                .and_then(super::ios_version_history::parse_offset_time)
        });
    let exception = body.and_then(|b| b.get("exception"));
    let termination = body.and_then(|b| b.get("termination"));
    let bundle = h("bundleID").or_else(|| {
        string(
            body.and_then(|b| b.get("bundleInfo"))
                .and_then(|i| i.get("CFBundleIdentifier")),
        )
    });
    let jetsam: Vec<&Json> = body
        .and_then(|b| b.get("processes"))
        .and_then(Json::as_array)
        .map(|a| a.iter().take(MAX_LIST_ITEMS).collect())
        .unwrap_or_default();
    let images: Vec<String> = body
        .and_then(|b| b.get("usedImages"))
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .take(MAX_LIST_ITEMS)
                .filter_map(|i| string(i.get("path")))
                .collect()
        })
        .unwrap_or_default();
    let opt = |v: &Option<String>| v.as_deref().map_or(Json::Null, Json::from);
    r.set("file", rel)
        .set("bug_type", bug.as_str())
        .set("bug_type_name", bug_type_name(&bug))
        .set("timestamp", opt(&timestamp))
        .set("isodate", super::iso(time))
        .set("app_name", opt(&h("app_name")))
        .set("name", opt(&h("name")))
        .set("bundle_id", opt(&bundle))
        .set("os_version", opt(&h("os_version")))
        .set("incident_id", opt(&h("incident_id")))
        .set("proc_name", opt(&proc_name))
        .set("proc_path", opt(&proc_path))
        .set("pid", pid.map_or(Json::Null, Json::from))
        .set("parent_proc", opt(&b("parentProc")))
        .set(
            "parent_pid",
            body.and_then(|b| b.get("parentPid"))
                .cloned()
                .unwrap_or(Json::Null),
        )
        .set("coalition_name", opt(&b("coalitionName")))
        .set(
            "exception_type",
            opt(&string(exception.and_then(|e| e.get("type")))),
        )
        .set(
            "exception_signal",
            opt(&string(exception.and_then(|e| e.get("signal")))),
        )
        .set(
            "termination",
            opt(&string(termination.and_then(|t| t.get("indicator")))),
        )
        .set("largest_process", opt(&b("largestProcess")))
        .set("processes", jetsam.len())
        .set("used_images", images.len());

    let who = proc_name.clone().unwrap_or_else(|| {
        b("largestProcess").map_or_else(
            || "unknown process".to_owned(),
            |p| format!("largest process {p}"),
        )
    });
    let mut text = format!("{} (bug type {bug}) of {who}", bug_type_name(&bug));
    if let Some(p) = &proc_path {
        text.push_str(&format!(" ({p})"));
    }
    if let Some(pid) = pid {
        text.push_str(&format!(", PID {pid}"));
    }
    r.event(TimelineEvent::new(time, "crash_report", text));

    let mut names: BTreeSet<(String, &'static str)> = BTreeSet::new();
    for (v, field) in [
        (h("app_name"), "app_name"),
        (h("name"), "name"),
        (proc_name.clone(), "proc_name"),
        (b("parentProc"), "parent_proc"),
        (b("largestProcess"), "largest_process"),
        (
            string(termination.and_then(|t| t.get("byProc"))),
            "termination",
        ),
    ] {
        if let Some(v) = v {
            names.insert((v, field));
        }
    }
    for p in &jetsam {
        if let Some(n) = string(p.get("name")) {
            names.insert((n, "processes"));
        }
    }
    for (v, field) in names {
        r.observe(Observable::new(ObservableKind::Process, v, field));
    }
    if let Some(p) = &proc_path {
        r.observe(Observable::new(
            ObservableKind::Process,
            p.as_str(),
            "proc_path",
        ));
        r.observe(Observable::new(
            ObservableKind::FilePath,
            p.as_str(),
            "proc_path",
        ));
    }
    let images: BTreeSet<&str> = images.iter().map(String::as_str).collect();
    for i in &images {
        if Some(*i) != proc_path.as_deref() {
            r.observe(Observable::new(ObservableKind::FilePath, *i, "used_images"));
        }
    }
    if let Some(bundle) = &bundle
        && bundle.contains('.')
    {
        r.observe(Observable::new(
            ObservableKind::AppId,
            bundle.as_str(),
            "bundle_id",
        ));
    }
    let pid_text = pid.map(|p| format!(" (PID {p})")).unwrap_or_default();
    if let Some(p) = &proc_path
        && let Some(dir) = suspicious_dir(p)
    {
        r.alert(
            Heuristic::new(
                Level::High,
                format!(
                    "Crash report of {p}{pid_text}, which ran from {dir}: Pegasus ran from \
                     /private/var/db/, Predator and Reign from /private/var/tmp/, no iOS daemon \
                     does"
                ),
            )
            .at(time),
        );
    }
    for i in images {
        if Some(i) != proc_path.as_deref()
            && let Some(dir) = suspicious_dir(i)
        {
            r.alert(
                Heuristic::new(
                    Level::High,
                    format!("{who}{pid_text} had {i} loaded, from {dir}, when it crashed"),
                )
                .at(time),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_bodies() {
        let body = b"Incident Identifier: X\nProcess:             bh [1123]\nPath:                /private/var/db/x/bh\n";
        assert_eq!(
            text_body(body),
            (
                Some("bh".to_owned()),
                Some(1123),
                Some("/private/var/db/x/bh".to_owned())
            )
        );
    }

    #[test]
    fn a_crash_record() {
        let header = serde_json::json!({"app_name": "bh", "timestamp": "2024-09-30 23:36:00.00 -0500",
            "bug_type": "309", "bundleID": "bh"});
        let body = serde_json::json!({"procName": "bh", "procPath": "/private/var/tmp/bh", "pid": 5,
            "usedImages": [{"path": "/private/var/tmp/bh"}, {"path": "/private/var/db/x.dylib"}, {"source": "S"}]});
        let mut r = Record::default();
        fill(
            &mut r,
            "crashes_and_spins/bh.ips",
            &header,
            Some(&body),
            b"",
        );
        assert_eq!(r.data["isodate"], "2024-10-01 04:36:00.000000");
        assert_eq!(r.data["proc_path"], "/private/var/tmp/bh");
        assert_eq!(r.heuristics.len(), 2);
        assert!(r.heuristics.iter().all(|h| h.level == Level::High));
        // "bh" has no dot: not offered as an app id.
        assert!(
            r.observables
                .iter()
                .all(|o| o.kind != ObservableKind::AppId)
        );
    }
}
