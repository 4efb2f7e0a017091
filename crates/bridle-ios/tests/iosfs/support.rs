//! Helpers for the filesystem-dump and sysdiagnose tests: generators, the indicator matcher,
//! running modules, a link-aware tree hash.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bridle_evidence::{EvidenceLog, Limits};
use bridle_indicators::{IndicatorSet, Matcher};
use bridle_ios::Ios;
use bridle_model::{IndicatorRef, Module, ModuleOutcome, Record, VecSink};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

pub use super::common::shared;

/// `python3`, or a panic saying it is needed.
pub fn python() -> &'static str {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "python3 is needed to run the generators in shared/bench (install it)"
    );
    "python3"
}

/// Runs a generator script of shared/bench with arguments.
pub fn generate(script: &str, args: &[&str]) {
    let path = shared().join("bench").join(script);
    assert!(path.is_file(), "generator missing: {}", path.display());
    let out = Command::new(python())
        .arg(&path)
        .args(args)
        .output()
        .expect("run the generator");
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh folder under the integration-test temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("iosfs-{name}"));
    if p.exists() {
        // Generated trees hold read-only files only by accident; remove what we can.
        std::fs::remove_dir_all(&p).unwrap();
    }
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// Reads a truth file.
pub fn truth(path: &Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// A matcher over indicator files or folders.
pub fn matcher(sources: &[PathBuf]) -> Matcher {
    let report = IndicatorSet::load(sources);
    assert!(!report.set.indicators().is_empty(), "no indicators loaded");
    report.set.compile()
}

/// A matcher over one STIX bundle written in the test.
pub fn matcher_from(bytes: &str) -> Matcher {
    let report = IndicatorSet::from_bytes("test.stix2", bytes.as_bytes());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    report.set.compile()
}

/// A STIX bundle with one indicator per (pattern key, value).
pub fn stix(indicators: &[(&str, &str)]) -> String {
    let objects: Vec<Json> = indicators
        .iter()
        .enumerate()
        .map(|(i, (key, value))| {
            serde_json::json!({
                "type": "indicator",
                "spec_version": "2.1",
                "id": format!("indicator--00000000-0000-4000-8000-{i:012}"),
                "created": "2024-01-01T00:00:00.000Z",
                "modified": "2024-01-01T00:00:00.000Z",
                "pattern_type": "stix",
                "valid_from": "2024-01-01T00:00:00Z",
                "pattern": format!("[{key} = '{value}']"),
            })
        })
        .collect();
    serde_json::json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000000", "objects": objects})
        .to_string()
}

/// The indicator hits of one record.
pub fn hits(m: &Matcher, r: &Record) -> Vec<IndicatorRef> {
    m.match_record(&r.observables)
        .iter()
        .filter_map(|h| m.indicator_ref(h, &r.observables))
        .collect()
}

/// Opens a filesystem dump.
pub fn open_fs(path: &Path) -> Arc<Ios> {
    Arc::new(Ios::open_fs(path, EvidenceLog::new(), Limits::default()).unwrap())
}

/// Opens a sysdiagnose folder.
pub fn open_sysdiagnose(path: &Path) -> Arc<Ios> {
    Arc::new(Ios::open_sysdiagnose(path, EvidenceLog::new(), Limits::default()).unwrap())
}

/// What each module of a run gave, by slug (a module error as its text).
pub type Results = BTreeMap<&'static str, (Result<ModuleOutcome, String>, VecSink)>;

/// Runs every module of a list; a module error is returned as its text.
pub fn run_all(modules: Vec<Box<dyn Module>>) -> Results {
    modules
        .into_iter()
        .map(|m| {
            let mut sink = VecSink::default();
            let outcome = m.run(&mut sink).map_err(|e| e.to_string());
            (m.info().slug, (outcome, sink))
        })
        .collect()
}

/// SHA-256 of every file, and the target of every link, under a folder (links are never
/// followed): to show evidence is unchanged.
pub fn tree_hash(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if t.is_symlink() {
                out.push((
                    rel,
                    format!("-> {}", std::fs::read_link(e.path()).unwrap().display()),
                ));
            } else if t.is_dir() {
                out.push((rel, "dir".into()));
                stack.push(e.path());
            } else {
                let (h, _) = bridle_evidence::hash_file(&e.path()).unwrap();
                out.push((rel, h));
            }
        }
    }
    out.sort();
    out
}

/// A string field of a record.
pub fn s<'a>(r: &'a Record, k: &str) -> &'a str {
    r.data.get(k).and_then(Json::as_str).unwrap_or_default()
}

/// Whether a record carries a heuristic of this level whose message contains `text`.
pub fn has_heuristic(r: &Record, level: bridle_model::Level, text: &str) -> bool {
    r.heuristics
        .iter()
        .any(|h| h.level == level && h.message.contains(text))
}
