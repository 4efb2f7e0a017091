//! Helpers for running the `bridle` binary in tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The demo acquisition committed in the repository.
pub fn demo() -> (PathBuf, PathBuf) {
    let d = repo().join("examples/demo");
    (d.join("backup"), d.join("demo.stix2"))
}

/// The shared fixtures folder; panics when missing, so these tests never pass by skipping.
pub fn shared() -> PathBuf {
    let p = std::env::var_os("BRIDLE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"));
    assert!(
        p.join("fixtures").is_dir(),
        "the shared fixtures are missing at {} (set BRIDLE_SHARED)",
        p.display()
    );
    p
}

/// Runs bridle with arguments; BRIDLE_IOCS and the user data folder are neutralised so only
/// the indicators given are used.
pub fn bridle(args: &[&std::ffi::OsStr]) -> Output {
    let home = tempfile::tempdir().unwrap();
    assert_cmd::Command::cargo_bin("bridle")
        .unwrap()
        .env_remove("BRIDLE_IOCS")
        .env_remove("BRIDLE_STORE")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path())
        .args(args)
        .output()
        .unwrap()
}

/// `bridle` with string arguments.
pub fn run(args: &[&str]) -> Output {
    let a: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    bridle(&a)
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// SHA-256 of every file under a folder, sorted by path.
pub fn tree_hash(root: &Path) -> Vec<(String, String)> {
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

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
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

/// The PostgreSQL server for tests (`BRIDLE_TEST_POSTGRES`, e.g. from
/// `.ci/postgres.sh start`). Missing: the test fails under `CI` / `BRIDLE_REQUIRE_POSTGRES`,
/// and is skipped with a message otherwise.
pub fn pg_server() -> Option<String> {
    match std::env::var("BRIDLE_TEST_POSTGRES") {
        Ok(dsn) if !dsn.is_empty() => Some(dsn),
        _ => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("BRIDLE_REQUIRE_POSTGRES").is_some();
            assert!(
                !required,
                "BRIDLE_TEST_POSTGRES is not set, and CI / BRIDLE_REQUIRE_POSTGRES require the \
                 PostgreSQL tests: export BRIDLE_TEST_POSTGRES=\"$(.ci/postgres.sh start)\""
            );
            eprintln!("SKIPPED: PostgreSQL test (set BRIDLE_TEST_POSTGRES; CI requires it)");
            None
        }
    }
}

/// A database created for one test, dropped afterwards.
pub struct PgDb {
    pub dsn: String,
    server: String,
    name: String,
}

impl PgDb {
    pub fn new(server: &str) -> PgDb {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("bridle_cli_{}_{n}", std::process::id());
        let mut c = postgres::Client::connect(server, postgres::NoTls).unwrap();
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
        PgDb {
            dsn: format!("{base}/{name}"),
            server: server.to_owned(),
            name,
        }
    }

    pub fn count(&self, sql: &str) -> i64 {
        let mut c = postgres::Client::connect(&self.dsn, postgres::NoTls).unwrap();
        c.query_one(sql, &[]).unwrap().get(0)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// The bridle command, ready to spawn, with the user's indicators and data folder
/// neutralised (`home` stands in for the home folder).
pub fn command(home: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("bridle"));
    c.env_remove("BRIDLE_IOCS")
        .env_remove("BRIDLE_STORE")
        .env("HOME", home)
        .env("XDG_DATA_HOME", home);
    c
}
