//! `bridle check --case` and `bridle case ...` as processes: the flow on SQLite and
//! PostgreSQL, a store that is down, two checks writing one case at once, and a writer killed
//! in the middle of a write.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn out(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The stores to run against: a SQLite file, and a fresh PostgreSQL database when a server
/// is given.
fn stores(tmp: &Path) -> Vec<(String, Option<PgDb>)> {
    let mut v = vec![(tmp.join("cases.db").display().to_string(), None)];
    if let Some(server) = pg_server() {
        let db = PgDb::new(&server);
        v.push((db.dsn.clone(), Some(db)));
    }
    v
}

#[test]
fn checks_recorded_in_a_case_are_listed_shown_and_rechecked() {
    let shared = shared();
    let (demo_backup, demo_stix) = demo();
    let mvt_backup = shared.join("fixtures/mvt/ios_backup");
    let test_stix = shared.join("fixtures/mvt/stix2/test.stix2");
    let tmp = tempfile::tempdir().unwrap();
    for (store, _db) in stores(tmp.path()) {
        // Without --output: the results go to the store only.
        let o = run(&[
            "check",
            demo_backup.to_str().unwrap(),
            "--only-given-iocs",
            "--case",
            "lab-1",
            "--store",
            &store,
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(
            stderr(&o).contains("Recorded in case \"lab-1\""),
            "{}",
            stderr(&o)
        );
        let results = tmp.path().join(format!("mvt-{}", store.len()));
        let o = run(&[
            "check",
            mvt_backup.to_str().unwrap(),
            "--only-given-iocs",
            "-q",
            "--case",
            "lab-1",
            "--store",
            &store,
            "--output",
            results.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        assert!(results.join("report.html").is_file());

        let o = run(&["case", "list", "--store", &store]);
        assert_eq!(code(&o), 0);
        assert!(
            out(&o).contains("lab-1  2 acquisition(s), 2 run(s)"),
            "{}",
            out(&o)
        );

        let o = run(&[
            "case",
            "recheck",
            "lab-1",
            "--store",
            &store,
            "--only-given-iocs",
            "--iocs",
            demo_stix.to_str().unwrap(),
            "--iocs",
            test_stix.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}{}", out(&o), stderr(&o));
        let text = out(&o);
        assert_eq!(
            text.matches("  NEW ").count(),
            7,
            "4 demo + 3 MVT alerts: {text}"
        );
        assert!(
            text.contains("Demo iPhone") && text.contains("iPhone9,3"),
            "{text}"
        );
        assert!(
            stderr(&o).contains("2 with indicator alerts, 7 new"),
            "{}",
            stderr(&o)
        );

        // Nothing new the second time; the alerts still stand.
        let o = run(&[
            "case",
            "recheck",
            "--all",
            "--store",
            &store,
            "--only-given-iocs",
            "--iocs",
            demo_stix.to_str().unwrap(),
            "--iocs",
            test_stix.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1);
        assert!(stderr(&o).contains("0 new"), "{}", stderr(&o));

        let o = run(&["case", "show", "lab-1", "--store", &store]);
        assert_eq!(code(&o), 0);
        let text = out(&o);
        assert_eq!(text.matches(" recheck ").count(), 4, "{text}");
        assert!(text.contains("3220 records with observables"), "{text}");
        assert!(
            text.contains("de9e59471982"),
            "the indicator file hashes: {text}"
        );

        let o = run(&["case", "show", "nope", "--store", &store]);
        assert_eq!(code(&o), 2);
        assert!(stderr(&o).contains("no case named"), "{}", stderr(&o));
    }
}

#[test]
fn a_store_that_is_down_fails_before_the_check_and_writes_nothing() {
    let (backup, _) = demo();
    let tmp = tempfile::tempdir().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let results = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--only-given-iocs",
        "--case",
        "x",
        "--store",
        &format!("postgres://postgres:secret@127.0.0.1:{port}/db?connect_timeout=5"),
        "--output",
        results.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("cannot open the case store"), "{err}");
    assert!(
        !err.contains("secret"),
        "the password is not printed: {err}"
    );
    assert!(!results.exists(), "the check did not run");
}

#[test]
fn two_checks_writing_one_case_at_once_both_land_complete() {
    let shared = shared();
    let backup = shared.join("fixtures/mvt/ios_backup");
    let tmp = tempfile::tempdir().unwrap();
    for (store, _db) in stores(tmp.path()) {
        let children: Vec<_> = (0..2)
            .map(|_| {
                command(tmp.path())
                    .args([
                        "check",
                        backup.to_str().unwrap(),
                        "--only-given-iocs",
                        "-q",
                        "--case",
                        "same",
                        "--store",
                        &store,
                    ])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let o = c.wait_with_output().unwrap();
            assert_eq!(code(&o), 0, "{}", stderr(&o));
        }
        let o = run(&["case", "show", "same", "--store", &store]);
        let text = out(&o);
        assert_eq!(
            text.matches("3220 records with observables").count(),
            2,
            "{text}"
        );
        assert_eq!(text.matches(" check ").count(), 2, "{text}");
    }
}

/// A results folder large enough that recording it takes a while: `lines` records of two
/// observables each, all distinct.
fn big_results(dir: &Path, lines: usize) -> PathBuf {
    let r = dir.join("big");
    std::fs::create_dir_all(&r).unwrap();
    std::fs::write(
        r.join("info.json"),
        serde_json::json!({"acquisition_kind": "test", "acquisition_path": "/big",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": "2026-01-01T00:00:01Z",
            "bridle_version": "test", "evidence_files": []})
        .to_string(),
    )
    .unwrap();
    std::fs::write(r.join("alerts.json"), b"[]").unwrap();
    let mut obs =
        std::io::BufWriter::new(std::fs::File::create(r.join("observables.jsonl")).unwrap());
    let mut data = std::io::BufWriter::new(std::fs::File::create(r.join("big.json")).unwrap());
    data.write_all(b"[\n").unwrap();
    for i in 0..lines {
        writeln!(
            obs,
            r#"{{"module":"big","record":{i},"source":{{"table":"t","row":"{i}"}},"observables":[{{"kind":"url","value":"https://h{i}.example.com/p/{i}?q={i}","field":"url","level":"CRITICAL"}},{{"kind":"file_path","value":"/private/var/mobile/Library/{i}/a/b/c","field":"path","level":"HIGH"}}]}}"#
        )
        .unwrap();
        if i > 0 {
            data.write_all(b",\n").unwrap();
        }
        write!(
            data,
            r#"{{"n":{i},"url":"https://h{i}.example.com/p/{i}?q={i}"}}"#
        )
        .unwrap();
    }
    data.write_all(b"\n]\n").unwrap();
    drop((obs, data));
    r
}

fn kill_mid_write(store: &str, results: &Path, home: &Path, mut started: impl FnMut() -> bool) {
    let mut child = command(home)
        .args([
            "case",
            "import",
            "big",
            results.to_str().unwrap(),
            "--store",
            store,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while !started() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be interrupted"
        );
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the import never started writing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import ended before it could be interrupted"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_writer_killed_mid_write_leaves_no_partial_case() {
    let tmp = tempfile::tempdir().unwrap();
    let results = big_results(tmp.path(), 150_000);
    // SQLite: killed while its write-ahead log grows.
    let db = tmp.path().join("kill.db");
    let o = run(&["case", "list", "--store", db.to_str().unwrap()]);
    assert_eq!(code(&o), 0, "the store is created empty");
    let wal = tmp.path().join("kill.db-wal");
    kill_mid_write(db.to_str().unwrap(), &results, tmp.path(), || {
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 2_000_000)
    });
    let o = run(&["case", "list", "--store", db.to_str().unwrap()]);
    assert_eq!(code(&o), 0);
    assert!(out(&o).contains("No cases"), "nothing partial: {}", out(&o));
    let conn = rusqlite::Connection::open(&db).unwrap();
    for table in [
        "cases",
        "acquisitions",
        "runs",
        "records",
        "observable_values",
    ] {
        let n: i64 = conn
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 0, "{table}");
    }
    drop(conn);
    // The store is usable afterwards.
    let small = big_results(&tmp.path().join("small"), 10);
    let o = run(&[
        "case",
        "import",
        "big",
        small.to_str().unwrap(),
        "--store",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));

    // PostgreSQL: killed while it copies.
    let Some(server) = pg_server() else { return };
    let pg = PgDb::new(&server);
    let o = run(&["case", "list", "--store", &pg.dsn]);
    assert_eq!(code(&o), 0);
    let name = pg.dsn.rsplit('/').next().unwrap().to_owned();
    let mut watch = postgres::Client::connect(&server, postgres::NoTls).unwrap();
    kill_mid_write(&pg.dsn, &results, tmp.path(), || {
        let rows = watch
            .query(
                "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'COPY%'",
                &[&name],
            )
            .unwrap();
        !rows.is_empty()
    });
    for table in [
        "cases",
        "acquisitions",
        "runs",
        "records",
        "observable_values",
    ] {
        assert_eq!(
            pg.count(&format!("SELECT COUNT(*) FROM {table}")),
            0,
            "{table}"
        );
    }
}
