//! Parity with MVT's own tests on its iOS backup fixture (reference/mvt-features.md §5.2).
//! The expected numbers are MVT's; they live here, never in the modules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_ios::modules::{backup_info, manifest, sms, tcc};
use bridle_model::{ModuleOutcome, ObservableKind};
use common::*;

#[test]
fn backup_info_reads_the_device() {
    let ios = open(&mvt_backup());
    let (_, sink) = run(&backup_info::BackupInfo::new(ios));
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0].data;
    assert_eq!(r["Build Version"], "18C66");
    assert_eq!(r["IMEI"], "42");
    assert_eq!(r.len(), 18);
}

#[test]
fn manifest_has_3721_records_and_5881_events() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&manifest::Manifest::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 3721);
    assert_eq!(sink.timeline().count(), 5881);
    assert!(sink.problems.is_empty());
    // Every non-empty relative path is offered as a file path.
    let with_path = sink
        .records
        .iter()
        .filter(|r| r.data["relative_path"] != "")
        .count();
    let observed = sink
        .records
        .iter()
        .filter(|r| {
            r.observables
                .iter()
                .any(|o| o.kind == ObservableKind::FilePath)
        })
        .count();
    assert_eq!(with_path, observed);
}

#[test]
fn tcc_has_11_records_and_events() {
    let ios = open(&mvt_backup());
    let (_, sink) = run(&tcc::Tcc::new(ios));
    assert_eq!(sink.records.len(), 11);
    assert_eq!(sink.timeline().count(), 11);
    let first = &sink.records[0].data;
    assert_eq!(first["service"], "kTCCServiceUbiquity");
    assert_eq!(first["client"], "com.apple.Preferences");
    assert_eq!(first["auth_value"], "allowed");
    assert!(
        sink.records
            .iter()
            .any(|r| r.data["client"] == "Launch" && r.data["service"] == "kTCCServiceLiverpool")
    );
}

#[test]
fn sms_has_one_message_with_its_link() {
    let ios = open(&mvt_backup());
    let (_, sink) = run(&sms::Sms::new(ios));
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.timeline().count(), 2);
    let r = &sink.records[0];
    let data = r.data_map();
    assert_eq!(
        data["links"],
        serde_json::json!(["https://badbadbad.example.org/"])
    );
    assert!(
        data["isodate"]
            .as_str()
            .unwrap()
            .starts_with("2019-08-29 23:13:30")
    );
    assert_eq!(r.observables.len(), 1);
    assert!(sink.heuristics().next().is_none());
}

#[test]
fn reading_the_backup_changes_nothing() {
    let before = tree_hash(&mvt_backup());
    let ios = open(&mvt_backup());
    for m in bridle_ios::modules::backup_modules(&ios) {
        let mut sink = bridle_model::VecSink::default();
        let _ = m.run(&mut sink);
    }
    assert_eq!(tree_hash(&mvt_backup()), before);
}
