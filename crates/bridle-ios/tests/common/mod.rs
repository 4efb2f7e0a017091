//! Shared helpers for tests that read the fixtures in ../shared.

// Test helpers panic on purpose: a broken fixture must fail the test loudly.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bridle_evidence::{EvidenceLog, Limits};
use bridle_ios::Ios;
use bridle_model::{Module, ModuleOutcome, VecSink};
use std::path::PathBuf;
use std::sync::Arc;

/// The shared fixtures folder: `$BRIDLE_SHARED`, or `../shared` beside the repository.
/// Panics when missing: these tests must never pass by skipping.
pub fn shared() -> PathBuf {
    let p = std::env::var_os("BRIDLE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")));
    assert!(
        p.join("fixtures").is_dir(),
        "the shared fixtures are missing at {} (set BRIDLE_SHARED)",
        p.display()
    );
    p
}

/// MVT's iOS backup fixture.
pub fn mvt_backup() -> PathBuf {
    shared().join("fixtures/mvt/ios_backup")
}

/// Opens a backup.
pub fn open(path: &std::path::Path) -> Arc<Ios> {
    Arc::new(Ios::open_backup(path, EvidenceLog::new(), Limits::default()).unwrap())
}

/// Runs one module and returns what it produced.
pub fn run(module: &dyn Module) -> (ModuleOutcome, VecSink) {
    let mut sink = VecSink::default();
    let outcome = module.run(&mut sink).unwrap();
    (outcome, sink)
}

/// SHA-256 of every file under a folder, sorted by path: to show evidence is unchanged.
pub fn tree_hash(root: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_symlink() {
                // A link is part of the evidence too: its target text, never followed.
                let target = std::fs::read_link(e.path()).unwrap();
                out.push((
                    e.path().strip_prefix(root).unwrap().display().to_string(),
                    format!("-> {}", target.display()),
                ));
            } else {
                let (h, _) = bridle_evidence::hash_file(&e.path()).unwrap();
                out.push((
                    e.path().strip_prefix(root).unwrap().display().to_string(),
                    h,
                ));
            }
        }
    }
    out.sort();
    out
}

/// Copies a folder tree (for tests that alter evidence).
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}
