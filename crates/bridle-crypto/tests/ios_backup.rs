//! Encrypted iOS backups: the fixtures of `shared/fixtures/encrypted/` decrypt to the
//! values their README publishes (three independent decryptors agree on them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Cursor};

use bridle_crypto::ios::{
    DecryptError, DerivedKey, FileKey, Keybag, ManifestPlist, UnlockError, UnlockedKeybag,
    derived_key_hex, looks_like_sqlite, split_key_blob,
};
use bridle_crypto::kdf::pbkdf2_hmac_sha256;
use common::{Fixture, HashWriter, expected_files, intermediate, sha256_hex};

const PASSWORD: &[u8] = b"bridle-test";

/// `EncryptionKey` bytes, `ProtectionClass` and `Size` of an MBFile NSKeyedArchiver blob:
/// `$objects[1]` is the MBFile dict; its `EncryptionKey` is a UID pointing at an object
/// whose `NS.data` holds the key blob.
struct Record {
    key_blob: Option<Vec<u8>>,
    protection_class: Option<u64>,
    size: u64,
}

fn parse_record(blob: &[u8]) -> Record {
    let value = plist::Value::from_reader(Cursor::new(blob)).unwrap();
    let objects = value
        .as_dictionary()
        .unwrap()
        .get("$objects")
        .unwrap()
        .as_array()
        .unwrap();
    let file = objects[1].as_dictionary().unwrap();
    let key_blob = file.get("EncryptionKey").map(|v| {
        let uid = v.as_uid().unwrap().get();
        objects[usize::try_from(uid).unwrap()]
            .as_dictionary()
            .unwrap()
            .get("NS.data")
            .unwrap()
            .as_data()
            .unwrap()
            .to_vec()
    });
    Record {
        key_blob,
        protection_class: file
            .get("ProtectionClass")
            .and_then(|v| v.as_unsigned_integer()),
        size: file
            .get("Size")
            .and_then(|v| v.as_unsigned_integer())
            .unwrap_or(0),
    }
}

struct Opened {
    keybag: Keybag,
    unlocked: UnlockedKeybag,
    manifest_key: FileKey,
}

/// Steps 1-4, each checked against the README's intermediate values. `check_first_stage`
/// also runs the SHA-256 stage alone (a second full-cost PBKDF2, so only on the fast one).
fn open(fixture: Fixture, check_first_stage: bool) -> Opened {
    let dir = fixture.dir();
    let manifest =
        ManifestPlist::parse(&std::fs::read(dir.join("Manifest.plist")).unwrap()).unwrap();
    assert!(manifest.is_encrypted);
    assert_eq!(manifest.product_version.as_deref(), Some("14.3"));
    let keybag = manifest.parse_keybag().unwrap();
    assert_eq!(
        hex::encode(keybag.uuid()),
        intermediate("keybag UUID", fixture)
    );
    assert_eq!(hex::encode(keybag.salt()), intermediate("SALT", fixture));
    let stage = keybag.second_stage().expect("iOS 14 keybag has DPSL/DPIC");
    assert_eq!(hex::encode(&stage.salt), intermediate("DPSL", fixture));
    assert_eq!(keybag.classes().len(), 11);

    if check_first_stage {
        let mut first = [0u8; 32];
        pbkdf2_hmac_sha256(PASSWORD, &stage.salt, stage.iterations, &mut first);
        assert_eq!(
            hex::encode(first),
            intermediate("PBKDF2-SHA256 output", fixture)
        );
    }

    let derived = keybag.derive_key(PASSWORD);
    assert_eq!(
        derived.to_hex().as_str(),
        intermediate("passcode key", fixture)
    );
    let unlocked = keybag.unlock(&derived).unwrap();
    assert_eq!(
        unlocked.class_key_hex(4).unwrap().as_str(),
        intermediate("class key 4", fixture)
    );
    let manifest_key = unlocked
        .unwrap_manifest_key(manifest.manifest_key.as_deref().unwrap())
        .unwrap();
    assert_eq!(
        manifest_key.to_hex().as_str(),
        intermediate("Manifest.db key", fixture)
    );
    Opened {
        keybag,
        unlocked,
        manifest_key,
    }
}

/// Decrypts Manifest.db, checks it is the SQLite database the README describes, and
/// returns a connection to a temporary copy.
fn manifest_db(fixture: Fixture, key: &FileKey) -> (tempfile::TempDir, rusqlite::Connection) {
    let encrypted = std::fs::read(fixture.dir().join("Manifest.db")).unwrap();
    let plain = key.decrypt_vec(&encrypted).unwrap();
    assert_eq!(plain.len(), 3_285_008);
    assert!(looks_like_sqlite(&plain));
    // The streaming path gives the same bytes.
    let mut streamed = Vec::new();
    let n = key
        .decrypt_to(
            File::open(fixture.dir().join("Manifest.db")).unwrap(),
            &mut streamed,
        )
        .unwrap();
    assert_eq!(n, 3_285_008);
    assert_eq!(streamed, plain);

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("Manifest.db");
    std::fs::write(&path, &plain).unwrap();
    let db =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM Files", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 3_722);
    (tmp, db)
}

fn file_blob(db: &rusqlite::Connection, file_id: &str) -> Vec<u8> {
    db.query_row("SELECT file FROM Files WHERE fileID = ?1", [file_id], |r| {
        r.get(0)
    })
    .unwrap()
}

/// Every file of the README's table decrypts, streaming, to its published SHA-256, with
/// the key of its own protection class.
fn check_files(fixture: Fixture, unlocked: &UnlockedKeybag, db: &rusqlite::Connection) {
    let expected = expected_files();
    assert_eq!(expected.len(), 11);
    for want in &expected {
        let record = parse_record(&file_blob(db, &want.file_id));
        let blob = record.key_blob.expect("keyed record");
        let (blob_class, wrapped) = split_key_blob(&blob).unwrap();
        assert_eq!(blob_class, want.class, "{}", want.file_id);
        assert_eq!(record.protection_class, Some(u64::from(want.class)));
        assert_eq!(record.size, want.bytes);
        let key = unlocked.unwrap_file_key(&blob).unwrap();
        // The explicit-class variant agrees.
        let again = unlocked
            .unwrap_file_key_with_class(want.class, wrapped)
            .unwrap();
        assert_eq!(key.to_hex().as_str(), again.to_hex().as_str());

        let path = fixture.dir().join(&want.file_id[..2]).join(&want.file_id);
        let mut out = HashWriter::default();
        let n = key
            .decrypt_to_expecting(File::open(&path).unwrap(), &mut out, record.size)
            .unwrap();
        assert_eq!(n, want.bytes, "{}", want.file_id);
        assert_eq!(out.hex(), want.sha256, "{}", want.file_id);
    }
}

#[test]
fn fast_fixture_decrypts_to_published_values() {
    let fixture = Fixture::Fast;
    let opened = open(fixture, true);
    let (_tmp, db) = manifest_db(fixture, &opened.manifest_key);
    check_files(fixture, &opened.unlocked, &db);

    // Every keyed record of Manifest.db unwraps with its class key: 1,090 keys, the class
    // counts the README gives.
    let mut stmt = db
        .prepare("SELECT fileID, file FROM Files WHERE flags = 1")
        .unwrap();
    let mut per_class: BTreeMap<u32, usize> = BTreeMap::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap();
    for row in rows {
        let (file_id, blob) = row.unwrap();
        let record = parse_record(&blob);
        let Some(key_blob) = record.key_blob else {
            continue;
        };
        let (class, _) = split_key_blob(&key_blob).unwrap();
        assert_eq!(record.protection_class, Some(u64::from(class)), "{file_id}");
        opened
            .unlocked
            .unwrap_file_key(&key_blob)
            .unwrap_or_else(|e| panic!("{file_id}: {e}"));
        *per_class.entry(class).or_default() += 1;
    }
    assert_eq!(
        per_class,
        BTreeMap::from([(1, 7), (2, 2), (3, 582), (4, 499)])
    );
}

#[test]
fn fast_fixture_wrong_password_and_key_file() {
    let fixture = Fixture::Fast;
    let dir = fixture.dir();
    let manifest =
        ManifestPlist::parse(&std::fs::read(dir.join("Manifest.plist")).unwrap()).unwrap();
    let keybag = manifest.parse_keybag().unwrap();
    for wrong in [&b"bridle-tesT"[..], b"", b"bridle-test ", b"bridle-test\n"] {
        assert_eq!(
            keybag.unlock(&keybag.derive_key(wrong)).unwrap_err(),
            UnlockError::WrongPassword,
            "{wrong:?}"
        );
        assert_eq!(
            derived_key_hex(&keybag, wrong).unwrap_err(),
            UnlockError::WrongPassword
        );
    }
    // `bridle ios extract-key` output, written to a key file with a newline, reads back.
    let hex_key = derived_key_hex(&keybag, PASSWORD).unwrap();
    assert_eq!(hex_key.as_str(), intermediate("passcode key", fixture));
    let from_file = DerivedKey::from_hex(&format!("{}\n", hex_key.as_str())).unwrap();
    let unlocked = keybag.unlock(&from_file).unwrap();
    assert!(
        unlocked
            .unwrap_manifest_key(manifest.manifest_key.as_deref().unwrap())
            .is_ok()
    );
    // A key file holding another backup's key is a wrong password too.
    let other = DerivedKey::from_hex(&intermediate("passcode key", Fixture::Real)).unwrap();
    assert_eq!(
        keybag.unlock(&other).unwrap_err(),
        UnlockError::WrongPassword
    );
}

#[test]
fn fast_fixture_bad_ciphertexts() {
    let opened = open(Fixture::Fast, true);
    let dir = Fixture::Fast.dir();
    let (_tmp, db) = manifest_db(Fixture::Fast, &opened.manifest_key);
    // sms.db: 28,672 bytes, a multiple of 16, so a full padding block follows.
    let sms = "3d0d7e5fb2ce288813306e4d4636395e047a3d28";
    let record = parse_record(&file_blob(&db, sms));
    let key = opened
        .unlocked
        .unwrap_file_key(&record.key_blob.unwrap())
        .unwrap();
    let ciphertext = std::fs::read(dir.join(&sms[..2]).join(sms)).unwrap();
    assert_eq!(ciphertext.len(), 28_672 + 16);

    // Not a multiple of 16.
    match key.decrypt_vec(&ciphertext[..ciphertext.len() - 7]) {
        Err(DecryptError::NotBlockAligned { ciphertext_len }) => {
            assert_eq!(ciphertext_len, 28_672 + 9);
        }
        other => panic!("{other:?}"),
    }

    // Wrong padding: the padding block cut off. The error says how much was written, and
    // the explicit fallback to the recorded Size recovers the file exactly.
    let cut = &ciphertext[..28_672];
    let mut partial = Vec::new();
    match key.decrypt_to(cut, &mut partial) {
        Err(DecryptError::BadPadding {
            ciphertext_len,
            written,
        }) => {
            assert_eq!(ciphertext_len, 28_672);
            assert_eq!(written, 28_672 - 16);
            assert_eq!(partial.len(), 28_672 - 16);
        }
        other => panic!("{other:?}"),
    }
    let mut recovered = HashWriter::default();
    key.decrypt_to_size(cut, &mut recovered, record.size)
        .unwrap();
    assert_eq!(recovered.len, 28_672);
    assert_eq!(
        recovered.hex(),
        "2d7c6e9a504cd54ea8a389ebf27285d06d4a3043c35ec06e458c5a571eaf48d0"
    );
    // ... but a stale Size far from the ciphertext length is refused (MVT issue #669:
    // sms.db's original record said 278,528).
    assert!(matches!(
        key.decrypt_to_size(&ciphertext[..], io::sink(), 278_528),
        Err(DecryptError::SizeOutOfRange { .. })
    ));
    assert!(matches!(
        key.decrypt_to_expecting(&ciphertext[..], io::sink(), 278_528),
        Err(DecryptError::SizeMismatch {
            expected: 278_528,
            actual: 28_672
        })
    ));
    // A flipped byte in the last block is caught by the padding check (CBC garbles the
    // whole last block).
    let mut flipped = ciphertext.clone();
    let at = flipped.len() - 20;
    flipped[at] ^= 0x01;
    assert!(matches!(
        key.decrypt_vec(&flipped),
        Err(DecryptError::BadPadding { .. })
    ));

    // A Manifest.db decrypted with the wrong key is garbage, whatever the padding says.
    let manifest_ct = std::fs::read(dir.join("Manifest.db")).unwrap();
    match key.decrypt_vec(&manifest_ct) {
        Err(DecryptError::BadPadding { .. }) => {}
        Ok(plain) => assert!(!looks_like_sqlite(&plain)),
        Err(e) => panic!("{e:?}"),
    }
    let mut garbage = Vec::new();
    key.decrypt_to_size(&manifest_ct[..], &mut garbage, 3_285_008)
        .unwrap();
    assert!(!looks_like_sqlite(&garbage));
    assert_ne!(sha256_hex(&garbage[..4096]), sha256_hex(&[0u8; 4096]));
}

/// SLOW: derives with the real-world cost (DPIC = 10,000,000, ITER = 10,000), about a
/// second of PBKDF2 in an optimised build. Runs in CI on purpose: it is the only test of
/// the key-derivation fast path at full length against values computed elsewhere.
#[test]
fn real_fixture_decrypts_to_published_values_slow() {
    let fixture = Fixture::Real;
    let started = std::time::Instant::now();
    let opened = open(fixture, false);
    eprintln!("real fixture: derive + unlock took {:?}", started.elapsed());
    assert_eq!(
        opened.keybag.second_stage().unwrap().iterations.get(),
        10_000_000
    );
    assert_eq!(opened.keybag.iterations().get(), 10_000);
    let (_tmp, db) = manifest_db(fixture, &opened.manifest_key);
    check_files(fixture, &opened.unlocked, &db);
    // Wrong key (the fast fixture's, as from a wrong key file) without a second
    // full-cost derivation.
    let wrong = DerivedKey::from_hex(&intermediate("passcode key", Fixture::Fast)).unwrap();
    assert_eq!(
        opened.keybag.unlock(&wrong).unwrap_err(),
        UnlockError::WrongPassword
    );
}
