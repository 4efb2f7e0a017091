//! Encrypted acquisitions: iOS backups (check, extract-key, decrypt) and Android `.ab`.
//! Fixtures and expected hashes: ../shared/fixtures/encrypted/README.md.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::{Path, PathBuf};

fn fast() -> PathBuf {
    shared().join("fixtures/encrypted/ios_backup_encrypted_fast")
}

fn password_file(dir: &Path, pw: &str) -> PathBuf {
    let p = dir.join(format!("pw-{}", pw.len()));
    std::fs::write(&p, format!("{pw}\n")).unwrap();
    p
}

fn indicator_alerts(out: &Path) -> Vec<(String, String)> {
    let mut v: Vec<_> = read_json(&out.join("alerts.json"))
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["module"].as_str().unwrap().to_owned(),
                a["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

fn records(out: &Path, module: &str) -> usize {
    match read_json(&out.join(format!("{module}.json"))) {
        serde_json::Value::Array(a) => a.len(),
        serde_json::Value::Object(o) => o.len(),
        _ => 0,
    }
}

#[test]
fn encrypted_backup_checks_like_the_plain_one() {
    let tmp = tempfile::tempdir().unwrap();
    let stix = shared().join("fixtures/mvt/stix2/test.stix2");
    let pw = password_file(tmp.path(), "bridle-test");
    let before = tree_hash(&fast());
    let enc = tmp.path().join("enc");
    let o = run(&[
        "check",
        fast().to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--output",
        enc.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(tree_hash(&fast()), before, "the encrypted evidence changed");
    let plain = tmp.path().join("plain");
    let o = run(&[
        "check",
        shared().join("fixtures/mvt/ios_backup").to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1);
    assert_eq!(indicator_alerts(&enc), indicator_alerts(&plain));
    for m in [
        "sms",
        "tcc",
        "whatsapp",
        "datausage",
        "global_preferences",
        "interaction_c",
    ] {
        assert_eq!(records(&enc, m), records(&plain, m), "{m}");
    }
    // The encrypted fixture's Manifest.db has one more row (LID.sqlite, see its README).
    assert_eq!(records(&enc, "manifest"), records(&plain, "manifest") + 1);
    // Citations name the encrypted blob as it is in the backup.
    let sms = read_json(&enc.join("sms_detected.json"));
    let (h, _) =
        bridle_evidence::hash_file(&fast().join("3d/3d0d7e5fb2ce288813306e4d4636395e047a3d28"))
            .unwrap();
    assert_eq!(sms[0]["provenance"]["sha256"], h.as_str());
}

#[test]
fn wrong_or_missing_password_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let wrong = password_file(tmp.path(), "not-the-password");
    let o = run(&[
        "check",
        fast().to_str().unwrap(),
        "--password-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("wrong"), "{}", stderr(&o));
    // No password and no terminal to ask on.
    let o = run(&["check", fast().to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("password"), "{}", stderr(&o));
}

#[test]
fn extract_key_then_decrypt_gives_the_published_plaintext() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = password_file(tmp.path(), "bridle-test");
    let key = tmp.path().join("key.hex");
    let o = run(&[
        "ios",
        "extract-key",
        fast().to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--output",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let hex = std::fs::read_to_string(&key).unwrap();
    assert_eq!(hex.trim().len(), 64);
    // The key alone decrypts: every file of the README's table has its published SHA-256.
    let out = tmp.path().join("decrypted");
    let o = run(&[
        "decrypt",
        fast().to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let readme = std::fs::read_to_string(shared().join("fixtures/encrypted/README.md")).unwrap();
    let mut checked = 0;
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() == 8 && cells[1].len() == 40 && cells[6].len() == 64 {
            let id = cells[1];
            let (h, _) = bridle_evidence::hash_file(&out.join(&id[..2]).join(id)).unwrap();
            assert_eq!(h, cells[6], "{id}");
            checked += 1;
        }
    }
    assert_eq!(checked, 11);
    // The decrypted copy is a plain backup bridle reads.
    let o = run(&["check", out.to_str().unwrap(), "--module", "sms"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Readable layout: domain/relativePath.
    let tree = tmp.path().join("tree");
    let o = run(&[
        "decrypt",
        fast().to_str().unwrap(),
        "--key-file",
        key.to_str().unwrap(),
        "--output",
        tree.to_str().unwrap(),
        "--layout",
        "tree",
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(tree.join("HomeDomain/Library/SMS/sms.db").is_file());
    // A wrong password gives no key.
    let wrong = password_file(tmp.path(), "nope");
    let o = run(&[
        "ios",
        "extract-key",
        fast().to_str().unwrap(),
        "--password-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(o.stdout.is_empty());
}

#[test]
fn android_ab_decrypts_to_mvts_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let pw = password_file(tmp.path(), "123456");
    let ab = shared().join("fixtures/mvt/android_backup/backup2.ab");
    let tar = tmp.path().join("backup2.tar");
    let o = run(&[
        "decrypt",
        ab.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--output",
        tar.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let (h, _) = bridle_evidence::hash_file(&tar).unwrap();
    // MVT's test: the decrypted tar of backup2.ab.
    assert_eq!(
        h,
        "f365ace1effbc4902c6aeba241ca61544f8a96ad456c1861808ea87b7dd03896"
    );
    let out = tmp.path().join("out");
    let o = run(&[
        "check",
        ab.to_str().unwrap(),
        "--password-file",
        pw.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(records(&out, "sms"), 1);
    let wrong = password_file(tmp.path(), "654321x");
    let o = run(&[
        "check",
        ab.to_str().unwrap(),
        "--password-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("password is wrong"), "{}", stderr(&o));
}
