//! Encrypted backups, decrypted on demand into a private temporary folder.
//!
//! With the password (or the derived key `bridle ios extract-key` printed), the keybag in
//! `Manifest.plist` is unlocked, `Manifest.db` is decrypted, and each file a module asks for
//! is decrypted the first time it is located (its key unwrapped from its `Files.file`
//! record). Modules then read plaintext through the same [`crate::Located`] paths as in a
//! plain backup, while evidence citations keep naming, and hashing, the encrypted blob that
//! is actually in the backup. Nothing decrypted is written anywhere else; the folder is
//! removed when the acquisition is dropped. Keys are held in zeroizing types and never
//! logged.

use bridle_crypto::ios::{
    DecryptError, DerivedKey, FileKey, Keybag, ManifestPlist, UnlockedKeybag,
};
use bridle_evidence::{EvidenceError, nska, plist_json};
use rusqlite::OptionalExtension;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use zeroize::Zeroizing;

/// What unlocks an encrypted backup.
pub enum BackupKey {
    /// The backup password (the slow derivation runs).
    Password(Zeroizing<String>),
    /// The derived key, as `bridle ios extract-key` prints it (64 hex digits).
    Derived(DerivedKey),
}

impl std::fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackupKey::Password(_) => "BackupKey::Password(<redacted>)",
            BackupKey::Derived(_) => "BackupKey::Derived(<redacted>)",
        })
    }
}

/// Why an encrypted backup could not be unlocked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnlockFailure {
    /// The password or key does not unlock the keybag.
    #[error("the password (or key) is wrong: it does not unlock the backup's keybag")]
    WrongPassword,
    /// The keybag or `ManifestKey` is damaged.
    #[error("{0}")]
    Damaged(String),
}

/// Derives the backup key from a password and checks it unlocks the keybag: what
/// `bridle ios extract-key` prints. A wrong password never yields a key.
pub fn derive_key(
    manifest_plist: &[u8],
    password: &str,
) -> Result<Zeroizing<String>, UnlockFailure> {
    let keybag = keybag(manifest_plist)?.0;
    bridle_crypto::ios::derived_key_hex(&keybag, password.as_bytes()).map_err(|e| match e {
        bridle_crypto::ios::UnlockError::WrongPassword => UnlockFailure::WrongPassword,
        other => UnlockFailure::Damaged(other.to_string()),
    })
}

fn keybag(manifest_plist: &[u8]) -> Result<(Keybag, ManifestPlist), UnlockFailure> {
    let mp = ManifestPlist::parse(manifest_plist)
        .map_err(|e| UnlockFailure::Damaged(format!("Manifest.plist: {e}")))?;
    let kb = mp
        .parse_keybag()
        .map_err(|e| UnlockFailure::Damaged(format!("Manifest.plist: {e}")))?;
    Ok((kb, mp))
}

/// An unlocked backup: the class keys and the folder holding what was decrypted so far.
pub(crate) struct Decryptor {
    unlocked: UnlockedKeybag,
    dir: tempfile::TempDir,
    /// fileID → decrypted file, so a file is decrypted once however many modules read it.
    done: Mutex<HashMap<String, PathBuf>>,
}

impl std::fmt::Debug for Decryptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Decryptor(<keys redacted>)")
    }
}

/// The fields of a file's `Files.file` record decryption needs.
struct FileRecord {
    encryption_key: Vec<u8>,
    size: Option<u64>,
}

impl Decryptor {
    /// Unlocks the keybag and decrypts `Manifest.db` into the private folder; returns the
    /// decryptor and the path of the decrypted Manifest.db.
    pub(crate) fn unlock(
        manifest_plist: &[u8],
        manifest_db: &Path,
        key: BackupKey,
    ) -> Result<(Decryptor, PathBuf), UnlockFailure> {
        let (kb, mp) = keybag(manifest_plist)?;
        let derived = match key {
            BackupKey::Password(p) => kb.derive_key(p.as_bytes()),
            BackupKey::Derived(k) => k,
        };
        let unlocked = kb.unlock(&derived).map_err(|e| match e {
            bridle_crypto::ios::UnlockError::WrongPassword => UnlockFailure::WrongPassword,
            other => UnlockFailure::Damaged(other.to_string()),
        })?;
        let dir = tempfile::Builder::new()
            .prefix("bridle-decrypted-")
            .tempdir()
            .map_err(|e| UnlockFailure::Damaged(format!("temporary folder: {e}")))?;
        let plain = dir.path().join("Manifest.db");
        let manifest_key = mp.manifest_key.as_deref().ok_or_else(|| {
            UnlockFailure::Damaged(
                "Manifest.plist has no ManifestKey (iOS before 10.2 is not supported)".into(),
            )
        })?;
        let fk = unlocked
            .unwrap_manifest_key(manifest_key)
            .map_err(|e| UnlockFailure::Damaged(format!("ManifestKey: {e}")))?;
        decrypt_file(&fk, manifest_db, &plain, None)
            .map_err(|e| UnlockFailure::Damaged(format!("Manifest.db: {e}")))?;
        let head = std::fs::read(&plain)
            .map(|b| b.get(..100).map(<[u8]>::to_vec).unwrap_or(b))
            .unwrap_or_default();
        if !bridle_crypto::ios::looks_like_sqlite(&head) {
            return Err(UnlockFailure::Damaged(
                "Manifest.db does not decrypt to an SQLite database: the backup is damaged or the key is wrong".into(),
            ));
        }
        Ok((
            Decryptor {
                unlocked,
                dir,
                done: Mutex::new(HashMap::new()),
            },
            plain,
        ))
    }

    /// The plaintext of a blob, decrypted on first use. `manifest_db` is the decrypted
    /// Manifest.db, where the file's key is.
    pub(crate) fn plaintext(
        &self,
        manifest_db: &Path,
        file_id: &str,
        blob: &Path,
    ) -> Result<PathBuf, EvidenceError> {
        if let Some(p) = self
            .done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(file_id)
        {
            return Ok(p.clone());
        }
        let malformed = |message: String| EvidenceError::Malformed {
            path: blob.to_path_buf(),
            message,
        };
        let record = file_record(manifest_db, file_id).map_err(&malformed)?;
        let fk = self
            .unlocked
            .unwrap_file_key(&record.encryption_key)
            .map_err(|e| malformed(format!("cannot unwrap the file's key: {e}")))?;
        let out = self.dir.path().join(file_id);
        decrypt_file(&fk, blob, &out, record.size).map_err(&malformed)?;
        self.done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(file_id.to_owned(), out.clone());
        Ok(out)
    }
}

/// Decrypts a file, checking the padding; when the padding is wrong and the record gives a
/// size within the last block, falls back to that size (as other decryptors always do).
fn decrypt_file(key: &FileKey, from: &Path, to: &Path, size: Option<u64>) -> Result<(), String> {
    let open = || std::fs::File::open(from).map_err(|e| e.to_string());
    let create = || std::fs::File::create(to).map_err(|e| e.to_string());
    match key.decrypt_to(
        std::io::BufReader::new(open()?),
        std::io::BufWriter::new(create()?),
    ) {
        Ok(_) => Ok(()),
        Err(DecryptError::BadPadding { .. }) if size.is_some() => {
            let size = size.unwrap_or_default();
            key.decrypt_to_size(
                std::io::BufReader::new(open()?),
                std::io::BufWriter::new(create()?),
                size,
            )
            .map(|_| ())
            .map_err(|e| format!("bad padding, and the recorded size does not fit: {e}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Reads a file's `EncryptionKey` and `Size` from the decrypted Manifest.db.
fn file_record(manifest_db: &Path, file_id: &str) -> Result<FileRecord, String> {
    let files = bridle_evidence::sqlite::DbFiles::beside(manifest_db);
    let db = bridle_evidence::sqlite::open(&files, &bridle_evidence::Limits::default())
        .map_err(|e| e.to_string())?;
    let blob: Option<Vec<u8>> = db
        .conn()
        .query_row("SELECT file FROM Files WHERE fileID = ?1", [file_id], |r| {
            r.get::<_, Option<Vec<u8>>>(0)
        })
        .optional()
        .map_err(|e| e.to_string())?
        .flatten();
    let blob = blob.ok_or("the file has no record in Manifest.db, so no key to decrypt it")?;
    let archive = plist_json::parse_plist(&blob).map_err(|e| format!("Files.file: {e}"))?;
    let obj = nska::object(&archive, 1).ok_or("Files.file: no MBFile object")?;
    let key_ref = plist_json::get(obj, "EncryptionKey").ok_or("Files.file: no EncryptionKey")?;
    let key_obj =
        nska::deref(&archive, key_ref).ok_or("Files.file: EncryptionKey points nowhere")?;
    let encryption_key = match key_obj {
        plist::Value::Data(d) => d.clone(),
        other => match plist_json::get(other, "NS.data") {
            Some(plist::Value::Data(d)) => d.clone(),
            _ => return Err("Files.file: EncryptionKey holds no data".into()),
        },
    };
    let size = plist_json::get(obj, "Size")
        .and_then(plist_json::as_i64)
        .and_then(|s| u64::try_from(s).ok());
    Ok(FileRecord {
        encryption_key,
        size,
    })
}

/// How `bridle decrypt` lays out the decrypted files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// As a backup: `<fileID[0:2]>/<fileID>`, with a decrypted `Manifest.db` and a
    /// `Manifest.plist` that says it is not encrypted, so MVT and bridle read it as a plain
    /// backup.
    Backup,
    /// Readable paths: `<domain>/<relativePath>`.
    Tree,
}

/// What [`decrypt_backup`] wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecryptReport {
    /// Files decrypted.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Files listed in Manifest.db but absent from the backup.
    pub absent: u64,
    /// Files that could not be decrypted, with why (the rest were written).
    pub failed: Vec<(String, String)>,
}

/// Why a decryption could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptBackupError {
    /// The backup could not be opened or unlocked.
    #[error(transparent)]
    Open(#[from] crate::OpenError),
    /// The backup is not encrypted.
    #[error("{0}: the backup is not encrypted, there is nothing to decrypt")]
    NotEncrypted(PathBuf),
    /// Writing the output failed.
    #[error("{path}: {source}")]
    Write {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Reading Manifest.db failed.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// Keeps a relative path from a hostile Manifest.db inside the output folder: no absolute
/// paths, no `..`, no empty or control-character components.
fn safe_relative(domain: &str, rel: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in std::iter::once(domain).chain(rel.split('/')) {
        if part.is_empty() || part == "." || part == ".." || part.chars().any(char::is_control) {
            return None;
        }
        if part.contains('\\') && cfg!(windows) {
            return None;
        }
        out.push(part);
    }
    Some(out)
}

/// Decrypts a whole backup into `dest` (which must be new or empty), in parallel.
pub fn decrypt_backup(
    path: &Path,
    key: BackupKey,
    dest: &Path,
    layout: Layout,
) -> Result<DecryptReport, DecryptBackupError> {
    use rayon::prelude::*;
    let ios = crate::Ios::open_backup_with(
        path,
        bridle_evidence::EvidenceLog::new(),
        bridle_evidence::Limits::default(),
        Some(key),
    )?;
    let (Some(d), Ok(manifest)) = (&ios.decryptor, &ios.manifest) else {
        return Err(DecryptBackupError::NotEncrypted(path.to_path_buf()));
    };
    let write_err = |p: &Path, e: std::io::Error| DecryptBackupError::Write {
        path: p.to_path_buf(),
        source: e,
    };
    std::fs::create_dir_all(dest).map_err(|e| write_err(dest, e))?;
    let mut rows = Vec::new();
    ios.manifest_rows(crate::ManifestFilter::All, false, |r| {
        if r.flags == Some(1) {
            rows.push(r);
        }
    })?;
    if layout == Layout::Backup {
        let out = dest.join("Manifest.db");
        std::fs::copy(manifest, &out).map_err(|e| write_err(&out, e))?;
        for name in ["Info.plist", "Status.plist"] {
            let from = ios.root().path().join(name);
            if from.is_file() {
                let out = dest.join(name);
                std::fs::copy(&from, &out).map_err(|e| write_err(&out, e))?;
            }
        }
        // The original Manifest.plist without its keys, saying it is not encrypted.
        let original =
            plist_json::read_plist(&ios.root().path().join("Manifest.plist"), ios.limits())?;
        let mut dict = original.into_dictionary().unwrap_or_default();
        dict.insert("IsEncrypted".into(), plist::Value::Boolean(false));
        dict.remove("BackupKeyBag");
        dict.remove("ManifestKey");
        let out = dest.join("Manifest.plist");
        plist::Value::Dictionary(dict)
            .to_file_binary(&out)
            .map_err(|e| write_err(&out, std::io::Error::other(e)))?;
    }
    let results: Vec<Result<(u64, bool), (String, String)>> = rows
        .par_iter()
        .map(|r| {
            let name = format!("{}/{}", r.domain, r.relative_path);
            let blob = match ios.blob_path(&r.file_id) {
                Ok(Some(b)) => b,
                Ok(None) => return Ok((0, false)),
                Err(e) => return Err((name, e.to_string())),
            };
            let out = match layout {
                Layout::Backup => {
                    let sub = r.file_id.get(..2).unwrap_or("00");
                    dest.join(sub).join(&r.file_id)
                }
                Layout::Tree => match safe_relative(&r.domain, &r.relative_path) {
                    Some(rel) => dest.join(rel),
                    None => return Err((name, "unsafe path in Manifest.db, not written".into())),
                },
            };
            if let Some(parent) = out.parent()
                && let Err(e) = std::fs::create_dir_all(parent)
            {
                return Err((name, e.to_string()));
            }
            let record = file_record(manifest, &r.file_id).map_err(|e| (name.clone(), e))?;
            let fk = d
                .unlocked
                .unwrap_file_key(&record.encryption_key)
                .map_err(|e| (name.clone(), format!("cannot unwrap the file's key: {e}")))?;
            decrypt_file(&fk, &blob, &out, record.size).map_err(|e| (name.clone(), e))?;
            let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
            Ok((size, true))
        })
        .collect();
    let mut report = DecryptReport::default();
    for r in results {
        match r {
            Ok((size, true)) => {
                report.files += 1;
                report.bytes = report.bytes.saturating_add(size);
            }
            Ok((_, false)) => report.absent += 1,
            Err(failure) => report.failed.push(failure),
        }
    }
    report.failed.sort();
    Ok(report)
}
