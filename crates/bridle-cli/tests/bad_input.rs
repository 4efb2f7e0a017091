//! Hostile and damaged backups: no panic, a message naming the file, the rest of the run goes
//! on, the exit code says what could not be checked, and the evidence never changes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn file_id(domain: &str, rel: &str) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(format!("{domain}-{rel}").as_bytes()))
}

fn blob(backup: &Path, domain: &str, rel: &str) -> PathBuf {
    let id = file_id(domain, rel);
    backup.join(&id[..2]).join(&id)
}

/// A writable copy of the demo backup.
fn demo_copy() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let (backup, stix) = demo();
    let copy = tmp.path().join("backup");
    copy_tree(&backup, &copy);
    (tmp, copy, stix)
}

/// Runs a check with the demo indicators into a fresh folder; returns (exit code, stderr,
/// output folder), and asserts the evidence did not change.
fn check(backup: &Path, stix: &Path, tmp: &Path) -> (i32, String, PathBuf) {
    let out = tmp.join(format!("out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let before = tree_hash(backup);
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(tree_hash(backup), before, "evidence changed");
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    (code(&o), err, out)
}

fn modules_status(out: &Path) -> Vec<(String, String)> {
    let info = read_json(&out.join("info.json"));
    info["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["module"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn manifest_db_random_bytes_empty_or_missing() {
    for damage in ["random", "empty", "missing"] {
        let (tmp, backup, stix) = demo_copy();
        let manifest = backup.join("Manifest.db");
        match damage {
            "random" => std::fs::write(
                &manifest,
                (0..50_000u32)
                    .map(|i| (i * 7919 % 251) as u8)
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
            "empty" => std::fs::write(&manifest, b"").unwrap(),
            _ => std::fs::remove_file(&manifest).unwrap(),
        }
        let (code, err, out) = check(&backup, &stix, tmp.path());
        // sms and tcc are found by fileID and still match.
        assert_eq!(code, 1, "{damage}: {err}");
        assert!(err.contains("Manifest.db"), "{damage}: {err}");
        let status = modules_status(&out);
        assert!(
            status.contains(&("manifest".into(), "failed".into())),
            "{damage}: {status:?}"
        );
        assert!(
            status.contains(&("sms".into(), "done".into())),
            "{damage}: {status:?}"
        );
        let info = read_json(&out.join("info.json"));
        assert!(!info["problems"].as_array().unwrap().is_empty());
    }
}

#[test]
fn truncated_database_keeps_the_readable_rows() {
    let (tmp, backup, stix) = demo_copy();
    let sms = blob(&backup, "HomeDomain", "Library/SMS/sms.db");
    let bytes = std::fs::read(&sms).unwrap();
    // Drop the last page: the header now claims more pages than the file has.
    std::fs::write(&sms, &bytes[..bytes.len() - 4096]).unwrap();
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sms.db") && err.contains("truncated"), "{err}");
    let info = read_json(&out.join("info.json"));
    assert!(info["problems"].to_string().contains("truncated"));
}

#[test]
fn garbage_database_fails_only_its_module() {
    let (tmp, backup, stix) = demo_copy();
    std::fs::write(
        blob(&backup, "HomeDomain", "Library/TCC/TCC.db"),
        b"not a database at all, just text",
    )
    .unwrap();
    let (code, err, out) = check(&backup, &stix, tmp.path());
    // The SMS and the Manifest still match the indicators.
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("TCC.db"), "{err}");
    let status = modules_status(&out);
    assert!(
        status.contains(&("tcc".into(), "failed".into())),
        "{status:?}"
    );
}

#[test]
fn missing_table_is_reported_not_fatal() {
    let (tmp, backup, stix) = demo_copy();
    let tcc = blob(&backup, "HomeDomain", "Library/TCC/TCC.db");
    let c = rusqlite::Connection::open(&tcc).unwrap();
    c.execute_batch("DROP TABLE access;").unwrap();
    drop(c);
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    let status = modules_status(&out);
    assert!(
        status.iter().any(|(m, s)| m == "tcc" && s != "done"),
        "{status:?}"
    );
}

#[test]
fn info_plist_that_is_not_a_plist() {
    let (tmp, backup, stix) = demo_copy();
    std::fs::write(
        backup.join("Info.plist"),
        b"\x00\x01\x02 this is not a plist",
    )
    .unwrap();
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("Info.plist"), "{err}");
    let status = modules_status(&out);
    assert!(
        status.contains(&("backup_info".into(), "failed".into())),
        "{status:?}"
    );
}

#[test]
fn truncated_binary_plist_blob() {
    let (tmp, backup, stix) = demo_copy();
    let prefs = blob(
        &backup,
        "HomeDomain",
        "Library/Preferences/.GlobalPreferences.plist",
    );
    let bytes = std::fs::read(&prefs).unwrap();
    std::fs::write(&prefs, &bytes[..bytes.len() / 2]).unwrap();
    let (code, err, _) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
}

#[test]
fn encrypted_backup_is_refused_with_exit_2() {
    let (tmp, backup, stix) = demo_copy();
    let mut d = plist::Dictionary::new();
    d.insert("IsEncrypted".into(), plist::Value::Boolean(true));
    plist::Value::Dictionary(d)
        .to_file_binary(backup.join("Manifest.plist"))
        .unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
}

#[test]
fn wal_rows_are_checked_and_evidence_is_untouched() {
    let (tmp, backup, stix) = demo_copy();
    // Put a message only in sms.db's write-ahead log, stored as its own backup file as iOS
    // does: the database file is unchanged and the indicator is only in the -wal.
    let sms = blob(&backup, "HomeDomain", "Library/SMS/sms.db");
    let work = tmp.path().join("work.db");
    std::fs::copy(&sms, &work).unwrap();
    let writer = rusqlite::Connection::open(&work).unwrap();
    writer
        .execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;
             INSERT INTO message (guid, text, handle_id, service, date, is_from_me)
             VALUES ('WAL-ONLY', 'new link https://wal.bridle-demo.example.com/x', 1, 'iMessage', 700000000000000000, 0);",
        )
        .unwrap();
    std::fs::copy(&work, &sms).unwrap();
    let wal = blob(&backup, "HomeDomain", "Library/SMS/sms.db-wal");
    std::fs::create_dir_all(wal.parent().unwrap()).unwrap();
    std::fs::copy(tmp.path().join("work.db-wal"), &wal).unwrap();
    drop(writer);
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    let alerts = read_json(&out.join("sms_detected.json"));
    assert!(
        alerts
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["event"]["guid"] == "WAL-ONLY"),
        "the WAL-only message was not read"
    );
    // No -shm or anything else appeared beside the evidence (checked by `check`).
}

#[test]
fn invalid_stix_files_are_reported_and_the_run_goes_on() {
    let (tmp, backup, stix) = demo_copy();
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, b"{ this is not json").unwrap();
    let odd = tmp.path().join("odd.stix2");
    std::fs::write(
        &odd,
        br#"{"type":"bundle","id":"bundle--1","objects":[{"type":"indicator","id":"indicator--x","pattern":"[x-unknown:thing MATCHES 'a']","pattern_type":"stix"}]}"#,
    )
    .unwrap();
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        bad.to_str().unwrap(),
        "--iocs",
        odd.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("indicator--x"), "{err}");
}

#[test]
fn non_utf8_message_text() {
    let (tmp, backup, stix) = demo_copy();
    let sms = blob(&backup, "HomeDomain", "Library/SMS/sms.db");
    let c = rusqlite::Connection::open(&sms).unwrap();
    c.execute(
        "UPDATE message SET text = CAST(?1 AS TEXT) WHERE ROWID = 1",
        [b"caf\xe9 \xff\xfe https://x.bridle-demo.example.com/".to_vec()],
    )
    .unwrap();
    drop(c);
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    let sms = std::fs::read_to_string(out.join("sms.json")).unwrap();
    assert!(
        sms.contains("caf\\\\xe9"),
        "invalid bytes are kept as \\xNN escapes"
    );
}

/// Adds a file to a backup: its blob under its fileID and a Manifest.db row.
fn add_backup_file(backup: &Path, domain: &str, rel: &str, bytes: &[u8]) {
    let path = blob(backup, domain, rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let c = rusqlite::Connection::open(backup.join("Manifest.db")).unwrap();
    c.execute(
        "INSERT INTO Files VALUES (?1, ?2, ?3, 1, NULL)",
        rusqlite::params![file_id(domain, rel), domain, rel],
    )
    .unwrap();
}

#[test]
fn exploit_files_in_attachment_stores_are_found_by_content() {
    let shared = shared();
    let (tmp, backup, stix) = demo_copy();
    let positive = shared.join("fixtures/exploits/positive");
    // FORCEDENTRY was a PDF named .gif; BLASTPASS a WebP inside a PassKit attachment.
    add_backup_file(
        &backup,
        "MediaDomain",
        "Library/SMS/Attachments/4f/15/AB12/IMG_0001.gif",
        &std::fs::read(positive.join("FORCEDENTRY.gif")).unwrap(),
    );
    add_backup_file(
        &backup,
        "AppDomainGroup-group.net.whatsapp.WhatsApp.shared",
        "Message/Media/1234@s.whatsapp.net/a/b/photo.jpg",
        &std::fs::read(positive.join("BLASTPASS.webp")).unwrap(),
    );
    // A benign WebP is scanned and clean.
    let benign = std::fs::read_dir(shared.join("fixtures/exploits/benign/webp"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "webp"))
        .unwrap();
    add_backup_file(
        &backup,
        "MediaDomain",
        "Library/SMS/Attachments/aa/bb/sticker.webp",
        &std::fs::read(benign).unwrap(),
    );
    let (code, err, out) = check(&backup, &stix, tmp.path());
    assert_eq!(code, 1, "{err}");
    let alerts = read_json(&out.join("exploit_files_detected.json"));
    let high: Vec<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["level"] == "HIGH")
        .map(|a| a["message"].as_str().unwrap())
        .collect();
    assert!(
        high.iter()
            .any(|m| m.starts_with("FORCEDENTRY") && m.contains("IMG_0001.gif")),
        "{high:?}"
    );
    assert!(
        high.iter()
            .any(|m| m.starts_with("BLASTPASS") && m.contains("photo.jpg")),
        "{high:?}"
    );
    let records = read_json(&out.join("exploit_files.json"));
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 3, "{records:?}");
    let sticker = records
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("sticker.webp"))
        .unwrap();
    assert_eq!(sticker["findings"], serde_json::json!([]));
    assert_eq!(sticker["format"], "webp");
}
