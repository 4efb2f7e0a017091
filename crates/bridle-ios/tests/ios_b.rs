//! Browser, network-usage and system-plist modules: parity with MVT's tests on its fixture
//! (reference/mvt-features.md §5.2 and §7), MVT's synthetic tests rebuilt in temporary
//! backups, damaged inputs, and recall on a generated backup with planted indicators.
//! Expected values live here, never in the modules.

// Test helpers panic on purpose: a broken fixture must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_ios::backup_file_id;
use bridle_ios::modules::{
    chrome_favicon, chrome_history, datausage, firefox_favicon, firefox_history, id_status_cache,
    locationd_clients, os_analytics_ad_daily, safari_browser_state, safari_history,
    webkit_resource_load_statistics, webkit_session_resource_log,
};
use bridle_model::{
    Level, Module, ModuleError, ModuleOutcome, ObservableKind, Record, Timestamp, VecSink,
};
use common::*;
use rusqlite::Connection;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

// ---------------------------------------------------------------------------------------
// Helpers

/// A writable copy of MVT's backup fixture.
fn temp_backup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backup");
    copy_tree(&mvt_backup(), &backup);
    make_writable(&backup);
    (dir, backup)
}

fn make_writable(p: &Path) {
    let meta = std::fs::metadata(p).unwrap();
    let mut perms = meta.permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(p, perms).unwrap();
    if meta.is_dir() {
        for e in std::fs::read_dir(p).unwrap() {
            make_writable(&e.unwrap().path());
        }
    }
}

/// Registers a file in a test backup's Manifest.db (as MVT's `add_backup_manifest_entry`).
fn add_manifest_row(backup: &Path, file_id: &str, domain: &str, relative_path: &str) {
    let c = Connection::open(backup.join("Manifest.db")).unwrap();
    c.execute(
        "INSERT INTO Files (fileID, domain, relativePath, flags, file) VALUES (?1, ?2, ?3, 1, ?4)",
        rusqlite::params![file_id, domain, relative_path, Vec::<u8>::new()],
    )
    .unwrap();
    c.execute_batch("PRAGMA journal_mode=DELETE;").unwrap();
}

/// The blob path of a fileID (its folder created).
fn blob(backup: &Path, file_id: &str) -> PathBuf {
    let dir = backup.join(&file_id[..2]);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(file_id)
}

/// The blob path of a domain/relative path, also registered in the Manifest.
fn put(backup: &Path, domain: &str, rel: &str) -> PathBuf {
    let id = backup_file_id(domain, rel);
    add_manifest_row(backup, &id, domain, rel);
    blob(backup, &id)
}

fn run_on<M: Module>(
    backup: &Path,
    make: impl Fn(Arc<bridle_ios::Ios>) -> M,
) -> (ModuleOutcome, VecSink) {
    run(&make(open(backup)))
}

fn run_err<M: Module>(backup: &Path, make: impl Fn(Arc<bridle_ios::Ios>) -> M) -> ModuleError {
    let mut sink = VecSink::default();
    make(open(backup)).run(&mut sink).unwrap_err()
}

/// The timeline as MVT keeps it: identical (time, event, data) rows once.
fn timeline_set(sink: &VecSink) -> BTreeSet<(Option<Timestamp>, String, String)> {
    sink.timeline()
        .map(|e| (e.timestamp, e.event.to_string(), e.data.clone()))
        .collect()
}

fn has_obs(r: &Record, kind: ObservableKind, value: &str) -> bool {
    r.observables
        .iter()
        .any(|o| o.kind == kind && o.value == value)
}

fn messages(sink: &VecSink) -> Vec<(Level, String)> {
    sink.heuristics()
        .map(|h| (h.level, h.message.clone()))
        .collect()
}

fn write_plist(path: &Path, v: plist::Value) {
    v.to_file_binary(path).unwrap();
}

fn dict(pairs: Vec<(&str, plist::Value)>) -> plist::Value {
    let mut d = plist::Dictionary::new();
    for (k, v) in pairs {
        d.insert(k.to_owned(), v);
    }
    plist::Value::Dictionary(d)
}

fn s(v: &str) -> plist::Value {
    plist::Value::String(v.to_owned())
}

fn date(unix: u64) -> plist::Value {
    plist::Value::Date((std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix)).into())
}

// ---------------------------------------------------------------------------------------
// DataUsage

const DATAUSAGE_ID: &str = "0d609c54856a9bb2d56729df1d68f2958a88426b";

#[test]
fn datausage_parity_42_results_60_events_one_low_alert() {
    let (outcome, sink) = run(&datausage::Datausage::new(open(&mvt_backup())));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert!(sink.problems.is_empty(), "{:?}", sink.problems);
    assert_eq!(sink.records.len(), 42);
    assert_eq!(timeline_set(&sink).len(), 60);
    assert_eq!(
        sink.records[0].data["isodate"].as_str().unwrap()[..19],
        *"2019-08-27 15:08:09"
    );
    let alerts = messages(&sink);
    assert_eq!(
        alerts,
        [(
            Level::Low,
            "Missing process 5. Previous process at \"2019-08-27 15:08:09.253102\" \
             (1FB47783-A2FE-47D9-B256-DF50EF44BBA4/com.apple.Fitness)"
                .to_owned()
        )]
    );
    // The placeholder row for the gap, appended to the results.
    let missing: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| {
            r.data["proc_name"]
                .as_str()
                .is_some_and(|n| n.starts_with("MISSING"))
        })
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(
        missing[0].data["proc_name"],
        "MISSING [follows 1FB47783-A2FE-47D9-B256-DF50EF44BBA4/com.apple.Fitness]"
    );
    assert_eq!(missing[0].data["proc_id"], 5);
    assert_eq!(missing[0].data["bundle_id"], serde_json::Value::Null);
    assert!(missing[0].observables.is_empty());
    // MVT's detection test: the process `CumulativeUsageTracker` is in two rows (2 alerts).
    let cut = sink
        .records
        .iter()
        .filter(|r| has_obs(r, ObservableKind::Process, "CumulativeUsageTracker"))
        .count();
    assert_eq!(cut, 2);
    // Every record has MVT's keys in MVT's order.
    let keys: Vec<&str> = sink.records[0].data.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "first_isodate",
            "isodate",
            "proc_name",
            "bundle_id",
            "proc_id",
            "wifi_in",
            "wifi_out",
            "wwan_in",
            "wwan_out",
            "live_id",
            "live_proc_id",
            "live_isodate"
        ]
    );
    // Descriptions as MVT writes them (Python's None and float formatting).
    let tl = timeline_set(&sink);
    assert!(tl.iter().any(|(_, e, d)| e == "live_usage"
        && d == "CumulativeUsageTracker (Bundle ID: None, ID: 32) WWAN IN: 253438.0, WWAN OUT: 0.0"));
    assert!(tl.iter().any(|(t, e, d)| e == "first_usage"
        && d == "CumulativeUsageTracker (Bundle ID: None, ID: 32)"
        && t.unwrap().to_mvt() == "2019-08-29 23:07:42.744511"));
    assert!(tl.iter().any(|(_, e, d)| e == "live_usage"
        && d.starts_with("MISSING [follows ")
        && d.ends_with("(Bundle ID: None, ID: 5) WWAN IN: None, WWAN OUT: None")));
    // The bundle id is an application id, and `mDNSResponder/...` names its process first.
    let r = sink
        .records
        .iter()
        .find(|r| r.data["proc_name"] == "mDNSResponder/com.apple.purplebuddy")
        .unwrap();
    assert!(has_obs(r, ObservableKind::AppId, "com.apple.purplebuddy"));
    assert!(has_obs(r, ObservableKind::Process, "mDNSResponder"));
    assert!(r.source.table.as_deref() == Some("ZLIVEUSAGE"));
}

#[test]
fn datausage_deleted_process_record_is_manipulation() {
    let (_t, backup) = temp_backup();
    let db = blob(&backup, DATAUSAGE_ID);
    let c = Connection::open(&db).unwrap();
    // Process 33 has one usage row; process 32 two.
    c.execute_batch("DELETE FROM ZPROCESS WHERE Z_PK IN (32, 33);")
        .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, datausage::Datausage::new);
    let alerts = messages(&sink);
    let high: Vec<&String> = alerts
        .iter()
        .filter(|(l, _)| *l == Level::High)
        .map(|(_, m)| m)
        .collect();
    // Once per missing process id with its first use, then once per row.
    assert_eq!(high.len(), 5, "{high:?}");
    assert!(high.contains(
        &&"Found manipulated process entry 32. Entry on 2019-08-29 23:07:42.743243".to_owned()
    ));
    assert_eq!(
        high.iter()
            .filter(|m| m.as_str() == "Found manipulated process entry 32/")
            .count(),
        2
    );
    assert_eq!(
        high.iter()
            .filter(|m| m.as_str() == "Found manipulated process entry 33/")
            .count(),
        1
    );
    let manipulated: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| r.data["proc_name"] == "MANIPULATED [process record deleted]")
        .collect();
    assert_eq!(manipulated.len(), 3);
    for r in &manipulated {
        // No process to check, and only the live usage event.
        assert!(r.observables.is_empty());
        assert_eq!(r.timeline.len(), 1);
        assert_eq!(r.data["first_isodate"], r.data["live_isodate"]);
    }
    // Processes 32 and 33 are gone from ZPROCESS, but rows 31 and 34 remain: a gap.
    assert!(
        alerts
            .iter()
            .any(|(l, m)| *l == Level::Low && m.starts_with("Missing process 32."))
    );
    assert!(
        alerts
            .iter()
            .any(|(l, m)| *l == Level::Low && m.starts_with("Missing process 33."))
    );
}

#[test]
fn datausage_schema_without_wifi_columns_uses_the_fallback() {
    let (_t, backup) = temp_backup();
    let c = Connection::open(blob(&backup, DATAUSAGE_ID)).unwrap();
    c.execute_batch(
        "ALTER TABLE ZLIVEUSAGE DROP COLUMN ZWIFIIN; ALTER TABLE ZLIVEUSAGE DROP COLUMN ZWIFIOUT;",
    )
    .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, datausage::Datausage::new);
    assert_eq!(sink.records.len(), 42);
    assert_eq!(timeline_set(&sink).len(), 60);
    assert!(sink.records.iter().all(|r| r.data["wifi_in"].is_null()));
    assert!(sink.records.iter().any(|r| r.data["wwan_in"] == 253438.0));
}

#[test]
fn datausage_damaged_database() {
    // Truncated to half: the UNION fails on the first bad page, so the two tables are read
    // separately (all 41 rows survive); the deletion checks are not run on a damaged
    // database, where unreadable rows would pass for deleted ones.
    let (_t, backup) = temp_backup();
    let db = blob(&backup, DATAUSAGE_ID);
    let bytes = std::fs::read(&db).unwrap();
    std::fs::write(&db, &bytes[..bytes.len() / 2]).unwrap();
    let (outcome, sink) = run_on(&backup, datausage::Datausage::new);
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 41);
    assert_eq!(messages(&sink), []);
    assert!(sink.problems.iter().any(|p| p.file.as_deref()
        == Some("WirelessDomain/Library/Databases/DataUsage.sqlite")
        && p.message.contains("damaged")));
    // Cut to a quarter: the process table is gone, the usage rows that can be read are kept,
    // and no row is called manipulated.
    std::fs::write(&db, &bytes[..bytes.len() / 4]).unwrap();
    let (_, sink) = run_on(&backup, datausage::Datausage::new);
    assert_eq!(sink.records.len(), 10);
    assert_eq!(messages(&sink), []);
    assert!(sink.problems.iter().any(|p| p.message.contains("ZPROCESS")));
    // Garbage bytes: an error naming the file.
    std::fs::write(&db, vec![0x42u8; 8192]).unwrap();
    let e = run_err(&backup, datausage::Datausage::new);
    assert!(e.to_string().contains("DataUsage.sqlite"), "{e}");
    // No ZPROCESS table: an error naming the file.
    std::fs::remove_file(&db).unwrap();
    let c = Connection::open(&db).unwrap();
    c.execute_batch("CREATE TABLE ZLIVEUSAGE (Z_PK INTEGER PRIMARY KEY, ZHASPROCESS INTEGER);")
        .unwrap();
    drop(c);
    let e = run_err(&backup, datausage::Datausage::new);
    assert!(e.to_string().contains("DataUsage.sqlite") && e.to_string().contains("ZPROCESS"));
}

// ---------------------------------------------------------------------------------------
// Safari browser state

const BROWSER_STATE_ID: &str = "3a47b0981ed7c10f3e2800aa66bac96a3b5db28e";
const PROFILE_UUID: &str = "00000000-0000-4000-A000-000000000001";

#[test]
fn safari_browser_state_parity() {
    let (outcome, sink) = run(&safari_browser_state::SafariBrowserState::new(open(
        &mvt_backup(),
    )));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(timeline_set(&sink).len(), 1);
    assert_eq!(messages(&sink), []);
    let r = &sink.records[0];
    assert_eq!(r.data["tab_url"], "https://en.wikipedia.org/wiki/NSO_Group");
    assert_eq!(r.data["tab_title"], "NSO is bad");
    assert_eq!(r.data["session_data"], serde_json::json!([]));
    assert_eq!(
        r.data["safari_browser_state_db"],
        format!("3a/{BROWSER_STATE_ID}")
    );
    // MVT's detection test (domain en.wikipedia.org) matches the tab URL.
    assert!(has_obs(
        r,
        ObservableKind::Url,
        "https://en.wikipedia.org/wiki/NSO_Group"
    ));
    let e = &r.timeline[0];
    assert_eq!(
        e.data,
        "NSO is bad - https://en.wikipedia.org/wiki/NSO_Group"
    );
    assert_eq!(e.event, "tab");
}

#[test]
fn safari_browser_state_profiles_and_session_history() {
    let (_t, backup) = temp_backup();
    let profile_id = "bb00000000000000000000000000000000000001";
    let profile_db = blob(&backup, profile_id);
    std::fs::copy(blob(&backup, BROWSER_STATE_ID), &profile_db).unwrap();
    add_manifest_row(
        &backup,
        profile_id,
        "AppDomain-com.apple.mobilesafari",
        &format!("Library/Safari/Profiles/{PROFILE_UUID}/BrowserState.db"),
    );
    // Give the profile's tab a session history: a plist after a 4-byte header.
    let entry = dict(vec![
        (
            "SessionHistoryEntryURL",
            s("https://session.example.net/page"),
        ),
        (
            "SessionHistoryEntryOriginalURL",
            s("http://session.example.net/"),
        ),
        ("SessionHistoryEntryData", plist::Value::Data(vec![0; 12])),
    ]);
    let session = dict(vec![(
        "SessionHistory",
        dict(vec![(
            "SessionHistoryEntries",
            plist::Value::Array(vec![entry]),
        )]),
    )]);
    let mut data = vec![0u8, 0, 0, 2];
    session.to_writer_binary(&mut data).unwrap();
    let c = Connection::open(&profile_db).unwrap();
    c.execute("UPDATE tab_sessions SET session_data = ?1", [data])
        .unwrap();
    drop(c);

    let (_, sink) = run_on(&backup, safari_browser_state::SafariBrowserState::new);
    assert_eq!(sink.records.len(), 2);
    let dbs: BTreeSet<String> = sink
        .records
        .iter()
        .map(|r| {
            r.data["safari_browser_state_db"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(dbs.len(), 2);
    let profile = sink
        .records
        .iter()
        .find(|r| r.data["safari_browser_state_db"] == format!("bb/{profile_id}"))
        .unwrap();
    assert_eq!(
        profile.data["session_data"],
        serde_json::json!([{
            "entry_title": "http://session.example.net/",
            "entry_url": "https://session.example.net/page",
            "data_length": 12
        }])
    );
    assert!(has_obs(
        profile,
        ObservableKind::Url,
        "https://session.example.net/page"
    ));
    assert_eq!(
        profile.source.file.as_ref().unwrap().logical_path,
        format!(
            "AppDomain-com.apple.mobilesafari/Library/Safari/Profiles/{PROFILE_UUID}/BrowserState.db"
        )
    );
}

#[test]
fn safari_browser_state_damaged_and_old_schema() {
    let (_t, backup) = temp_backup();
    let db = blob(&backup, BROWSER_STATE_ID);
    // iOS < 12: no tab_sessions, session data in tabs.
    let c = Connection::open(&db).unwrap();
    c.execute_batch(
        "DROP TABLE tab_sessions; ALTER TABLE tabs ADD COLUMN session_data BLOB; \
         UPDATE tabs SET session_data = X'00000000DEADBEEF';",
    )
    .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, safari_browser_state::SafariBrowserState::new);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.records[0].data["session_data"], serde_json::json!([]));
    // Garbage: the only database is unreadable, an error naming it.
    std::fs::write(
        &db,
        b"not a database at all, just some words; not even a header",
    )
    .unwrap();
    let e = run_err(&backup, safari_browser_state::SafariBrowserState::new);
    assert!(
        e.to_string().contains("Library/Safari/BrowserState.db"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Safari history

const HISTORY_ID: &str = "1a0e7afc19d307da602ccdcece51af33afe92c53";
const PROFILE_HISTORY_ID: &str = "aa00000000000000000000000000000000000001";
const DEFAULT_URL: &str = "https://default.example.net/visited-page";
const PROFILE_URL: &str = "https://profile.example.net/visited-page";

fn history_db(path: &Path, url: &str) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE history_items (id INTEGER PRIMARY KEY, url TEXT);
         CREATE TABLE history_visits (id INTEGER PRIMARY KEY, history_item INTEGER,
            visit_time REAL, redirect_source INTEGER, redirect_destination INTEGER);",
    )
    .unwrap();
    c.execute("INSERT INTO history_items VALUES (1, ?1)", [url])
        .unwrap();
    c.execute_batch("INSERT INTO history_visits VALUES (1, 1, 726100000.0, NULL, NULL);")
        .unwrap();
}

/// MVT's `backup_with_safari_profile`: a visit in the default and in a named profile.
fn backup_with_history_profile() -> (tempfile::TempDir, PathBuf) {
    let (t, backup) = temp_backup();
    history_db(&blob(&backup, HISTORY_ID), DEFAULT_URL);
    history_db(&blob(&backup, PROFILE_HISTORY_ID), PROFILE_URL);
    add_manifest_row(
        &backup,
        PROFILE_HISTORY_ID,
        "AppDomain-com.apple.mobilesafari",
        &format!("Library/Safari/Profiles/{PROFILE_UUID}/History.db"),
    );
    (t, backup)
}

#[test]
fn safari_history_parity_fixture_has_none() {
    let (outcome, sink) = run(&safari_history::SafariHistory::new(open(&mvt_backup())));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
    assert!(sink.records.is_empty());
    assert_eq!(messages(&sink), []);
}

#[test]
fn safari_history_profiles() {
    let (_t, backup) = backup_with_history_profile();
    let (_, sink) = run_on(&backup, safari_history::SafariHistory::new);
    assert_eq!(sink.records.len(), 2);
    let urls: BTreeSet<&str> = sink
        .records
        .iter()
        .map(|r| r.data["url"].as_str().unwrap())
        .collect();
    assert_eq!(urls, [DEFAULT_URL, PROFILE_URL].into());
    let dbs: BTreeSet<&str> = sink
        .records
        .iter()
        .map(|r| r.data["safari_history_db"].as_str().unwrap())
        .collect();
    assert_eq!(dbs.len(), 2);
    // MVT's detection in a profile: the profile's visit carries the URL.
    let p = sink
        .records
        .iter()
        .find(|r| r.data["url"] == PROFILE_URL)
        .unwrap();
    assert!(has_obs(p, ObservableKind::Url, PROFILE_URL));
    assert_eq!(p.data["isodate"], "2024-01-04 22:26:40.000000");
    assert_eq!(
        p.timeline[0].data,
        format!("Safari visit to {PROFILE_URL} (ID: 1, Visit ID: 1)")
    );
    assert_eq!(messages(&sink), []);
}

#[test]
fn safari_history_redirect_ids_are_scoped_to_database() {
    let (_t, backup) = backup_with_history_profile();
    let c = Connection::open(blob(&backup, HISTORY_ID)).unwrap();
    c.execute_batch(
        "UPDATE history_items SET url = 'http://safe.example.com/start' WHERE id = 1;
         INSERT INTO history_items VALUES (2, 'https://safe.example.com/end');
         UPDATE history_visits SET redirect_destination = 2 WHERE id = 1;
         INSERT INTO history_visits VALUES (2, 2, 726100000.1, 1, NULL);",
    )
    .unwrap();
    drop(c);
    // Visit ids are local to each database and overlap.
    let c = Connection::open(blob(&backup, PROFILE_HISTORY_ID)).unwrap();
    c.execute_batch("UPDATE history_visits SET id = 2 WHERE id = 1;")
        .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, safari_history::SafariHistory::new);
    assert_eq!(sink.records.len(), 3);
    assert_eq!(messages(&sink), []);
}

#[test]
fn safari_history_fast_cross_site_redirect_is_medium() {
    let (_t, backup) = backup_with_history_profile();
    let c = Connection::open(blob(&backup, HISTORY_ID)).unwrap();
    c.execute_batch(
        "UPDATE history_items SET url = 'http://news.example.com/start' WHERE id = 1;
         INSERT INTO history_items VALUES (2, 'https://injected.example.org/x');
         UPDATE history_visits SET redirect_destination = 2 WHERE id = 1;
         INSERT INTO history_visits VALUES (2, 2, 726100000.1, 1, NULL);",
    )
    .unwrap();
    drop(c);
    // The same ids in the profile database redirect nowhere fast.
    let (_, sink) = run_on(&backup, safari_history::SafariHistory::new);
    assert_eq!(
        messages(&sink),
        [(
            Level::Medium,
            "Redirect took less than a second! (100.0 milliseconds)".to_owned()
        )]
    );
    let r = sink
        .records
        .iter()
        .find(|r| !r.heuristics.is_empty())
        .unwrap();
    assert_eq!(r.data["url"], "http://news.example.com/start");
    assert_eq!(
        r.heuristics[0].event_time.unwrap().to_mvt(),
        "2024-01-04 22:26:40.000000"
    );
}

#[test]
fn safari_history_damaged_profile_does_not_hide_the_default() {
    let (_t, backup) = backup_with_history_profile();
    std::fs::write(blob(&backup, PROFILE_HISTORY_ID), vec![7u8; 3000]).unwrap();
    let (outcome, sink) = run_on(&backup, safari_history::SafariHistory::new);
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    assert!(
        sink.problems
            .iter()
            .any(|p| p.file.as_deref().is_some_and(|f| f.contains(PROFILE_UUID)))
    );
    // A database without the tables is reported too.
    let c = Connection::open(blob(&backup, HISTORY_ID)).unwrap();
    c.execute_batch("DROP TABLE history_visits;").unwrap();
    drop(c);
    let e = run_err(&backup, safari_history::SafariHistory::new);
    assert!(e.to_string().contains("History.db"), "{e}");
}

// ---------------------------------------------------------------------------------------
// WebKit

const OBSERVATIONS: &str = "Library/WebKit/WebsiteData/ResourceLoadStatistics/observations.db";

#[test]
fn webkit_resource_load_statistics_parity() {
    let (outcome, sink) = run(
        &webkit_resource_load_statistics::WebkitResourceLoadStatistics::new(open(&mvt_backup())),
    );
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 2);
    assert_eq!(timeline_set(&sink).len(), 2);
    assert_eq!(messages(&sink), []);
    // Five other apps' stores are listed in the Manifest but absent: not problems.
    assert!(sink.problems.is_empty());
    let by = |d: &str| {
        sink.records
            .iter()
            .find(|r| r.data["registrable_domain"] == d)
            .unwrap()
    };
    let google = by("google.com");
    assert!(
        google.data["most_recent_user_interaction_time"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        google
            .data
            .contains_key("most_recent_user_interaction_time_isodate")
    );
    assert_eq!(google.data["domain"], "AppDomain-com.google.chrome.ios");
    assert_eq!(google.data["path"], OBSERVATIONS);
    assert_eq!(google.data["had_user_interaction"], true);
    assert!(has_obs(google, ObservableKind::Domain, "google.com"));
    assert_eq!(
        google.timeline[0].data,
        "Webkit resource loaded from google.com by app in domain AppDomain-com.google.chrome.ios"
    );
    let gstatic = by("gstatic.com");
    assert_eq!(gstatic.data["most_recent_user_interaction_time"], -1.0);
    assert!(
        !gstatic
            .data
            .contains_key("most_recent_user_interaction_time_isodate")
    );
    assert!(
        sink.records
            .iter()
            .all(|r| !r.data.contains_key("most_recent_web_push_interaction_time"))
    );
}

#[test]
fn webkit_resource_load_statistics_full_timestamp_schema_and_damage() {
    let (_t, backup) = temp_backup();
    let path = put(&backup, "AppDomain-com.example.app", OBSERVATIONS);
    let c = Connection::open(&path).unwrap();
    c.execute_batch(
        "CREATE TABLE ObservedDomains (domainID INTEGER PRIMARY KEY, registrableDomain TEXT NOT NULL,
            lastSeen REAL NOT NULL, hadUserInteraction INTEGER NOT NULL,
            mostRecentUserInteractionTime REAL NOT NULL, mostRecentWebPushInteractionTime REAL NOT NULL);
         INSERT INTO ObservedDomains VALUES (1, 'example.com', 1634560250.0, 1, 1634560030.0, -1.0);",
    )
    .unwrap();
    drop(c);
    let (_, sink) = run_on(
        &backup,
        webkit_resource_load_statistics::WebkitResourceLoadStatistics::new,
    );
    assert_eq!(sink.records.len(), 3);
    let r = sink
        .records
        .iter()
        .find(|r| r.data["registrable_domain"] == "example.com")
        .unwrap();
    assert_eq!(r.data["most_recent_user_interaction_time"], 1634560030.0);
    assert_eq!(
        r.data["most_recent_user_interaction_time_isodate"],
        "2021-10-18 12:27:10.000000"
    );
    assert_eq!(r.data["most_recent_web_push_interaction_time"], -1.0);
    assert!(
        !r.data
            .contains_key("most_recent_web_push_interaction_time_isodate")
    );
    assert_eq!(r.data["last_seen_isodate"], "2021-10-18 12:30:50.000000");

    // A store without the columns is reported and the other store still read.
    std::fs::remove_file(&path).unwrap();
    let c = Connection::open(&path).unwrap();
    c.execute_batch("CREATE TABLE ObservedDomains (domainID INTEGER PRIMARY KEY);")
        .unwrap();
    drop(c);
    let (_, sink) = run_on(
        &backup,
        webkit_resource_load_statistics::WebkitResourceLoadStatistics::new,
    );
    assert_eq!(sink.records.len(), 2);
    assert!(sink.problems.iter().any(|p| p.file.as_deref()
        == Some(&format!("AppDomain-com.example.app/{OBSERVATIONS}")[..])
        && p.message.contains("registrableDomain")));
}

const RESOURCE_LOG: &str =
    "Library/WebKit/WebsiteData/ResourceLoadStatistics/full_browsing_session_resourceLog.plist";

#[test]
fn webkit_session_resource_log_redirect_chain_and_sites() {
    let (_t, backup) = temp_backup();
    let path = put(&backup, "AppDomain-com.apple.mobilesafari", RESOURCE_LOG);
    let origin = |o: &str| dict(vec![("origin", s(o))]);
    let item = dict(vec![
        ("PrevalentResourceOrigin", s("landing.example.com")),
        (
            "topFrameUniqueRedirectsFrom",
            plist::Value::Array(vec![origin("sender.example.org")]),
        ),
        (
            "topFrameUniqueRedirectsTo",
            plist::Value::Array(vec![origin("exploit.example.net")]),
        ),
        (
            "subframeUnderTopFrameOrigins",
            plist::Value::Array(vec![dict(vec![("domain", s("frame.example.io"))])]),
        ),
        ("hadUserInteraction", plist::Value::Boolean(false)),
        ("lastSeen", date(1_634_560_250)),
    ]);
    write_plist(
        &path,
        dict(vec![(
            "browsingStatistics",
            plist::Value::Array(vec![item, s("junk")]),
        )]),
    );
    let (outcome, sink) = run_on(
        &backup,
        webkit_session_resource_log::WebkitSessionResourceLog::new,
    );
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(r.data["origin"], "landing.example.com");
    assert_eq!(
        r.data["redirect_chain"],
        "SOURCE: \"sender.example.org\" -> ORIGIN: \"landing.example.com\" -> DESTINATION: \"exploit.example.net\""
    );
    assert_eq!(r.data["subresource_under_origin"], "");
    assert_eq!(r.data["last_seen"], "2021-10-18 12:30:50.000000");
    assert_eq!(r.data["most_recent_interaction"], serde_json::Value::Null);
    for d in [
        "landing.example.com",
        "sender.example.org",
        "exploit.example.net",
        "frame.example.io",
    ] {
        assert!(has_obs(r, ObservableKind::Domain, d), "{d}");
    }
    // No heuristic and no timeline, as MVT without an indicator match.
    assert!(r.heuristics.is_empty() && r.timeline.is_empty());

    // Garbage: an error naming the file.
    std::fs::write(&path, b"bplist00 garbage").unwrap();
    let e = run_err(
        &backup,
        webkit_session_resource_log::WebkitSessionResourceLog::new,
    );
    assert!(
        e.to_string()
            .contains("full_browsing_session_resourceLog.plist"),
        "{e}"
    );
    // Absent from the fixture.
    let (outcome, _) = run(&webkit_session_resource_log::WebkitSessionResourceLog::new(
        open(&mvt_backup()),
    ));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
}

// ---------------------------------------------------------------------------------------
// Plists: IDS status cache, locationd, osanalytics

const IDS_REL: &str = "Library/Preferences/com.apple.identityservices.idstatuscache.plist";

#[test]
fn id_status_cache_emails_phones_and_nul_users() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, &backup_file_id("HomeDomain", IDS_REL));
    let lookup = |t: f64, status: i64| {
        dict(vec![
            ("LookupDate", plist::Value::Real(t)),
            ("IDStatus", plist::Value::Integer(status.into())),
        ])
    };
    write_plist(
        &path,
        dict(vec![
            (
                "com.apple.madrid",
                dict(vec![
                    ("mailto:bad@example.org", lookup(600_000_000.5, 1)),
                    ("tel:+15555550100", lookup(600_000_001.0, 2)),
                    ("mailto:x\0\0y@example.org", lookup(600_000_002.0, 1)),
                    (
                        "broken",
                        dict(vec![("IDStatus", plist::Value::Integer(1.into()))]),
                    ),
                ]),
            ),
            (
                "com.apple.private.alloy.facetime.multi",
                dict(vec![("tel:+15555550100", lookup(0.0, 1))]),
            ),
            ("version", plist::Value::Integer(3.into())),
        ]),
    );
    let (_, sink) = run_on(&backup, id_status_cache::IdStatusCache::new);
    assert_eq!(sink.records.len(), 4);
    let r0 = &sink.records[0];
    assert_eq!(r0.data["package"], "com.apple.madrid");
    assert_eq!(r0.data["user"], "mailto:bad@example.org");
    assert_eq!(r0.data["isodate"], "2020-01-06 10:40:00.500000");
    assert_eq!(r0.data["idstatus"], 1);
    assert_eq!(r0.data["occurrences"], 1);
    assert!(has_obs(r0, ObservableKind::Email, "bad@example.org"));
    assert_eq!(r0.timeline[0].event, "lookup");
    assert_eq!(
        r0.timeline[0].data,
        "Lookup of mailto:bad@example.org within com.apple.madrid (Status 1)"
    );
    // Phone numbers: no observable kind.
    let tel = &sink.records[1];
    assert!(tel.observables.is_empty());
    assert_eq!(tel.data["occurrences"], 2);
    assert_eq!(sink.records[3].data["isodate"], "");
    // The NUL pair: escaped in the user and HIGH, always.
    let nul = &sink.records[2];
    assert_eq!(nul.data["user"], "mailto:x\\x00\\x00y@example.org");
    assert_eq!(
        messages(&sink),
        [(Level::High, "Found an ID Status Cache entry with suspicious patterns: mailto:x\\x00\\x00y@example.org".to_owned())]
    );
    // Garbage plist: an error naming the file.
    std::fs::write(&path, b"<?xml version=\"1.0\"?><plist><dict><key>a</key>").unwrap();
    let e = run_err(&backup, id_status_cache::IdStatusCache::new);
    assert!(e.to_string().contains("idstatuscache.plist"), "{e}");
    // Absent from the fixture.
    let (outcome, _) = run(&id_status_cache::IdStatusCache::new(open(&mvt_backup())));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
}

#[test]
fn locationd_clients_times_paths_and_token() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, "a690d7769cce8904ca2b67320b107c8fe5f79412");
    write_plist(
        &path,
        dict(vec![
            (
                "com.example.tracker:",
                dict(vec![
                    ("BundleId", s("com.example.tracker")),
                    (
                        "BundlePath",
                        s("/private/var/containers/Bundle/Application/X/Tracker.app"),
                    ),
                    (
                        "Executable",
                        s("/private/var/containers/Bundle/Application/X/Tracker.app/Tracker"),
                    ),
                    ("Registered", plist::Value::Boolean(true)),
                    ("LocationTimeStopped", plist::Value::Real(600_000_000.0)),
                    ("ConsumptionPeriodBegin", plist::Value::Real(599_000_000.0)),
                    ("ClientStorageToken", plist::Value::Data(vec![1, 2, 3])),
                    ("Authorization", plist::Value::Integer(4.into())),
                ]),
            ),
            (
                "/usr/libexec/spyd:",
                dict(vec![
                    ("Registered", s("/usr/libexec/spyd")),
                    ("VisitTimeStopped", plist::Value::Real(0.0)),
                ]),
            ),
            ("MigrationVersion", plist::Value::Integer(2.into())),
        ]),
    );
    let (_, sink) = run_on(&backup, locationd_clients::LocationdClients::new);
    assert_eq!(sink.records.len(), 2);
    let r = &sink.records[0];
    assert_eq!(r.data["package"], "com.example.tracker");
    assert_eq!(r.data["LocationTimeStopped"], "2020-01-06 10:40:00.000000");
    assert_eq!(r.data["ClientStorageToken"], "AQID");
    assert_eq!(r.data["Authorization"], 4);
    assert_eq!(r.data.keys().next_back().unwrap(), "package");
    // Events in MVT's key order.
    let events: Vec<(&str, String)> = r
        .timeline
        .iter()
        .map(|e| (&*e.event, e.data.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (
                "ConsumptionPeriodBegin",
                "ConsumptionPeriodBegin from com.example.tracker".to_owned()
            ),
            (
                "LocationTimeStopped",
                "LocationTimeStopped from com.example.tracker".to_owned()
            ),
        ]
    );
    assert!(r.observables.iter().all(|o| o.level == Level::High));
    assert!(has_obs(r, ObservableKind::Process, "com.example.tracker"));
    assert!(has_obs(r, ObservableKind::AppId, "com.example.tracker"));
    assert!(has_obs(
        r,
        ObservableKind::FilePath,
        "/private/var/containers/Bundle/Application/X/Tracker.app/Tracker"
    ));
    assert!(!r.observables.iter().any(|o| o.field == "Registered"));
    let d = &sink.records[1];
    assert_eq!(d.data["package"], "/usr/libexec/spyd");
    assert_eq!(d.data["VisitTimeStopped"], "");
    assert!(has_obs(d, ObservableKind::Process, "spyd"));
    assert!(has_obs(d, ObservableKind::FilePath, "/usr/libexec/spyd"));
    assert!(
        !d.observables
            .iter()
            .any(|o| o.kind == ObservableKind::AppId)
    );
    // A plist that is an array: an error naming the file.
    write_plist(&path, plist::Value::Array(vec![s("x")]));
    let e = run_err(&backup, locationd_clients::LocationdClients::new);
    assert!(e.to_string().contains("clients.plist"), "{e}");
}

#[test]
fn os_analytics_ad_daily_baseline() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, "f65b5fafc69bbd3c60be019c6e938e146825fa83");
    let int = |v: i64| plist::Value::Integer(v.into());
    write_plist(
        &path,
        dict(vec![
            (
                "netUsageBaseline",
                dict(vec![
                    (
                        "bh",
                        plist::Value::Array(vec![
                            date(1_600_000_000),
                            int(1),
                            int(2),
                            int(3),
                            plist::Value::Real(4.5),
                        ]),
                    ),
                    ("short", plist::Value::Array(vec![date(1_600_000_001)])),
                    ("notalist", s("x")),
                ]),
            ),
            ("baselineUpdateTime", plist::Value::Real(1.0)),
        ]),
    );
    let (_, sink) = run_on(&backup, os_analytics_ad_daily::OsAnalyticsAdDaily::new);
    assert_eq!(sink.records.len(), 3);
    let r = &sink.records[0];
    assert_eq!(r.data["package"], "bh");
    assert_eq!(r.data["ts"], "2020-09-13 12:26:40.000000");
    assert_eq!(r.data["wwan_out"], 4.5);
    assert!(has_obs(r, ObservableKind::Process, "bh"));
    assert_eq!(r.timeline[0].event, "osanalytics_addaily");
    assert_eq!(
        r.timeline[0].data,
        "bh WIFI IN: 1, WIFI OUT: 2 - WWAN IN: 3, WWAN OUT: 4.5"
    );
    assert_eq!(
        sink.records[1].timeline[0].data,
        "short WIFI IN: None, WIFI OUT: None - WWAN IN: None, WWAN OUT: None"
    );
    assert_eq!(sink.records[2].data["ts"], "");
    // Truncated plist: an error naming the file.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let e = run_err(&backup, os_analytics_ad_daily::OsAnalyticsAdDaily::new);
    assert!(e.to_string().contains("addaily.plist"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Chrome and Firefox

/// Microseconds since 1601 for a Unix time in seconds.
fn chrome_time(unix: i64) -> i64 {
    (unix + 11_644_473_600) * 1_000_000
}

#[test]
fn chrome_history_visits_in_time_order() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, "faf971ce92c3ac508c018dce1bef2a8b8e9838f1");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE urls (id INTEGER PRIMARY KEY, url LONGVARCHAR, title LONGVARCHAR);
         CREATE TABLE visits (id INTEGER PRIMARY KEY, url INTEGER NOT NULL, visit_time INTEGER NOT NULL,
            from_visit INTEGER);
         INSERT INTO urls VALUES (1, 'https://a.example.com/', 'A'), (2, 'https://b.example.org/x', 'B');
         INSERT INTO urls VALUES (3, CAST(X'68747470733A2F2F63FF2E6578616D706C652E636F6D2F' AS TEXT), 'C');
         INSERT INTO visits VALUES (10, 2, {}, 0), (11, 1, {}, 10), (12, 1, 0, 0), (13, 3, 1, 0);",
        chrome_time(1_600_000_100) + 5,
        chrome_time(1_600_000_000),
    ))
    .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, chrome_history::ChromeHistory::new);
    assert_eq!(sink.records.len(), 4);
    let ids: Vec<i64> = sink
        .records
        .iter()
        .map(|r| r.data["visit_id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [12, 13, 11, 10]);
    // Invalid UTF-8 is kept, escaped as MVT's JSON shows it.
    assert_eq!(sink.records[1].data["url"], "https://c\\xff.example.com/");
    let r = &sink.records[3];
    assert_eq!(r.data["isodate"], "2020-09-13 12:28:20.000005");
    assert_eq!(r.data["url"], "https://b.example.org/x");
    assert!(has_obs(r, ObservableKind::Url, "https://b.example.org/x"));
    assert_eq!(r.timeline[0].event, "visit");
    assert_eq!(
        r.timeline[0].data,
        "2 - https://b.example.org/x (visit ID: 10, redirect source: 0)"
    );
    assert_eq!(sink.records[0].data["isodate"], "");
    // Missing table: an error naming the file.
    let c = Connection::open(&path).unwrap();
    c.execute_batch("DROP TABLE visits;").unwrap();
    drop(c);
    let e = run_err(&backup, chrome_history::ChromeHistory::new);
    assert!(e.to_string().contains("Chrome/Default/History"), "{e}");
}

#[test]
fn chrome_favicon_pages_and_icons() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, "55680ab883d0fdcffd94f959b1632e5fbbb18c5b");
    let c = Connection::open(&path).unwrap();
    c.execute_batch(&format!(
        "CREATE TABLE favicons (id INTEGER PRIMARY KEY, url LONGVARCHAR NOT NULL, icon_type INTEGER);
         CREATE TABLE favicon_bitmaps (id INTEGER PRIMARY KEY, icon_id INTEGER NOT NULL,
            last_updated INTEGER DEFAULT 0, last_requested INTEGER DEFAULT 0);
         CREATE TABLE icon_mapping (id INTEGER PRIMARY KEY, page_url LONGVARCHAR NOT NULL, icon_id INTEGER);
         INSERT INTO favicons VALUES (1, 'https://cdn.example.net/favicon.ico', 1), (2, 'https://b.example.org/i.png', 1);
         INSERT INTO favicon_bitmaps VALUES (1, 1, {}, 0), (2, 2, 0, {});
         INSERT INTO icon_mapping VALUES (1, 'https://a.example.com/page', 1), (2, 'https://b.example.org/', 2);",
        chrome_time(1_600_000_500),
        chrome_time(1_600_000_000),
    ))
    .unwrap();
    drop(c);
    let (_, sink) = run_on(&backup, chrome_favicon::ChromeFavicon::new);
    assert_eq!(sink.records.len(), 2);
    // Sorted by time: the one only ever requested comes first.
    let r = &sink.records[0];
    assert_eq!(r.data["url"], "https://b.example.org/");
    assert_eq!(r.data["timestamp"], chrome_time(1_600_000_000));
    assert_eq!(r.data["isodate"], "2020-09-13 12:26:40.000000");
    let r = &sink.records[1];
    assert!(has_obs(
        r,
        ObservableKind::Url,
        "https://a.example.com/page"
    ));
    assert!(has_obs(
        r,
        ObservableKind::Url,
        "https://cdn.example.net/favicon.ico"
    ));
    assert_eq!(r.timeline[0].event, "new_favicon");
    assert_eq!(
        r.timeline[0].data,
        "https://cdn.example.net/favicon.ico from https://a.example.com/page"
    );
    // Truncated to nothing useful: an error naming the file.
    std::fs::write(&path, [0u8; 100]).unwrap();
    let e = run_err(&backup, chrome_favicon::ChromeFavicon::new);
    assert!(e.to_string().contains("Chrome/Default/Favicons"), "{e}");
}

fn firefox_db(path: &Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE history (id INTEGER PRIMARY KEY, guid TEXT, url TEXT, title TEXT);
         CREATE TABLE visits (id INTEGER PRIMARY KEY, siteID INTEGER, date REAL, type INTEGER, is_local TINYINT);
         CREATE TABLE favicons (id INTEGER PRIMARY KEY, url TEXT, width INTEGER, height INTEGER, type INTEGER, date REAL);
         CREATE TABLE favicon_sites (id INTEGER PRIMARY KEY, siteID INTEGER, faviconID INTEGER);
         INSERT INTO history VALUES (1, 'g1', 'https://a.example.com/', 'A'), (2, 'g2', 'https://b.example.org/', 'B');
         INSERT INTO visits VALUES (1, 1, 1600000000123456, 1, 1), (2, 2, 1600000100000000, 2, 0);
         INSERT INTO favicons VALUES (1, 'https://icons.example.net/a.ico', 16, 16, 1, 1600000000.5);
         INSERT INTO favicon_sites VALUES (1, 1, 1);",
    )
    .unwrap();
}

#[test]
fn firefox_history_and_favicons() {
    let (_t, backup) = temp_backup();
    let path = blob(&backup, "2e57c396a35b0d1bcbc624725002d98bd61d142b");
    firefox_db(&path);
    let (_, sink) = run_on(&backup, firefox_history::FirefoxHistory::new);
    assert_eq!(sink.records.len(), 2);
    let r = &sink.records[0];
    assert_eq!(r.data["isodate"], "2020-09-13 12:26:40.123456");
    assert_eq!(r.data["i1000000s_local"], 1);
    assert_eq!(r.data["title"], "A");
    assert!(has_obs(r, ObservableKind::Url, "https://a.example.com/"));
    assert_eq!(
        r.timeline[0].data,
        "Firefox visit with ID 1 to URL: https://a.example.com/"
    );

    let (_, sink) = run_on(&backup, firefox_favicon::FirefoxFavicon::new);
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(r.data["isodate"], "2020-09-13 12:26:40.500000");
    assert_eq!(r.data["history_url"], "https://a.example.com/");
    assert!(has_obs(
        r,
        ObservableKind::Url,
        "https://icons.example.net/a.ico"
    ));
    assert!(has_obs(r, ObservableKind::Url, "https://a.example.com/"));
    assert_eq!(
        r.timeline[0].data,
        "Firefox favicon https://icons.example.net/a.ico when visiting https://a.example.com/"
    );
    assert_eq!(r.timeline[0].event, "firefox_history");

    // Damage: garbage bytes name the file; a missing table too.
    std::fs::write(&path, vec![0xFFu8; 5000]).unwrap();
    let e = run_err(&backup, firefox_history::FirefoxHistory::new);
    assert!(e.to_string().contains("browser.db"), "{e}");
    std::fs::remove_file(&path).unwrap();
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE history (id INTEGER);")
        .unwrap();
    let e = run_err(&backup, firefox_favicon::FirefoxFavicon::new);
    assert!(
        e.to_string().contains("browser.db") && e.to_string().contains("favicons"),
        "{e}"
    );
}

#[test]
fn browser_modules_find_nothing_in_the_fixture() {
    let ios = open(&mvt_backup());
    let modules: Vec<Box<dyn Module>> = vec![
        Box::new(chrome_history::ChromeHistory::new(Arc::clone(&ios))),
        Box::new(chrome_favicon::ChromeFavicon::new(Arc::clone(&ios))),
        Box::new(firefox_history::FirefoxHistory::new(Arc::clone(&ios))),
        Box::new(firefox_favicon::FirefoxFavicon::new(Arc::clone(&ios))),
        Box::new(locationd_clients::LocationdClients::new(Arc::clone(&ios))),
        Box::new(os_analytics_ad_daily::OsAnalyticsAdDaily::new(Arc::clone(
            &ios,
        ))),
    ];
    for m in modules {
        let (outcome, sink) = run(m.as_ref());
        assert!(
            matches!(outcome, ModuleOutcome::NotFound(_)),
            "{}",
            m.info().slug
        );
        assert!(sink.records.is_empty());
    }
}

// ---------------------------------------------------------------------------------------
// Evidence and recall

fn all_modules(ios: &Arc<bridle_ios::Ios>) -> Vec<Box<dyn Module>> {
    let i = || Arc::clone(ios);
    vec![
        Box::new(chrome_favicon::ChromeFavicon::new(i())),
        Box::new(chrome_history::ChromeHistory::new(i())),
        Box::new(firefox_favicon::FirefoxFavicon::new(i())),
        Box::new(firefox_history::FirefoxHistory::new(i())),
        Box::new(id_status_cache::IdStatusCache::new(i())),
        Box::new(locationd_clients::LocationdClients::new(i())),
        Box::new(os_analytics_ad_daily::OsAnalyticsAdDaily::new(i())),
        Box::new(datausage::Datausage::new(i())),
        Box::new(safari_browser_state::SafariBrowserState::new(i())),
        Box::new(safari_history::SafariHistory::new(i())),
        Box::new(webkit_resource_load_statistics::WebkitResourceLoadStatistics::new(i())),
        Box::new(webkit_session_resource_log::WebkitSessionResourceLog::new(
            i(),
        )),
    ]
}

#[test]
fn evidence_is_unchanged_and_modules_are_registered() {
    let before = tree_hash(&mvt_backup());
    let ios = open(&mvt_backup());
    for m in all_modules(&ios) {
        let mut sink = VecSink::default();
        m.run(&mut sink).unwrap();
    }
    assert_eq!(tree_hash(&mvt_backup()), before);
    let registered: Vec<&str> = bridle_ios::modules::backup_modules(&ios)
        .iter()
        .map(|m| m.info().slug)
        .collect();
    for m in all_modules(&ios) {
        assert!(registered.contains(&m.info().slug), "{}", m.info().slug);
    }
}

/// Generates a backup with planted indicators (needs python3 and the generator).
fn generated_backup() -> (tempfile::TempDir, PathBuf, serde_json::Value) {
    let script = shared().join("bench/gen_ios_backup.py");
    assert!(
        script.is_file(),
        "the generator is missing at {}",
        script.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .args(["--out"])
        .arg(&out)
        .args([
            "--seed",
            "1",
            "--sms",
            "2000",
            "--history",
            "2000",
            "--processes",
            "100",
            "--files",
            "50",
            "--whatsapp",
            "1000",
            "--plant-count",
            "50",
            "--plant",
        ])
        .arg(shared().join("iocs"))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 is needed to generate the test backup");
    assert!(status.success(), "the generator failed");
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("small.truth.json")).unwrap())
            .unwrap();
    (dir, out, truth)
}

#[test]
fn planted_indicators_are_observed_on_their_records() {
    let (_dir, backup, truth) = generated_backup();
    let before = tree_hash(&backup);
    let ios = open(&backup);
    let mut outputs: std::collections::HashMap<&'static str, VecSink> = Default::default();
    for m in all_modules(&ios) {
        let slug = m.info().slug;
        let mut sink = VecSink::default();
        m.run(&mut sink).unwrap();
        outputs.insert(slug, sink);
    }
    assert_eq!(tree_hash(&backup), before);
    let mut checked = 0;
    for p in truth["planted"].as_array().unwrap() {
        let module = p["module"].as_str().unwrap();
        let Some(sink) = outputs.get(module) else {
            continue;
        };
        let placed = p["placed"].as_str().unwrap();
        let value = p["value"].as_str().unwrap();
        let rec = &p["record"];
        let record = sink.records.iter().find(|r| match module {
            "datausage" => r.data["proc_id"] == rec["Z_PK"],
            "os_analytics_ad_daily" => r.data["package"] == rec["package"],
            "id_status_cache" => r.data["package"] == rec["app"] && r.data["user"] == rec["user"],
            "safari_history" | "chrome_history" => r.data["visit_id"] == rec["id"],
            "webkit_resource_load_statistics" => {
                r.data["domain_id"] == rec["domainID"]
                    && r.data["domain"] == "AppDomain-com.apple.mobilesafari"
            }
            other => panic!("planted in an unexpected module {other}"),
        });
        let record = record.unwrap_or_else(|| panic!("no record for {p}"));
        let observed = record.observables.iter().any(|o| {
            o.value == placed
                || o.value == value
                || (o.kind == ObservableKind::Url && o.value.contains(value))
        });
        assert!(
            observed,
            "{} not observed on its record: {:?}",
            p["id"], record.observables
        );
        checked += 1;
    }
    // 3 datausage + 2 addaily + 3 IDS + 5 Chrome + 6 Safari + 4 WebKit with seed 1.
    assert_eq!(checked, 23);
    // The generator avoids every heuristic.
    for (slug, sink) in &outputs {
        assert!(
            sink.heuristics().next().is_none(),
            "{slug}: {:?}",
            messages(sink)
        );
        assert!(sink.problems.is_empty(), "{slug}: {:?}", sink.problems);
    }
}
