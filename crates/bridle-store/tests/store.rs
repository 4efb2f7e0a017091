//! The case store on SQLite and on a real PostgreSQL server: the set-based join gives the
//! matcher's hits, a stored re-check gives the same alerts as `bridle recheck`, writes are
//! all-or-nothing, concurrent writers are serialised, migrations are versioned.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_engine::recheck::{RecheckConfig, RecheckInfo};
use bridle_indicators::IndicatorSet;
use bridle_model::{Alert, Observable, ObservableKind as K};
use bridle_store::{Location, RecheckRun, Scope, Store, StoreError};
use common::*;
use std::collections::BTreeMap;
use std::path::Path;

/// The stores to test: a SQLite file, and a fresh PostgreSQL database when a server is
/// available (see `common::pg_server`).
fn stores(tmp: &Path) -> Vec<(Location, Option<PgDb>)> {
    let mut out = vec![(Location::Sqlite(tmp.join("cases.db")), None)];
    if let Some(server) = pg_server() {
        let db = PgDb::new(&server);
        out.push((Location::Postgres(db.dsn.clone()), Some(db)));
    }
    out
}

fn run_info() -> RecheckRun {
    RecheckRun {
        bridle_version: "test".into(),
        command_line: vec!["test".into()],
        indicator_files: Vec::new(),
        started_at: "2026-01-01T00:00:00Z".into(),
    }
}

/// The matcher's hits over the records of a results folder's observables.jsonl:
/// (module, record, observable position, indicator index, rule).
fn matcher_hits(results: &Path, set: &IndicatorSet) -> Vec<(String, u64, u64, usize, String)> {
    let m = set.compile();
    let mut out = Vec::new();
    let text = std::fs::read_to_string(results.join("observables.jsonl")).unwrap();
    for line in text.lines() {
        let l = bridle_engine::results::parse_line(line.as_bytes()).unwrap();
        for h in m.match_record(&l.observables) {
            out.push((
                l.module.clone(),
                l.record,
                h.observable as u64,
                h.indicator.index(),
                h.rule.as_str().to_owned(),
            ));
        }
    }
    out.sort();
    out
}

fn corpus_results(tmp: &Path, set: &IndicatorSet, limit: usize) -> std::path::PathBuf {
    let observables = corpus(set, limit);
    let half = observables.len() / 2;
    results_of(
        tmp,
        vec![
            Box::new(CorpusModule {
                slug: "singles",
                observables: observables[..half].to_vec(),
                group: 1,
            }),
            Box::new(CorpusModule {
                slug: "groups",
                observables: observables[half..].to_vec(),
                group: 7,
            }),
        ],
    )
}

#[test]
fn the_join_of_stored_keys_gives_exactly_the_matcher_hits() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let results = corpus_results(tmp.path(), &set, usize::MAX);
    let want = matcher_hits(&results, &set);
    assert!(want.len() > 1000, "the corpus matches: {}", want.len());
    let rules: std::collections::BTreeSet<&str> = want.iter().map(|h| h.4.as_str()).collect();
    assert!(rules.len() >= 7, "many rules exercised: {rules:?}");
    for (location, _db) in stores(tmp.path()) {
        let mut store = Store::open(&location).unwrap();
        store.record("corpus", &results).unwrap();
        let mut got: Vec<(String, u64, u64, usize, String)> = store
            .join_hits(&Scope::Case("corpus".into()), &set)
            .unwrap()
            .into_iter()
            .map(|h| {
                (
                    h.module,
                    h.record_index,
                    h.position,
                    h.indicator,
                    h.rule.as_str().to_owned(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got.len(), want.len(), "{}", location.describe());
        assert_eq!(got, want, "{}", location.describe());
    }
}

#[test]
fn clauses_need_every_comparison_in_one_record() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = serde_json::json!({"type": "bundle", "id": "bundle--c", "objects": [
        {"type": "indicator", "id": "indicator--and", "pattern_type": "stix",
         "pattern": "[domain-name:value = 'both.net'] AND [process:name = 'bothd']"},
        {"type": "indicator", "id": "indicator--cidr", "pattern_type": "stix",
         "pattern": "[ipv4-addr:value = '198.51.100.0/24']"}]});
    let set = IndicatorSet::from_bytes("c.stix2", bundle.to_string().as_bytes()).set;
    let obs = |k, v: &str| Observable::new(k, v, "f");
    let results = results_of(
        tmp.path(),
        vec![Box::new(CorpusModule {
            slug: "m",
            // Record 0 has both halves of the clause; record 1 only one; record 2 an IP.
            observables: vec![
                obs(K::Url, "https://a.both.net/"),
                obs(K::Process, "bothd"),
                obs(K::Domain, "both.net"),
                obs(K::Process, "other"),
                obs(K::Ip, "198.51.100.77"),
                obs(K::Ip, "198.51.101.1"),
            ],
            group: 2,
        })],
    );
    let want = matcher_hits(&results, &set);
    assert_eq!(want.len(), 3, "{want:?}");
    for (location, _db) in stores(tmp.path()) {
        let mut store = Store::open(&location).unwrap();
        store.record("c", &results).unwrap();
        let mut got: Vec<_> = store
            .join_hits(&Scope::All, &set)
            .unwrap()
            .into_iter()
            .map(|h| {
                (
                    h.module,
                    h.record_index,
                    h.position,
                    h.indicator,
                    h.rule.as_str().to_owned(),
                )
            })
            .collect();
        got.sort();
        assert_eq!(got, want, "{}", location.describe());
    }
}

fn without_new(alerts: &[Alert]) -> Vec<String> {
    let mut v: Vec<String> = alerts
        .iter()
        .filter(|a| a.matched_indicator.is_some())
        .map(|a| serde_json::to_string(a).unwrap())
        .collect();
    v.sort();
    v
}

#[test]
fn a_stored_recheck_gives_the_alerts_of_bridle_recheck_and_marks_what_is_new() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let results = corpus_results(tmp.path(), &set, 400);
    // bridle recheck on the folder.
    let summary = bridle_engine::recheck::recheck(
        &RecheckConfig {
            results: results.clone(),
            output: Some(tmp.path().join("recheck")),
            jobs: 2,
        },
        &SetMatcher(set.compile()),
        &RecheckInfo::default(),
    )
    .unwrap();
    let engine_alerts = without_new(&summary.alerts);
    assert!(engine_alerts.len() > 100);
    for (location, _db) in stores(tmp.path()) {
        let mut store = Store::open(&location).unwrap();
        store.record("case", &results).unwrap();
        let devices = store
            .recheck(&Scope::Case("case".into()), &set, &run_info())
            .unwrap();
        assert_eq!(devices.len(), 1);
        let d = &devices[0];
        assert_eq!(
            without_new(&d.new_alerts),
            engine_alerts,
            "{}",
            location.describe()
        );
        assert_eq!(d.indicator_alerts, engine_alerts.len());
        assert!(d.severe_heuristics > 0, "heuristics are carried over");
        // Again: nothing new.
        let again = store.recheck(&Scope::All, &set, &run_info()).unwrap();
        assert!(again[0].new_alerts.is_empty());
        assert_eq!(again[0].removed, 0);
        // With no indicators: every indicator alert is gone, none new.
        let empty = IndicatorSet::default();
        let none = store.recheck(&Scope::All, &empty, &run_info()).unwrap();
        assert_eq!(none[0].indicator_alerts, 0);
        assert_eq!(none[0].removed, engine_alerts.len());
        let case = store.case("case").unwrap();
        assert_eq!(case.acquisitions[0].runs.len(), 4);
        assert_eq!(
            case.acquisitions[0].runs[1].new_alerts as usize,
            engine_alerts.len()
        );
        assert!(matches!(
            store.recheck(&Scope::Case("nope".into()), &set, &run_info()),
            Err(StoreError::NoCase(_))
        ));
    }
}

#[test]
fn two_writers_on_the_same_case_at_once_are_serialised() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let a = corpus_results(&tmp.path().join("a"), &set, 300);
    let b = corpus_results(&tmp.path().join("b"), &set, 600);
    for (location, _db) in stores(tmp.path()) {
        // Create the schema first so both writers race on the case itself.
        drop(Store::open(&location).unwrap());
        let handles: Vec<_> = [a.clone(), b.clone(), a.clone(), b.clone()]
            .into_iter()
            .map(|results| {
                let location = location.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&location).unwrap();
                    store.record("shared", &results).unwrap()
                })
            })
            .collect();
        let recorded: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let mut store = Store::open(&location).unwrap();
        let case = store.case("shared").unwrap();
        assert_eq!(case.acquisitions.len(), 4, "{}", location.describe());
        for (acq, rec) in case.acquisitions.iter().zip({
            let mut r = recorded.clone();
            r.sort_by_key(|r| r.acquisition_id);
            r
        }) {
            assert_eq!(
                acq.records as u64, rec.records,
                "every acquisition is complete"
            );
            assert_eq!(acq.runs.len(), 1);
        }
        // The same values were seen by two writers each: stored once, probed from both.
        let hits = store.join_hits(&Scope::All, &set).unwrap();
        let per_acquisition: BTreeMap<i64, usize> =
            hits.iter().fold(BTreeMap::new(), |mut m, h| {
                *m.entry(h.acquisition_id).or_default() += 1;
                m
            });
        let counts: Vec<usize> = per_acquisition.values().copied().collect();
        assert_eq!(counts.len(), 4);
        let mut sorted = counts.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted[0], sorted[1],
            "the two copies of a match alike: {counts:?}"
        );
        assert_eq!(sorted[2], sorted[3], "{counts:?}");
    }
}

#[test]
fn migrations_are_recorded_and_a_newer_store_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("m.db");
    let location = Location::Sqlite(path.clone());
    drop(Store::open(&location).unwrap());
    drop(Store::open(&location).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let versions: Vec<(i64, String)> = conn
        .prepare("SELECT version, name FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(versions, vec![(1, "init".to_owned())]);
    conn.execute(
        "INSERT INTO schema_migrations VALUES (99, 'future', 'x')",
        [],
    )
    .unwrap();
    drop(conn);
    let err = Store::open(&location).unwrap_err();
    assert!(matches!(err, StoreError::TooNew { found: 99, .. }), "{err}");
}

#[test]
fn probe_keys_of_another_version_are_derived_again() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let results = corpus_results(tmp.path(), &set, 200);
    let path = tmp.path().join("p.db");
    let location = Location::Sqlite(path.clone());
    let before = {
        let mut store = Store::open(&location).unwrap();
        store.record("p", &results).unwrap();
        store.join_hits(&Scope::All, &set).unwrap()
    };
    assert!(!before.is_empty());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DELETE FROM value_probes; DELETE FROM probe_keys;
         UPDATE store_meta SET value = '0' WHERE key = 'probe_keys_version';",
    )
    .unwrap();
    drop(conn);
    let mut store = Store::open(&location).unwrap();
    assert_eq!(store.join_hits(&Scope::All, &set).unwrap(), before);
}

#[test]
fn damaged_results_are_refused_or_stored_with_their_problems_named() {
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let results = corpus_results(tmp.path(), &set, 100);
    let location = Location::Sqlite(tmp.path().join("d.db"));
    let mut store = Store::open(&location).unwrap();

    // A folder that is not results at all.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let err = store.record("d", &empty).unwrap_err().to_string();
    assert!(err.contains("info.json"), "{err}");

    // observables.jsonl missing.
    let broken = tmp.path().join("broken");
    copy(&results, &broken);
    std::fs::remove_file(broken.join("observables.jsonl")).unwrap();
    let err = store.record("d", &broken).unwrap_err().to_string();
    assert!(err.contains("observables.jsonl"), "{err}");
    assert!(
        store.cases().unwrap().is_empty(),
        "nothing partial was stored"
    );

    // A module file cut in the middle, and a garbage line: stored, problems named.
    let cut = tmp.path().join("cut");
    copy(&results, &cut);
    let groups = std::fs::read(cut.join("groups.json")).unwrap();
    std::fs::write(cut.join("groups.json"), &groups[..groups.len() / 2]).unwrap();
    let mut lines = std::fs::read_to_string(cut.join("observables.jsonl")).unwrap();
    lines.push_str("{\"module\": \"../../etc\", \"record\": 1, \"observables\": []}\nnot json\n");
    std::fs::write(cut.join("observables.jsonl"), lines).unwrap();
    let recorded = store.record("d", &cut).unwrap();
    let problems = recorded.problems.join("\n");
    assert!(problems.contains("groups.json"), "{problems}");
    assert!(problems.contains("truncated"), "{problems}");
    assert!(problems.contains("module name"), "{problems}");
    assert_eq!(recorded.problems.len(), 3, "{problems}");
    // The records are there (without data past the cut), so they are still re-checked.
    let hits = store.join_hits(&Scope::All, &set).unwrap();
    assert!(hits.iter().any(|h| h.module == "groups"));

    // A re-check folder is not a check.
    let summary = bridle_engine::recheck::recheck(
        &RecheckConfig {
            results: results.clone(),
            output: None,
            jobs: 1,
        },
        &SetMatcher(set.compile()),
        &RecheckInfo::default(),
    )
    .unwrap();
    let err = store.record("d", &summary.output).unwrap_err().to_string();
    assert!(err.contains("re-check"), "{err}");
}

fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn a_postgres_server_that_is_down_is_an_error_not_a_hang() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let location = Location::Postgres(format!(
        "postgres://postgres@127.0.0.1:{port}/x?connect_timeout=5"
    ));
    let started = std::time::Instant::now();
    let err = Store::open(&location).unwrap_err();
    assert!(matches!(err, StoreError::Postgres(_)), "{err}");
    assert!(started.elapsed().as_secs() < 10);
}

/// Forwards connections to a server and cuts them once `limit` bytes went from the client
/// to the server: a connection that drops in the middle of a write.
fn cutting_proxy(target: String, limit: usize) -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let Ok(mut server) = std::net::TcpStream::connect(&target) else {
                return;
            };
            let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = s2.read(&mut buf) {
                    if n == 0 || c2.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c2.shutdown(std::net::Shutdown::Both);
            });
            let sent = sent.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = client.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let total = sent.fetch_add(n, std::sync::atomic::Ordering::SeqCst) + n;
                    if total > limit {
                        // Drop both ends in the middle of the stream.
                        let _ = server.shutdown(std::net::Shutdown::Both);
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        break;
                    }
                    if server.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_postgres_connection_that_drops_mid_write_leaves_no_partial_case() {
    let Some(server) = pg_server() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let set = shared_iocs();
    let results = corpus_results(tmp.path(), &set, usize::MAX);
    let db = PgDb::new(&server);
    // The schema exists already: the proxy only sees the write.
    drop(Store::open(&Location::Postgres(db.dsn.clone())).unwrap());
    let url = url_parts(&db.dsn);
    let port = cutting_proxy(url.0.clone(), 200_000);
    let through = format!("postgres://{}@127.0.0.1:{port}/{}", url.1, url.2);
    let mut store = Store::open(&Location::Postgres(through)).unwrap();
    let err = store.record("dropped", &results).unwrap_err();
    assert!(
        matches!(err, StoreError::Postgres(_) | StoreError::PostgresIo(_)),
        "{err}"
    );
    // Nothing of the case is in the database.
    assert_eq!(db.count("SELECT COUNT(*) FROM cases"), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM acquisitions"), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM records"), 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM observable_values"), 0);
    // And the store works for the next writer.
    let mut direct = Store::open(&Location::Postgres(db.dsn.clone())).unwrap();
    let ok = direct.record("dropped", &results).unwrap();
    assert!(ok.records > 100);
    assert_eq!(db.count("SELECT COUNT(*) FROM acquisitions"), 1);
}

/// (host:port, user, database) of a `postgres://user@host:port/db` URL.
fn url_parts(dsn: &str) -> (String, String, String) {
    let rest = dsn.split_once("://").unwrap().1;
    let (auth, db) = rest.split_once('/').unwrap();
    let (user, host) = auth.rsplit_once('@').unwrap();
    (host.to_owned(), user.to_owned(), db.to_owned())
}

/// Several checks starting at once on a store that does not exist yet: each opens it (one
/// creates it and switches it to WAL while the others wait), none fails with "locked".
#[test]
fn a_new_store_opened_by_several_writers_at_once_opens_for_all() {
    let tmp = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let location = Location::Sqlite(tmp.path().join(format!("new-{round}.db")));
        let start = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let location = location.clone();
                let start = std::sync::Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    Store::open(&location).map(drop)
                })
            })
            .collect();
        for h in handles {
            let opened = h.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {:?}", opened.err());
        }
        let mut store = Store::open(&location).unwrap();
        assert!(store.cases().unwrap().is_empty());
    }
}
