//! Helpers for the case-store tests: the shared material, a throwaway PostgreSQL database,
//! and results folders made by the real engine from a corpus of observables.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bridle_engine::{Config, NoIndicators, NoProgress, RunInfo};
use bridle_indicators::{IndicatorKind, IndicatorSet};
use bridle_model::{
    Heuristic, Level, Module, ModuleError, ModuleInfo, ModuleOutcome, Observable,
    ObservableKind as K, OutputShape, Record, Sink, Source, TimelineEvent, Timestamp,
};
use std::path::{Path, PathBuf};

/// The shared, read-only project material; panics when it is missing.
pub fn shared() -> PathBuf {
    let dir = std::env::var_os("BRIDLE_SHARED").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared")),
        PathBuf::from,
    );
    assert!(
        dir.join("fixtures").is_dir(),
        "the shared test material is missing at {} (set BRIDLE_SHARED)",
        dir.display()
    );
    dir
}

/// The PostgreSQL server for tests: `BRIDLE_TEST_POSTGRES` (a URL to a database the tests
/// may create databases from, e.g. `postgres://postgres@127.0.0.1:55432/postgres`; start one
/// with `.ci/postgres.sh start`). When it is not set, the PostgreSQL tests fail if `CI` or
/// `BRIDLE_REQUIRE_POSTGRES` is set, and are skipped with a message otherwise.
pub fn pg_server() -> Option<String> {
    match std::env::var("BRIDLE_TEST_POSTGRES") {
        Ok(dsn) if !dsn.is_empty() => Some(dsn),
        _ => {
            let required = std::env::var_os("CI").is_some()
                || std::env::var_os("BRIDLE_REQUIRE_POSTGRES").is_some();
            assert!(
                !required,
                "BRIDLE_TEST_POSTGRES is not set, and CI / BRIDLE_REQUIRE_POSTGRES require the \
                 PostgreSQL tests: run `export BRIDLE_TEST_POSTGRES=\"$(.ci/postgres.sh start)\"`"
            );
            eprintln!(
                "SKIPPED: PostgreSQL test (set BRIDLE_TEST_POSTGRES, see .ci/postgres.sh; CI \
                 requires it)"
            );
            None
        }
    }
}

/// A database created for one test and dropped afterwards.
pub struct PgDb {
    pub dsn: String,
    server: String,
    name: String,
}

impl PgDb {
    pub fn new(server: &str) -> PgDb {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!(
            "bridle_t_{}_{}_{n}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos()
        );
        let mut client = postgres::Client::connect(server, postgres::NoTls)
            .expect("cannot reach the PostgreSQL server of BRIDLE_TEST_POSTGRES");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let base = server.rsplit_once('/').map_or(server, |(b, _)| b);
        PgDb {
            dsn: format!("{base}/{name}"),
            server: server.to_owned(),
            name,
        }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.dsn, postgres::NoTls).unwrap()
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.client().query_one(sql, &[]).unwrap().get(0)
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

/// The public indicator files of the shared material.
pub fn shared_iocs() -> IndicatorSet {
    let report = IndicatorSet::load(&[shared().join("iocs")]);
    assert!(report.set.len() > 1000);
    report.set
}

/// Observables derived from indicators so that every matching rule is exercised, plus
/// near misses (the same derivation as bridle-indicators' probe-key test).
pub fn corpus(set: &IndicatorSet, limit: usize) -> Vec<Observable> {
    let mut out = Vec::new();
    let mut push = |kind, value: String| out.push(Observable::new(kind, value, "test"));
    for i in set.indicators().iter().take(limit) {
        let v = i.value.trim().to_owned();
        match i.kind {
            IndicatorKind::Domain => {
                push(K::Domain, format!("x.y.{v}"));
                push(K::Domain, format!("not{v}"));
                push(K::Url, format!("https://cdn.{v}:443/p?q=1#f"));
            }
            IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => {
                let addr = v.split('/').next().unwrap().to_owned();
                push(K::Ip, addr.clone());
                push(K::Url, format!("http://{addr}:8080/x"));
            }
            IndicatorKind::Url => {
                push(K::Url, format!("{v}?utm_source=x"));
                push(K::Url, format!("{v}/more"));
            }
            IndicatorKind::Process => {
                push(K::Process, format!("/usr/libexec/{v}"));
                if let Some(p) = v.get(..15) {
                    push(K::Process, p.to_owned());
                }
            }
            IndicatorKind::FileName => push(K::FilePath, format!("/private/var/tmp/{v}")),
            IndicatorKind::FilePath => {
                push(K::FilePath, format!("{v}/child"));
                push(K::FilePath, format!("{v}x"));
            }
            IndicatorKind::FileMd5 | IndicatorKind::FileSha1 | IndicatorKind::FileSha256 => {
                push(K::FileHash, v.to_uppercase());
            }
            IndicatorKind::CertMd5 | IndicatorKind::CertSha1 | IndicatorKind::CertSha256 => {
                push(K::CertHash, v.to_uppercase());
            }
            IndicatorKind::Email => push(K::Email, format!("mailto:{}", v.to_uppercase())),
            IndicatorKind::AppId => push(K::AppId, v.to_uppercase()),
            IndicatorKind::ProfileId => push(K::ProfileId, v.to_lowercase()),
            IndicatorKind::AndroidProperty => push(K::AndroidProperty, v.to_uppercase()),
        }
    }
    out
}

/// A module that streams given observables as records of `group` observables each, with a
/// time and, on every tenth record, a heuristic alert.
pub struct CorpusModule {
    pub slug: &'static str,
    pub observables: Vec<Observable>,
    pub group: usize,
}

impl Module for CorpusModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo {
            slug: self.slug,
            name: "Corpus",
            description: "test records",
            shape: OutputShape::List,
        }
    }

    fn run(&self, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
        for (n, chunk) in self.observables.chunks(self.group.max(1)).enumerate() {
            let mut r = Record::new(Source {
                file: None,
                table: Some("corpus".into()),
                row: Some(n.to_string()),
            });
            r.set("n", n as u64);
            r.set(
                "values",
                chunk.iter().map(|o| o.value.clone()).collect::<Vec<_>>(),
            );
            for o in chunk {
                r.observe(o.clone());
            }
            let t = Timestamp::from_unix_seconds(1_700_000_000 + n as i64 * 60);
            r.event(TimelineEvent::new(t, "seen", format!("record {n}")));
            if n % 10 == 0 {
                r.alert(Heuristic::new(Level::High, format!("heuristic on {n}")).at(t));
            }
            sink.record(r);
        }
        Ok(ModuleOutcome::Done)
    }
}

/// A results folder made by the engine from modules, with no indicators.
pub fn results_of(dir: &Path, modules: Vec<Box<dyn Module>>) -> PathBuf {
    let out = dir.join("results");
    let config = Config {
        output: Some(out.clone()),
        jobs: 2,
        ..Config::default()
    };
    let info = RunInfo {
        bridle_version: "test".into(),
        acquisition_kind: "test".into(),
        acquisition_path: "/nowhere".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        ..RunInfo::default()
    };
    let files = || (Vec::new(), Vec::new());
    bridle_engine::run(modules, &NoIndicators, &config, &info, &files, &NoProgress).unwrap();
    bridle_engine::manifest::write(&out).unwrap();
    out
}

/// The engine's matcher over an indicator set (what `bridle check` plugs in).
pub struct SetMatcher(pub bridle_indicators::Matcher);

impl bridle_engine::Matcher for SetMatcher {
    fn match_record(&self, observables: &[Observable]) -> Vec<(usize, bridle_model::IndicatorRef)> {
        self.0
            .match_record(observables)
            .iter()
            .filter_map(|h| {
                self.0
                    .indicator_ref(h, observables)
                    .map(|r| (h.observable, r))
            })
            .collect()
    }
}
