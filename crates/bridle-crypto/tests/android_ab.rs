//! Android `.ab` backups: MVT's test files decode to the tar streams whose SHA-256 MVT's
//! tests check (also listed in `fixtures/encrypted/README.md`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{self, Read};
use std::path::PathBuf;

use bridle_crypto::android::{AbEncryption, AbError, AbOptions, AbReader};
use common::{HashWriter, shared};

fn ab(name: &str) -> PathBuf {
    shared().join("fixtures/mvt/android_backup").join(name)
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(ab(name)).unwrap()
}

/// Decodes all of `data`; returns (sha256, length) or the error.
fn decode(data: &[u8], password: Option<&[u8]>) -> Result<(String, u64), AbError> {
    let mut reader = AbReader::open(data, password)?;
    let mut out = HashWriter::default();
    io::copy(&mut reader, &mut out).map_err(|e| match AbError::from_io_ref(&e) {
        Some(_) => unwrap_ab(e),
        None => AbError::Io(e),
    })?;
    let len = out.len;
    Ok((out.hex(), len))
}

fn unwrap_ab(e: io::Error) -> AbError {
    *e.into_inner().unwrap().downcast::<AbError>().unwrap()
}

#[test]
fn v1_compressed_plain() {
    let file = std::fs::File::open(ab("backup.ab")).unwrap();
    let mut reader = AbReader::open(file, None).unwrap();
    assert_eq!(reader.header().version, 1);
    assert!(reader.header().compressed);
    assert_eq!(reader.header().encryption, AbEncryption::None);
    let mut out = HashWriter::default();
    assert_eq!(io::copy(&mut reader, &mut out).unwrap(), 10_240);
    assert_eq!(
        out.hex(),
        "ce1ac5009fea5187a9f546b51e1446ba450243ae91d31dc779233ec0937b5d18"
    );
}

#[test]
fn v5_encrypted_uncompressed() {
    let data = bytes("backup2.ab");
    let reader = AbReader::open(&data[..], Some(b"123456")).unwrap();
    assert_eq!(reader.header().version, 5);
    assert!(!reader.header().compressed);
    assert_eq!(
        reader.header().encryption,
        AbEncryption::Aes256 { rounds: 10_000 }
    );
    assert_eq!(
        decode(&data, Some(b"123456")).unwrap(),
        (
            "f365ace1effbc4902c6aeba241ca61544f8a96ad456c1861808ea87b7dd03896".to_string(),
            5_120
        )
    );
    // The AndroidQF copy is the same file.
    let qf = std::fs::read(shared().join("fixtures/mvt/androidqf_encrypted/backup.ab")).unwrap();
    assert_eq!(decode(&qf, Some(b"123456")).unwrap().1, 5_120);
}

#[test]
fn v5_compressed_plain() {
    assert_eq!(
        decode(&bytes("backup3.ab"), None).unwrap(),
        (
            "33e73df2ede9798dcb3a85c06200ee41c8f52dd2f2e50ffafcceb0407bc13e3a".to_string(),
            5_120
        )
    );
}

#[test]
fn wrong_or_missing_password() {
    let data = bytes("backup2.ab");
    for wrong in [&b"invalid_password"[..], b"", b"1234567", b"123456\n"] {
        assert!(
            matches!(decode(&data, Some(wrong)), Err(AbError::WrongPassword)),
            "{wrong:?}"
        );
    }
    assert!(matches!(
        decode(&data, None),
        Err(AbError::PasswordRequired)
    ));
    // A password given for an unencrypted backup is ignored.
    assert!(decode(&bytes("backup3.ab"), Some(b"whatever")).is_ok());
}

#[test]
fn truncated_files() {
    for (name, password) in [
        ("backup.ab", None),
        ("backup2.ab", Some(&b"123456"[..])),
        ("backup3.ab", None),
    ] {
        let data = bytes(name);
        // Cut in the body at many points: never a silent short tar.
        let lines = if password.is_some() { 9 } else { 4 };
        let header_end = data
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(lines - 1)
            .unwrap()
            .0
            + 1;
        for cut in (header_end..data.len()).step_by(37).chain([data.len() - 1]) {
            let err = decode(&data[..cut], password).unwrap_err();
            assert!(
                matches!(
                    err,
                    AbError::Truncated { .. } | AbError::BadPadding | AbError::CorruptZlib { .. }
                ),
                "{name} cut at {cut}: {err:?}"
            );
        }
        // Cut in the header.
        for cut in [0usize, 5, 15, 17, 19] {
            let err = decode(&data[..cut], password).unwrap_err();
            assert!(
                matches!(
                    err,
                    AbError::NotAndroidBackup | AbError::TruncatedHeader { .. }
                ),
                "{name} cut at {cut}: {err:?}"
            );
        }
    }
}

/// Replaces the header's `<compressed>\n<encryption>\n` lines.
fn relabel(data: &[u8], old: &str, new: &str) -> Vec<u8> {
    let text_end = data
        .iter()
        .position(|&b| b > 0x7e)
        .unwrap_or(data.len())
        .min(40);
    let head = String::from_utf8_lossy(&data[..text_end]).to_string();
    let at = head.find(old).unwrap();
    let mut out = data[..at].to_vec();
    out.extend(new.as_bytes());
    out.extend(&data[at + old.len()..]);
    out
}

#[test]
fn lying_headers() {
    // backup3 is compressed; claim it is not.
    let lie = relabel(&bytes("backup3.ab"), "5\n1\nnone\n", "5\n0\nnone\n");
    assert!(matches!(decode(&lie, None), Err(AbError::NotTar)));
    // backup2 is not compressed; claim it is, and also that it is not encrypted (its key
    // lines then become "body").
    let data = bytes("backup2.ab");
    let lie = relabel(&data, "5\n0\nAES-256\n", "5\n1\nAES-256\n");
    assert!(matches!(
        decode(&lie, Some(b"123456")),
        Err(AbError::NotZlib)
    ));
    let lie = relabel(&data, "5\n0\nAES-256\n", "5\n0\nnone\n");
    assert!(matches!(decode(&lie, None), Err(AbError::NotTar)));
    // backup.ab is compressed and not encrypted; claim it is encrypted: its zlib body is
    // read as the five key lines.
    let lie = relabel(&bytes("backup.ab"), "1\n1\nnone\n", "1\n1\nAES-256\n");
    let err = decode(&lie, Some(b"123456")).unwrap_err();
    assert!(
        matches!(
            err,
            AbError::BadHeaderValue { .. }
                | AbError::LineTooLong { .. }
                | AbError::TruncatedHeader { .. }
        ),
        "{err:?}"
    );
    // An unknown algorithm.
    let lie = relabel(&data, "AES-256", "AES-512");
    assert!(matches!(
        decode(&lie, Some(b"123456")),
        Err(AbError::UnsupportedEncryption { .. })
    ));
}

#[test]
fn incomplete_encrypted_header() {
    // MVT's test case: "Invalid encrypted backup header".
    let err = decode(
        b"ANDROID BACKUP\n5\n0\nAES-256\ntruncated",
        Some(b"password"),
    )
    .unwrap_err();
    assert!(
        matches!(err, AbError::TruncatedHeader { field: "user salt" }),
        "{err:?}"
    );
    // The real header with its last line (the master-key blob) cut.
    let data = bytes("backup2.ab");
    let newlines: Vec<usize> = data
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
        .take(9)
        .collect();
    let err = decode(&data[..newlines[7] + 1], Some(b"123456")).unwrap_err();
    assert!(
        matches!(
            err,
            AbError::TruncatedHeader {
                field: "master key blob"
            }
        ),
        "{err:?}"
    );
    let err = decode(&data[..newlines[8]], Some(b"123456")).unwrap_err();
    assert!(
        matches!(
            err,
            AbError::TruncatedHeader {
                field: "master key blob"
            }
        ),
        "{err:?}"
    );
}

#[test]
fn output_cap_applies_to_fixtures() {
    let data = bytes("backup.ab");
    let mut reader = AbReader::open_with(&data[..], None, &AbOptions { max_output: 4096 }).unwrap();
    let mut sink = Vec::new();
    let err = reader.read_to_end(&mut sink).unwrap_err();
    assert!(matches!(
        AbError::from_io_ref(&err),
        Some(AbError::TooLarge { limit: 4096 })
    ));
    assert!(sink.len() <= 4096);
}
