//! Filesystem dumps: recall on a generated dump (shared/bench/gen_ios_fs.py) for the
//! fs-only modules and tcc/sms, MVT's fs test cases, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "iosfs/support.rs"]
mod support;

use bridle_evidence::{EvidenceLog, Limits};
use bridle_ios::modules::{
    analytics, cache_files, filesystem, fs_module_infos, fs_modules, netusage, shutdown_log,
};
use bridle_ios::{FileNameIndex, Ios};
use bridle_model::{Level, ModuleOutcome, ObservableKind, ProblemKind, Record, VecSink};
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use support::*;

/// The modules this branch owns (fs-only modules plus tcc and sms).
const OWNED: [&str; 13] = [
    "cache_files",
    "filesystem",
    "netusage",
    "analytics",
    "analytics_ios_versions",
    "safari_favicon",
    "shutdown_log",
    "ios_version_history",
    "webkit_indexeddb",
    "webkit_local_storage",
    "webkit_safari_view_service",
    "tcc",
    "sms",
];

/// The generated dump, made once for all tests of this file.
fn dump() -> &'static (PathBuf, Json) {
    static DUMP: OnceLock<(PathBuf, Json)> = OnceLock::new();
    DUMP.get_or_init(|| {
        let dir = scratch("dump");
        let out = dir.join("dump");
        let iocs = shared().join("iocs");
        generate(
            "gen_ios_fs.py",
            &[
                "--out",
                out.to_str().unwrap(),
                "--seed",
                "1",
                "--sms",
                "2000",
                "--history",
                "2000",
                "--processes",
                "100",
                "--files",
                "200",
                "--whatsapp",
                "1000",
                "--plant",
                iocs.to_str().unwrap(),
                "--plant-count",
                "50",
            ],
        );
        let t = truth(&dir.join("dump.truth.json"));
        (out, t)
    })
}

/// Whether a record is the one a truth entry describes.
fn is_record(module: &str, r: &Record, want: &Json) -> bool {
    let w = |k: &str| want.get(k).cloned().unwrap_or(Json::Null);
    let ws = |k: &str| {
        want.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let base = |p: &str| p.rsplit('/').next().unwrap_or_default().to_owned();
    match module {
        "filesystem" => s(r, "path") == ws("path"),
        "cache_files" => s(r, "cache_file") == ws("db") && r.data["entry_id"] == w("entry_id"),
        "netusage" => r.data["proc_id"] == w("Z_PK"),
        "analytics" => {
            s(r, "artifact") == base(&ws("db"))
                && s(r, "uuid") == ws("uuid")
                && r.source.table.as_deref() == Some(ws("table").as_str())
        }
        "safari_favicon" => {
            let kind = if ws("table") == "page_url" {
                "valid"
            } else {
                "rejected"
            };
            s(r, "url") == ws("url") && s(r, "type") == kind
        }
        "shutdown_log" => s(r, "client") == ws("client"),
        "webkit_indexeddb" | "webkit_local_storage" | "webkit_safari_view_service" => {
            s(r, "folder") == ws("folder") && s(r, "name") == ws("name")
        }
        "tcc" => s(r, "client") == ws("client") && s(r, "service") == ws("service"),
        "sms" => r.data_map()["ROWID"] == w("ROWID"),
        other => panic!("no record rule for {other}"),
    }
}

fn run_dump() -> &'static Results {
    static RUN: OnceLock<Results> = OnceLock::new();
    RUN.get_or_init(|| {
        let (path, _) = dump();
        let ios = open_fs(path);
        run_all(fs_modules(&ios))
    })
}

#[test]
fn every_planted_indicator_of_owned_modules_is_found_on_its_record() {
    let (path, t) = dump();
    let before = tree_hash(path);
    let results = run_dump();
    let m = matcher(&[shared().join("iocs")]);
    let mut checked = 0;
    let mut missed = Vec::new();
    for p in t["planted"].as_array().unwrap() {
        let module = p["module"].as_str().unwrap();
        if !OWNED.contains(&module) {
            continue;
        }
        checked += 1;
        let (outcome, sink) = &results[module];
        assert_eq!(outcome.as_ref().unwrap(), &ModuleOutcome::Done, "{module}");
        let value = p["value"].as_str().unwrap();
        let id = p["indicator_id"].as_str().unwrap();
        let records: Vec<&Record> = sink
            .records
            .iter()
            .filter(|r| is_record(module, r, &p["record"]))
            .collect();
        let found = records.iter().any(|r| {
            hits(&m, r)
                .iter()
                .any(|h| h.stix_id == id || h.value == value)
        });
        if !found {
            missed.push(format!(
                "{} {module} {value} ({} records)",
                p["id"],
                records.len()
            ));
        }
    }
    assert!(checked >= 30, "only {checked} plants in owned modules");
    assert!(missed.is_empty(), "missed: {missed:#?}");
    assert_eq!(before, tree_hash(path), "the dump was modified");
}

#[test]
fn no_decoy_of_owned_modules_is_flagged() {
    let (_, t) = dump();
    let results = run_dump();
    let m = matcher(&[shared().join("iocs")]);
    let mut checked = 0;
    for d in t["decoys"].as_array().unwrap() {
        let module = d["module"].as_str().unwrap();
        if !OWNED.contains(&module) {
            continue;
        }
        let (_, sink) = &results[module];
        let records: Vec<&Record> = sink
            .records
            .iter()
            .filter(|r| is_record(module, r, &d["record"]))
            .collect();
        assert!(!records.is_empty(), "decoy {} has no record", d["id"]);
        checked += 1;
        for r in records {
            let h = hits(&m, r);
            assert!(
                h.is_empty(),
                "decoy {} ({}) flagged: {:?}",
                d["id"],
                d["value"],
                h.iter()
                    .map(|h| (&h.value, &h.match_rule))
                    .collect::<Vec<_>>()
            );
        }
    }
    assert!(checked >= 20, "only {checked} decoys");
}

#[test]
fn every_heuristic_trigger_of_owned_modules_fires_and_nothing_else() {
    let (_, t) = dump();
    let results = run_dump();
    let mut expected_clients = BTreeSet::new();
    let mut expected_absent = BTreeSet::new();
    let mut delay_times = BTreeSet::new();
    for h in t["heuristics"].as_array().unwrap() {
        let module = h["module"].as_str().unwrap();
        if !OWNED.contains(&module) {
            continue;
        }
        let (_, sink) = &results[module];
        match h["kind"].as_str().unwrap() {
            kind @ ("shutdown_client_private_var_db" | "shutdown_client_private_var_tmp") => {
                let dir = if kind.ends_with("db") {
                    "/private/var/db/"
                } else {
                    "/private/var/tmp/"
                };
                let client = h["record"]["client"].as_str().unwrap();
                let records: Vec<&Record> = sink
                    .records
                    .iter()
                    .filter(|r| s(r, "client") == client)
                    .collect();
                let events = h["record"]["events"].as_array().unwrap();
                assert_eq!(records.len(), events.len(), "{}", h["id"]);
                for r in &records {
                    assert!(
                        has_heuristic(r, Level::High, dir),
                        "{} not flagged",
                        h["id"]
                    );
                    if events.len() > 1 {
                        assert!(
                            has_heuristic(
                                r,
                                Level::High,
                                &format!("listed in {} shutdowns", events.len())
                            ),
                            "{} not sticky",
                            h["id"]
                        );
                    }
                }
                expected_clients.insert(client.to_owned());
            }
            "shutdown_delay_anomaly" => {
                let when = bridle_model::Timestamp::from_unix_seconds(
                    h["record"]["sigterm"].as_i64().unwrap(),
                )
                .unwrap()
                .to_mvt();
                let fired = sink
                    .records
                    .iter()
                    .any(|r| s(r, "isodate") == when && has_heuristic(r, Level::Low, "waited"));
                assert!(fired, "{} delay anomaly not raised", h["id"]);
                delay_times.insert(when);
            }
            "process_binary_absent" => {
                let pk = &h["record"]["Z_PK"];
                let r = sink
                    .records
                    .iter()
                    .find(|r| &r.data["proc_id"] == pk)
                    .unwrap_or_else(|| panic!("{} has no record", h["id"]));
                assert!(
                    has_heuristic(r, Level::Medium, "Could not find the binary"),
                    "{} not flagged",
                    h["id"]
                );
                expected_absent.insert(pk.as_i64().unwrap());
            }
            other => panic!("unexpected heuristic kind {other}"),
        }
    }
    // Precision: no other shutdown client, delay or netusage process is flagged; in
    // particular not the daemons whose 16-character names the kernel truncated, which MVT
    // reports (`mvt_benign_alerts`).
    let shutdown = &results["shutdown_log"].1;
    let flagged: BTreeSet<String> = shutdown
        .records
        .iter()
        .filter(|r| r.heuristics.iter().any(|h| h.level == Level::High))
        .map(|r| s(r, "client").to_owned())
        .collect();
    assert_eq!(flagged, expected_clients);
    let delays: BTreeSet<String> = shutdown
        .records
        .iter()
        .filter(|r| has_heuristic(r, Level::Low, "waited"))
        .map(|r| s(r, "isodate").to_owned())
        .collect();
    assert_eq!(delays, delay_times);
    let net = &results["netusage"].1;
    let absent: BTreeSet<i64> = net
        .records
        .iter()
        .filter(|r| has_heuristic(r, Level::Medium, "Could not find the binary"))
        .filter_map(|r| r.data["proc_id"].as_i64())
        .collect();
    assert_eq!(absent, expected_absent);
    let benign: Vec<&Json> = t["mvt_benign_alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["module"] == "netusage")
        .collect();
    assert!(!benign.is_empty());
    for b in benign {
        assert!(!absent.contains(&b["proc_id"].as_i64().unwrap()));
    }
}

#[test]
fn every_owned_module_reads_the_dump_without_problems() {
    let (path, t) = dump();
    let results = run_dump();
    for slug in OWNED {
        let (outcome, sink) = &results[slug];
        assert_eq!(outcome.as_ref().unwrap(), &ModuleOutcome::Done, "{slug}");
        assert!(sink.problems.is_empty(), "{slug}: {:?}", sink.problems);
        assert!(!sink.records.is_empty(), "{slug} has no records");
    }
    let stats = &t["stats"];
    let count = |slug: &str| results[slug].1.records.len() as u64;
    // Every file, folder and link of the dump, once.
    assert_eq!(count("filesystem"), tree_hash(path).len() as u64);
    assert_eq!(
        count("cache_files"),
        stats["cache_files"]["responses"].as_u64().unwrap()
    );
    assert_eq!(
        count("ios_version_history"),
        stats["ios_version_history"]["journals"].as_u64().unwrap()
    );
    // Analytics builds: one record per build, each with its version learnt from the dump.
    let builds: Vec<&str> = stats["analytics"]["builds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap())
        .collect();
    let versions = &results["analytics_ios_versions"].1.records;
    let seen: BTreeSet<&str> = versions.iter().map(|r| s(r, "build")).collect();
    assert_eq!(seen, builds.iter().copied().collect());
    assert!(
        versions
            .iter()
            .filter(|r| s(r, "version").is_empty())
            .count()
            <= 1
    );
    let shutdowns: BTreeSet<&str> = results["shutdown_log"]
        .1
        .records
        .iter()
        .map(|r| s(r, "isodate"))
        .collect();
    assert_eq!(
        shutdowns.len() as u64,
        stats["shutdown_log"]["reboots"].as_u64().unwrap()
    );
    // Every record's timeline uses MVT's event names.
    for r in &results["shutdown_log"].1.records {
        assert_eq!(r.timeline[0].event, "shutdown");
        assert!(
            r.timeline[0]
                .data
                .ends_with("was running when the device was shut down")
        );
    }
    assert!(
        results["webkit_safari_view_service"]
            .1
            .timeline()
            .next()
            .is_none()
    );
}

#[test]
fn fs_module_list_is_mvt_order_and_matches_infos() {
    let (path, _) = dump();
    let ios = open_fs(path);
    let slugs: Vec<&str> = fs_modules(&ios).iter().map(|m| m.info().slug).collect();
    let infos: Vec<&str> = fs_module_infos().iter().map(|i| i.slug).collect();
    assert_eq!(slugs, infos);
    assert_eq!(&slugs[..11], &OWNED[..11]);
    assert_eq!(
        fs_module_infos()
            .iter()
            .find(|i| i.slug == "analytics_ios_versions")
            .unwrap()
            .name,
        "AnalyticsIOSVersions"
    );
}

#[test]
fn file_name_index_is_built_once_and_knows_truncated_names() {
    let (path, _) = dump();
    let ios = open_fs(path);
    let a = ios.file_names().unwrap() as *const FileNameIndex;
    let b = ios.file_names().unwrap() as *const FileNameIndex;
    assert_eq!(a, b, "the index is shared, not rebuilt");
    let idx = ios.file_names().unwrap();
    assert!(idx.is_complete());
    assert!(idx.contains("netusage.sqlite"));
    // containermanagerd, truncated by the kernel to 16 bytes in DataUsage.
    assert!(idx.binary_present("containermanager"));
    assert!(!idx.binary_present("nsurlproxyd"));
    // A backup has no device tree: no index.
    let backup = common::open(&common::mvt_backup());
    assert!(backup.file_names().is_none());
}

// ---- MVT's own fs test cases (reference/mvt-features.md §5.2) --------------------------

/// A dump holding MVT's ios_backup fixture tree under its root, with the `private/var`
/// folders that make it a dump.
fn mvt_fixture_as_dump() -> PathBuf {
    let dir = scratch("mvt-fixture-dump");
    common::copy_tree(&common::mvt_backup(), &dir);
    std::fs::create_dir_all(dir.join("private/var")).unwrap();
    dir
}

#[test]
fn filesystem_lists_mvt_fixture_entries_and_flags_a_process_component() {
    let dir = mvt_fixture_as_dump();
    let ios = open_fs(&dir);
    let (outcome, sink) = common::run(&filesystem::Filesystem::new(Arc::clone(&ios)));
    assert_eq!(outcome, ModuleOutcome::Done);
    // MVT: 23 entries (10 folders + 13 files); plus private/ and private/var here.
    assert_eq!(sink.records.len(), 25);
    assert_eq!(sink.timeline().count(), 25);
    assert!(sink.timeline().all(|e| e.event == "entry_modified"));
    // MVT's detection test: the TCC blob's name as a process indicator → one alert.
    let m = matcher_from(&stix(&[(
        "process:name",
        "64d0019cb3d46bfc8cce545a8ba54b93e7ea9347",
    )]));
    let flagged: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| !hits(&m, r).is_empty())
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        s(flagged[0], "path"),
        "64/64d0019cb3d46bfc8cce545a8ba54b93e7ea9347"
    );
    // The same record's file path matches an absolute path indicator (MVT cannot).
    let m = matcher_from(&stix(&[("file:path", "/64/")]));
    assert_eq!(
        sink.records
            .iter()
            .filter(|r| !hits(&m, r).is_empty())
            .count(),
        2
    );
    // --fast: no process-name check.
    let ios = Arc::new(
        Ios::open_fs(&dir, EvidenceLog::new(), Limits::default())
            .unwrap()
            .with_fast(true),
    );
    let (_, fast) = common::run(&filesystem::Filesystem::new(ios));
    assert!(fast.records.iter().all(|r| {
        r.observables
            .iter()
            .all(|o| o.kind == ObservableKind::FilePath)
    }));
}

/// Writes a file, creating its folders.
fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

fn sqlite(root: &Path, rel: &str, sql: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    let c = rusqlite::Connection::open(&p).unwrap();
    c.execute_batch(sql).unwrap();
}

const UUID_A: &str = "0A1B2C3D-0000-4000-8000-000000000001";

#[test]
fn shutdown_log_and_rotation_like_mvt_test() {
    let dir = scratch("mvt-shutdown");
    put(
        &dir,
        "private/var/db/diagnostics/shutdown.log",
        b"After 1.00s, these clients are still here:\n\t\tremaining client pid: 10 (/usr/libexec/first/AAAAAAAA-0000-4000-8000-000000000001)\nSIGTERM: [1700000000] All buffers flushed\n",
    );
    put(
        &dir,
        "private/var/db/diagnostics/shutdown.0.log",
        b"After 1.00s, these clients are still here:\n\t\tremaining client pid: 11 (/usr/libexec/second/AAAAAAAA-0000-4000-8000-000000000002)\n\t\tremaining client pid: 12 (/usr/sbin/filecoordinationd/AAAAAAAA-0000-4000-8000-000000000003)\nSIGTERM: [1600000000] All buffers flushed\n",
    );
    let ios = open_fs(&dir);
    let (_, sink) = common::run(&shutdown_log::ShutdownLog::new(ios));
    let clients: Vec<&str> = sink.records.iter().map(|r| s(r, "client")).collect();
    // Sorted by date across files: the rotated (older) log first.
    assert_eq!(
        clients,
        [
            "/usr/libexec/second/AAAAAAAA-0000-4000-8000-000000000002",
            "/usr/sbin/filecoordinationd/AAAAAAAA-0000-4000-8000-000000000003",
            "/usr/libexec/first/AAAAAAAA-0000-4000-8000-000000000001",
        ]
    );
    assert_eq!(s(&sink.records[2], "isodate"), "2023-11-14 22:13:20.000000");
    assert_eq!(sink.records[0].data["pid"], "11");
    assert_eq!(sink.records[0].data["delay"], 1.0);
    let m = matcher_from(&stix(&[("file:path", "/usr/sbin/filecoordinationd")]));
    let flagged: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| !hits(&m, r).is_empty())
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(
        hits(&m, flagged[0])[0].observable_value,
        "/usr/sbin/filecoordinationd/AAAAAAAA-0000-4000-8000-000000000003"
    );
}

#[test]
fn cache_files_flags_a_url_like_mvt_test() {
    let dir = scratch("mvt-cache");
    let rel = format!(
        "private/var/mobile/Containers/Data/Application/{UUID_A}/Library/Caches/example/Cache.db"
    );
    sqlite(
        &dir,
        &rel,
        "CREATE TABLE cfurl_cache_response(entry_ID INTEGER PRIMARY KEY, version INTEGER, hash_value INTEGER, storage_policy INTEGER, request_key TEXT UNIQUE, time_stamp NOT NULL DEFAULT CURRENT_TIMESTAMP, partition TEXT);
         INSERT INTO cfurl_cache_response VALUES (1, 0, 7, 0, 'http://example.com/thisisbad', '2024-01-02 03:04:05', NULL);
         INSERT INTO cfurl_cache_response VALUES (2, 0, 8, 0, 'https://apple.com/', '2024-01-02 03:04:06', NULL);",
    );
    // A Cache.db that is not a URL cache is skipped, not a problem.
    sqlite(
        &dir,
        "private/var/mobile/Library/Caches/other/Cache.db",
        "CREATE TABLE t(x);",
    );
    let ios = open_fs(&dir);
    let (outcome, sink) = common::run(&cache_files::CacheFiles::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert!(sink.problems.is_empty(), "{:?}", sink.problems);
    assert_eq!(sink.records.len(), 2);
    let m = matcher_from(&stix(&[("url:value", "http://example.com/thisisbad")]));
    let flagged: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| !hits(&m, r).is_empty())
        .collect();
    assert_eq!(flagged.len(), 1);
    assert_eq!(s(flagged[0], "cache_file"), rel);
    assert_eq!(
        sink.records[0].timeline[0].data,
        format!("{rel} recorded visit to URL http://example.com/thisisbad")
    );
    assert_eq!(
        sink.records[0].timeline[0].timestamp.unwrap().to_mvt(),
        "2024-01-02 03:04:05.000000"
    );
}

#[test]
fn analytics_skips_empty_rows_like_mvt_test() {
    let dir = scratch("mvt-analytics");
    let mut d = plist::Dictionary::new();
    d.insert("build".into(), plist::Value::String("20B101".into()));
    d.insert("process".into(), plist::Value::String("valid".into()));
    let mut blob = Vec::new();
    plist::Value::Dictionary(d)
        .to_writer_binary(&mut blob)
        .unwrap();
    sqlite(
        &dir,
        "private/var/Keychains/Analytics/test_analytics.db",
        "CREATE TABLE hard_failures (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB);
         CREATE TABLE soft_failures (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB);
         INSERT INTO hard_failures (timestamp, data) VALUES (NULL, NULL);",
    );
    let c =
        rusqlite::Connection::open(dir.join("private/var/Keychains/Analytics/test_analytics.db"))
            .unwrap();
    c.execute(
        "INSERT INTO soft_failures (timestamp, data) VALUES (1700000000.5, ?1)",
        [&blob],
    )
    .unwrap();
    // The same row twice: MVT's UNION keeps one.
    c.execute(
        "INSERT INTO hard_failures (timestamp, data) VALUES (1700000000.5, ?1)",
        [&blob],
    )
    .unwrap();
    drop(c);
    let ios = open_fs(&dir);
    let (_, sink) = common::run(&analytics::Analytics::new(ios));
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(s(r, "process"), "valid");
    assert_eq!(s(r, "artifact"), "test_analytics.db");
    assert_eq!(s(r, "isodate"), "2023-11-14 22:13:20.500000");
    assert_eq!(r.timeline[0].event, "test_analytics.db");
    assert_eq!(
        r.timeline[0].data,
        "{'build': '20B101', 'process': 'valid', 'isodate': '2023-11-14 22:13:20.500000', 'artifact': 'test_analytics.db'}"
    );
}

// ---- Bad input --------------------------------------------------------------------------

#[cfg(unix)]
#[test]
fn symlink_loops_and_links_out_of_the_dump_are_never_followed() {
    use std::os::unix::fs::symlink;
    let dir = scratch("links");
    let outside = dir.join("outside");
    let root = dir.join("dump");
    // Outside the dump: a shutdown.log naming a spyware path, a Cache.db, a binary.
    put(
        &outside,
        "shutdown.log",
        b"After 1.00s, these clients are still here:\n\t\tremaining client pid: 5 (/private/var/tmp/evil/AAAAAAAA-0000-4000-8000-000000000001)\nSIGTERM: [1700000000] x\n",
    );
    sqlite(&outside, "app/Library/Caches/x/Cache.db", "CREATE TABLE cfurl_cache_response(entry_ID INTEGER PRIMARY KEY, version, hash_value, storage_policy, request_key, time_stamp);
        INSERT INTO cfurl_cache_response VALUES (1,0,0,0,'https://outside.example/','2024-01-01 00:00:00');");
    put(&outside, "bin/nsurlproxyd", b"binary");
    std::fs::create_dir_all(root.join("private/var/db/diagnostics")).unwrap();
    std::fs::create_dir_all(root.join("private/var/mobile/Containers/Data/Application")).unwrap();
    symlink(
        outside.join("shutdown.log"),
        root.join("private/var/db/diagnostics/shutdown.log"),
    )
    .unwrap();
    symlink(
        outside.join("app"),
        root.join(format!(
            "private/var/mobile/Containers/Data/Application/{UUID_A}"
        )),
    )
    .unwrap();
    symlink(
        outside.join("bin/nsurlproxyd"),
        root.join("private/var/nsurlproxyd"),
    )
    .unwrap();
    // Loops: a link to itself, two links to each other, a link to an ancestor.
    symlink("self", root.join("private/var/self")).unwrap();
    symlink("b", root.join("private/var/a")).unwrap();
    symlink("a", root.join("private/var/b")).unwrap();
    symlink("../..", root.join("private/var/mobile/up")).unwrap();
    symlink(
        "../../..",
        root.join("private/var/mobile/Containers/Data/Application/LOOP"),
    )
    .unwrap();
    // netusage with a process whose binary is only outside the dump.
    sqlite(
        &root,
        "private/var/networkd/db/netusage.sqlite",
        "CREATE TABLE ZPROCESS ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFIRSTTIMESTAMP TIMESTAMP, ZTIMESTAMP TIMESTAMP, ZBUNDLENAME VARCHAR, ZPROCNAME VARCHAR );
         CREATE TABLE ZLIVEUSAGE ( Z_PK INTEGER PRIMARY KEY, ZHASPROCESS INTEGER, ZTIMESTAMP TIMESTAMP, ZWWANIN FLOAT, ZWWANOUT FLOAT );
         INSERT INTO ZPROCESS VALUES (1, 7, 1, 700000000.0, 700000100.0, NULL, 'nsurlproxyd');",
    );
    let before = tree_hash(&dir);
    let log = EvidenceLog::new();
    let ios = Arc::new(Ios::open_fs(&root, log.clone(), Limits::default()).unwrap());
    let results = run_all(fs_modules(&ios));
    for (slug, (outcome, _)) in &results {
        assert!(outcome.is_ok(), "{slug}: {outcome:?}");
    }
    // Nothing outside was read.
    assert!(results["shutdown_log"].1.records.is_empty());
    assert!(results["cache_files"].1.records.is_empty());
    assert!(
        log.files()
            .iter()
            .all(|f| !f.logical_path.contains("shutdown.log"))
    );
    // The link named like the binary points outside: the binary is not in the dump.
    let net = &results["netusage"].1;
    assert!(has_heuristic(&net.records[0], Level::Medium, "nsurlproxyd"));
    // The tree is listed once, links as entries.
    let paths: Vec<&str> = results["filesystem"]
        .1
        .records
        .iter()
        .map(|r| s(r, "path"))
        .collect();
    for link in [
        "private/var/self",
        "private/var/a",
        "private/var/b",
        "private/var/mobile/up",
    ] {
        assert!(paths.contains(&link), "{link} not listed");
    }
    assert!(
        !paths.iter().any(|p| p.contains("up/")),
        "a link was followed"
    );
    assert!(paths.len() < 40);
    assert_eq!(before, tree_hash(&dir));
}

#[test]
fn a_shutdown_log_with_binary_junk_and_a_10_mb_line() {
    let dir = scratch("shutdown-junk");
    let mut log = Vec::new();
    log.extend_from_slice(b"\x00\x01\x02\xff\xfe binary junk \x00\n");
    log.extend_from_slice(b"After 0.50s, these clients are still here:\n");
    log.extend_from_slice(b"\t\tremaining client pid: 77 (/private/var/tmp/agentd/AAAAAAAA-0000-4000-8000-000000000001)\n");
    log.extend(std::iter::repeat_n(b'Z', 10 << 20));
    log.extend_from_slice(b"\n");
    log.extend((0..5000u32).flat_map(|i| i.to_le_bytes()));
    log.extend_from_slice(b"\nSIGTERM: [1700000000] All buffers flushed\n");
    // A 10 MB client line: cut, skipped, never held whole.
    log.extend_from_slice(b"\t\tremaining client pid: 1 (/");
    log.extend(std::iter::repeat_n(b'a', 10 << 20));
    log.extend_from_slice(b")\n");
    put(&dir, "private/var/db/diagnostics/shutdown.log", &log);
    let before = tree_hash(&dir);
    let ios = open_fs(&dir);
    let (outcome, sink) = common::run(&shutdown_log::ShutdownLog::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(
        s(r, "client"),
        "/private/var/tmp/agentd/AAAAAAAA-0000-4000-8000-000000000001"
    );
    assert_eq!(s(r, "isodate"), "2023-11-14 22:13:20.000000");
    assert!(has_heuristic(r, Level::High, "/private/var/tmp/"));
    assert_eq!(sink.problems.len(), 1);
    let p = &sink.problems[0];
    assert_eq!(p.kind, ProblemKind::Partial);
    assert_eq!(
        p.file.as_deref(),
        Some("/private/var/db/diagnostics/shutdown.log")
    );
    assert!(p.message.contains("not text"), "{}", p.message);
    assert!(p.message.contains("2 lines longer"), "{}", p.message);
    assert_eq!(before, tree_hash(&dir));
}

#[test]
fn an_empty_dump() {
    let dir = scratch("empty");
    std::fs::create_dir_all(dir.join("private/var")).unwrap();
    let ios = open_fs(&dir);
    for (slug, (outcome, sink)) in run_all(fs_modules(&ios)) {
        match slug {
            // The tree itself: private/ and private/var.
            "filesystem" => assert_eq!(sink.records.len(), 2),
            _ => assert!(
                matches!(outcome, Ok(ModuleOutcome::NotFound(_))),
                "{slug}: {outcome:?}"
            ),
        }
        assert!(sink.problems.is_empty(), "{slug}: {:?}", sink.problems);
    }
    // Not a dump at all.
    let other = scratch("not-a-dump");
    assert!(Ios::open_fs(&other, EvidenceLog::new(), Limits::default()).is_err());
}

#[test]
fn damaged_databases_journals_and_folders() {
    let dir = scratch("damaged");
    // netusage: garbage bytes.
    put(
        &dir,
        "private/var/networkd/db/netusage.sqlite",
        b"not a database at all, just junk bytes.........",
    );
    // analytics: one good database, one truncated, one with no known table, one garbage plist.
    let mut d = plist::Dictionary::new();
    d.insert("build".into(), plist::Value::String("21A360".into()));
    let mut blob = Vec::new();
    plist::Value::Dictionary(d)
        .to_writer_binary(&mut blob)
        .unwrap();
    sqlite(
        &dir,
        "private/var/Keychains/Analytics/good.db",
        "CREATE TABLE all_events (id INTEGER PRIMARY KEY, timestamp REAL, data BLOB);",
    );
    {
        let c = rusqlite::Connection::open(dir.join("private/var/Keychains/Analytics/good.db"))
            .unwrap();
        c.execute(
            "INSERT INTO all_events (timestamp, data) VALUES (1700000000, ?1)",
            [&blob],
        )
        .unwrap();
        c.execute(
            "INSERT INTO all_events (timestamp, data) VALUES (1700000001, x'626c6973743030ffff')",
            [],
        )
        .unwrap();
    }
    sqlite(
        &dir,
        "private/var/Keychains/Analytics/other.db",
        "CREATE TABLE t(x);",
    );
    let good = std::fs::read(dir.join("private/var/Keychains/Analytics/good.db")).unwrap();
    put(&dir, "private/var/Keychains/Analytics/cut.db", &good[..100]);
    // Favicons: no tables.
    sqlite(
        &dir,
        &format!(
            "private/var/mobile/Containers/Data/Application/{UUID_A}/Library/Image Cache/Favicons/Favicons.db"
        ),
        "CREATE TABLE x(y);",
    );
    // Journals: one good, one garbage, one empty.
    put(&dir, "private/var/db/analyticsd/Analytics-Journal-2024-01-01-000000.ips", b"{\"timestamp\": \"2024-01-01 10:00:00.00 +0100\", \"os_version\": \"iPhone OS 17.2 (21C62)\"}\n{}\n");
    put(
        &dir,
        "private/var/db/analyticsd/Analytics-Journal-2024-02-01-000000.ips",
        b"\x00\xffgarbage",
    );
    put(
        &dir,
        "private/var/db/analyticsd/Analytics-Journal-2024-03-01-000000.ips",
        b"",
    );
    // A WebKit LocalStorage path that is a file, not a folder.
    put(
        &dir,
        &format!(
            "private/var/mobile/Containers/Data/Application/{UUID_A}/Library/WebKit/WebsiteData/LocalStorage"
        ),
        b"file",
    );
    let before = tree_hash(&dir);
    let ios = open_fs(&dir);
    let results = run_all(fs_modules(&ios));

    let (net_outcome, _) = &results["netusage"];
    let err = net_outcome.as_ref().unwrap_err();
    assert!(err.contains("netusage.sqlite"), "{err}");

    let (outcome, sink) = &results["analytics"];
    assert_eq!(outcome.as_ref().unwrap(), &ModuleOutcome::Done);
    assert_eq!(
        sink.records.len(),
        2,
        "both rows of good.db, one without its plist"
    );
    let files: BTreeSet<&str> = sink
        .problems
        .iter()
        .filter_map(|p| p.file.as_deref())
        .collect();
    assert!(
        files.contains("/private/var/Keychains/Analytics/good.db"),
        "{:?}",
        sink.problems
    );
    assert!(
        files.contains("/private/var/Keychains/Analytics/other.db"),
        "{:?}",
        sink.problems
    );
    assert!(
        files.iter().any(|f| f.ends_with("cut.db")),
        "{:?}",
        sink.problems
    );

    let (outcome, sink) = &results["safari_favicon"];
    assert!(outcome.as_ref().unwrap_err().contains("Favicons.db"));
    assert!(sink.records.is_empty());

    let (outcome, sink) = &results["ios_version_history"];
    assert_eq!(outcome.as_ref().unwrap(), &ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(s(&sink.records[0], "isodate"), "2024-01-01 09:00:00.000000");
    assert_eq!(sink.problems.len(), 2);

    let (outcome, _) = &results["webkit_local_storage"];
    assert!(matches!(outcome, Ok(ModuleOutcome::NotFound(_))));
    assert_eq!(before, tree_hash(&dir));
}

#[test]
fn netusage_reports_deleted_process_rows() {
    let dir = scratch("netusage");
    sqlite(
        &dir,
        "private/var/networkd/netusage.sqlite",
        "CREATE TABLE ZPROCESS ( Z_PK INTEGER PRIMARY KEY, Z_ENT INTEGER, Z_OPT INTEGER, ZFIRSTTIMESTAMP TIMESTAMP, ZTIMESTAMP TIMESTAMP, ZBUNDLENAME VARCHAR, ZPROCNAME VARCHAR );
         CREATE TABLE ZLIVEUSAGE ( Z_PK INTEGER PRIMARY KEY, ZHASPROCESS INTEGER, ZTIMESTAMP TIMESTAMP, ZWWANIN FLOAT, ZWWANOUT FLOAT );
         INSERT INTO ZPROCESS VALUES (1, 7, 1, 700000000.0, 700000100.0, 'com.apple.x', 'x');
         INSERT INTO ZPROCESS VALUES (3, 7, 1, 700000200.0, 700000300.0, 'com.apple.y', 'y');
         INSERT INTO ZLIVEUSAGE VALUES (1, 1, 700000050.0, 10.0, 20.0);
         INSERT INTO ZLIVEUSAGE VALUES (2, 9, 700000060.0, 1.0, 2.0);",
    );
    let ios = open_fs(&dir);
    let (_, sink) = common::run(&netusage::Netusage::new(ios));
    let msgs: Vec<&str> = sink.heuristics().map(|h| h.message.as_str()).collect();
    assert!(
        msgs.iter()
            .any(|m| m.starts_with("Found manipulated process entry 9. Entry on"))
    );
    assert!(msgs.iter().any(|m| m.starts_with("Missing process 2.")));
    assert!(
        sink.records
            .iter()
            .any(|r| s(r, "proc_name") == "MISSING [follows x]")
    );
    let live: Vec<&str> = sink
        .timeline()
        .filter(|e| e.event == "live_usage")
        .map(|e| e.data.as_str())
        .collect();
    assert!(
        live.contains(&"x (Bundle ID: com.apple.x, ID: 1) WWAN IN: 10.0, WWAN OUT: 20.0"),
        "{live:?}"
    );
}

#[test]
fn safari_favicon_and_webkit_records() {
    let dir = scratch("web");
    let app = format!("private/var/mobile/Containers/Data/Application/{UUID_A}");
    sqlite(
        &dir,
        &format!("{app}/Library/Image Cache/Favicons/Favicons.db"),
        "CREATE TABLE icon_info (uuid TEXT, url TEXT, timestamp REAL);
         CREATE TABLE page_url (url TEXT, uuid TEXT);
         CREATE TABLE rejected_resources (page_url TEXT, icon_url TEXT, timestamp REAL);
         INSERT INTO icon_info VALUES ('u1', 'https://a.example/favicon.ico', 700000000.5);
         INSERT INTO page_url VALUES ('https://a.example/page', 'u1');
         INSERT INTO rejected_resources VALUES ('https://b.example/', 'https://b.example/i.png', 600000000.0);",
    );
    std::fs::create_dir_all(dir.join(format!(
        "{app}/Library/WebKit/WebsiteData/IndexedDB/https_c.example_0"
    )))
    .unwrap();
    std::fs::create_dir_all(dir.join(format!("{app}/Library/WebKit/WebsiteData/IndexedDB/v1")))
        .unwrap();
    put(
        &dir,
        &format!("{app}/Library/WebKit/WebsiteData/LocalStorage/http_d.example_8080.localstorage"),
        b"x",
    );
    std::fs::create_dir_all(dir.join(format!(
        "{app}/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData/https_e.example_0"
    )))
    .unwrap();
    let ios = open_fs(&dir);
    let results = run_all(fs_modules(&ios));
    let fav = &results["safari_favicon"].1.records;
    assert_eq!(fav.len(), 2);
    assert_eq!(s(&fav[0], "type"), "rejected", "sorted by date");
    assert_eq!(s(&fav[1], "isodate"), "2023-03-08 20:26:40.500000");
    assert_eq!(
        s(&fav[1], "safari_favicon_db_path"),
        format!("/{app}/Library/Image Cache/Favicons/Favicons.db")
    );
    assert_eq!(
        fav[1].timeline[0].data,
        "Safari favicon from https://a.example/page with icon URL https://a.example/favicon.ico (valid)"
    );
    let idb = &results["webkit_indexeddb"].1.records;
    assert_eq!(idb.len(), 1);
    assert_eq!(s(&idb[0], "url"), "https://c.example");
    assert_eq!(
        idb[0].timeline[0].data,
        format!(
            "IndexedDB folder {app}/Library/WebKit/WebsiteData/IndexedDB containing file for URL https://c.example"
        )
    );
    let ls = &results["webkit_local_storage"].1.records;
    assert_eq!(s(&ls[0], "url"), "http://d.example");
    let svs = &results["webkit_safari_view_service"].1.records;
    assert_eq!(s(&svs[0], "url"), "https://e.example");
    assert!(svs[0].timeline.is_empty());
}

#[test]
fn every_fs_module_runs_on_a_backup_without_failing() {
    // A backup handed to the fs modules: nothing to find, nothing to fail.
    let ios = common::open(&common::mvt_backup());
    for m in fs_modules(&ios) {
        let mut sink = VecSink::default();
        let outcome = m.run(&mut sink);
        assert!(outcome.is_ok(), "{}: {outcome:?}", m.info().slug);
    }
}
