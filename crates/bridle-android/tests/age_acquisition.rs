//! An AndroidQF acquisition encrypted with age (as AndroidQF does when it finds a key.txt),
//! made in the test with the age crate: it must check exactly like its plain form.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(feature = "age")]

mod common;

use age::secrecy::ExposeSecret;
use bridle_android::modules;
use bridle_android::{AndroidKind, AndroidQf, OpenError, OpenOptions, detect};
use bridle_evidence::EvidenceLog;
use common::*;
use std::io::Write;
use std::sync::Arc;

/// The androidqf fixture as AndroidQF zips it (one top folder), encrypted to a new identity.
/// Returns (dir, encrypted file, identity file).
fn encrypted_fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let src = mvt("androidqf");
    let mut names: Vec<_> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let contents: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            (
                format!("androidqf/{}", n.to_string_lossy()),
                std::fs::read(src.join(n)).unwrap(),
            )
        })
        .collect();
    let refs: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    let zip = dir.path().join("plain.zip");
    write_zip(&zip, &refs);

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public();
    let encrypted = dir.path().join("acquisition.zip.age");
    let out = std::fs::File::create(&encrypted).unwrap();
    let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap();
    let mut w = enc.wrap_output(out).unwrap();
    w.write_all(&std::fs::read(&zip).unwrap()).unwrap();
    w.finish().unwrap();
    let key = dir.path().join("key.txt");
    std::fs::write(
        &key,
        format!(
            "# test identity\n{}\n",
            identity.to_string().expose_secret()
        ),
    )
    .unwrap();
    (dir, encrypted, key)
}

fn summary(a: &Arc<AndroidQf>) -> Vec<(String, Vec<serde_json::Value>, Vec<String>, usize)> {
    modules::androidqf_modules(a)
        .iter()
        .map(|m| {
            let (_, sink) = run(m.as_ref());
            let data = sink
                .records
                .iter()
                .map(|r| serde_json::Value::Object(r.data.clone()))
                .collect();
            let alerts = sink.heuristics().map(|h| h.message.clone()).collect();
            (
                m.info().slug.to_owned(),
                data,
                alerts,
                sink.timeline().count(),
            )
        })
        .collect()
}

#[test]
fn age_encrypted_acquisition_checks_like_the_plain_one() {
    let (dir, encrypted, key) = encrypted_fixture();
    let before = tree_hash(dir.path());
    assert_eq!(detect(&encrypted), Some(AndroidKind::AndroidQfAge));
    let opts = OpenOptions {
        age_identity: Some(key.clone()),
        ..OpenOptions::default()
    };
    let log = EvidenceLog::new();
    let enc = Arc::new(AndroidQf::open(&encrypted, log.clone(), &opts).unwrap());
    let plain = Arc::new(
        AndroidQf::open(
            &mvt("androidqf"),
            EvidenceLog::new(),
            &OpenOptions::default(),
        )
        .unwrap(),
    );
    let (a, b) = (summary(&enc), summary(&plain));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y, "module {} differs", x.0);
    }
    let packages = a.iter().find(|m| m.0 == "aqf_packages").unwrap();
    assert_eq!((packages.1.len(), packages.2.len()), (7, 5));
    // The encrypted file itself is cited, and members by their path in the decrypted zip.
    let files = log.files();
    assert!(files.iter().any(|f| f.stored_path == "acquisition.zip.age"));
    assert!(
        files
            .iter()
            .any(|f| f.stored_path == "androidqf/packages.json")
    );
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn wrong_identity_corrupt_file_and_missing_identity() {
    let (dir, encrypted, _) = encrypted_fixture();
    let other = dir.path().join("other.txt");
    std::fs::write(
        &other,
        format!(
            "{}\n",
            age::x25519::Identity::generate()
                .to_string()
                .expose_secret()
        ),
    )
    .unwrap();
    let before = tree_hash(dir.path());
    let open = |path: &std::path::Path, id: Option<&std::path::Path>| {
        AndroidQf::open(
            path,
            EvidenceLog::new(),
            &OpenOptions {
                age_identity: id.map(std::path::Path::to_path_buf),
                ..OpenOptions::default()
            },
        )
    };
    assert!(matches!(
        open(&encrypted, None),
        Err(OpenError::AgeIdentityNeeded { .. })
    ));
    assert!(matches!(
        open(&encrypted, Some(&other)),
        Err(OpenError::Age { .. })
    ));
    let garbage = dir.path().join("garbage.txt");
    std::fs::write(&garbage, "not an identity\n").unwrap();
    assert!(matches!(
        open(&encrypted, Some(&garbage)),
        Err(OpenError::Age { .. })
    ));

    // A flipped byte in the payload: age's authentication refuses it.
    let mut bytes = std::fs::read(&encrypted).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 0x40;
    let corrupt = dir.path().join("corrupt.zip.age");
    std::fs::write(&corrupt, &bytes).unwrap();
    let key = dir.path().join("key.txt");
    let err = open(&corrupt, Some(&key)).unwrap_err().to_string();
    assert!(err.contains("damaged") || err.contains("decrypt"), "{err}");
    // A truncated header.
    let cut = dir.path().join("cut.zip.age");
    std::fs::write(&cut, &bytes[..40]).unwrap();
    assert!(matches!(open(&cut, Some(&key)), Err(OpenError::Age { .. })));
    let _ = before;
}
