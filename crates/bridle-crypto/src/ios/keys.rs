//! From the password to file keys: key derivation, class-key unlock, key unwrap.
//!
//! * The password key ("derived key", what `mvt-ios extract-key` prints) is
//!   PBKDF2-HMAC-SHA1(PBKDF2-HMAC-SHA256(password, `DPSL`, `DPIC`, 32), `SALT`, `ITER`, 32);
//!   keybags from before iOS 10.2 have no `DPSL`/`DPIC` and run the SHA-1 stage alone on
//!   the password.
//! * Every class key whose `WRAP` is exactly the password bit is an RFC 3394 wrap of a
//!   32-byte AES key under the derived key. RFC 3394's 64-bit integrity check is what tells
//!   a wrong password: with a wrong key it fails except with probability 2^-64.
//! * `ManifestKey` and each file's `EncryptionKey` are a 4-byte little-endian protection
//!   class followed by an RFC 3394 wrap under that class's key.

use std::fmt;

use aes_kw::KwAes256;
use aes_kw::cipher::KeyInit;
use zeroize::{Zeroize, Zeroizing};

use crate::kdf::{pbkdf2_hmac_sha1, pbkdf2_hmac_sha256};
use crate::secret::{KEY_LEN, SecretKey};

use super::keybag::{Keybag, WRAP_PASSCODE, WRAPPED_KEY_LEN};

/// Length of a `ManifestKey` or `EncryptionKey` blob: class (4) + wrapped key (40).
pub const KEY_BLOB_LEN: usize = 4 + WRAPPED_KEY_LEN;

/// The key derived from the backup password; unlocks the class keys.
///
/// Zeroized on drop; `Debug` does not show it.
#[derive(Clone)]
pub struct DerivedKey(SecretKey);

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

/// Why a hex derived key (from `--key-file`) was refused. The key text itself is never
/// included, since it is a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyHexError {
    /// Not 64 hex digits once surrounding whitespace is removed.
    #[error("a derived key is 64 hex digits; found {len} characters")]
    WrongLength {
        /// Characters found after trimming.
        len: usize,
    },
    /// A character that is not a hex digit.
    #[error("character {position} of the derived key is not a hex digit")]
    NotHex {
        /// 0-based position after trimming.
        position: usize,
    },
}

impl DerivedKey {
    /// Reads a derived key written as 64 hex digits (either case).
    ///
    /// Leading and trailing whitespace, in particular the newline that editors and `echo`
    /// add, is ignored. MVT (`mvt-ios decrypt-backup --key-file`) requires exactly 64
    /// bytes and rejects a key file with a trailing newline as "Invalid key"; accepting it
    /// here loses nothing, since whitespace cannot be part of a hex key.
    pub fn from_hex(text: &str) -> Result<DerivedKey, KeyHexError> {
        let trimmed = text.trim_ascii();
        if trimmed.len() != 2 * KEY_LEN {
            return Err(KeyHexError::WrongLength {
                len: trimmed.chars().count(),
            });
        }
        if let Some(position) = trimmed.bytes().position(|b| !b.is_ascii_hexdigit()) {
            return Err(KeyHexError::NotHex { position });
        }
        let mut key = SecretKey::zeroed();
        hex::decode_to_slice(trimmed, key.bytes_mut())
            .map_err(|_| KeyHexError::NotHex { position: 0 })?;
        Ok(DerivedKey(key))
    }

    /// The key as 64 lowercase hex digits, in a string wiped on drop: what
    /// `bridle ios extract-key` prints and `DerivedKey::from_hex` reads back.
    pub fn to_hex(&self) -> Zeroizing<String> {
        self.0.to_hex()
    }
}

/// Derives the password key of `keybag` (the slow step), checks it against the class
/// keys, and returns it as hex: the whole of `bridle ios extract-key`. A wrong password
/// gives [`UnlockError::WrongPassword`] rather than a useless key.
pub fn derived_key_hex(keybag: &Keybag, password: &[u8]) -> Result<Zeroizing<String>, UnlockError> {
    let key = keybag.derive_key(password);
    keybag.unlock(&key)?;
    Ok(key.to_hex())
}

impl Keybag {
    /// Derives the key that unlocks this keybag from the backup password.
    ///
    /// This is the slow step (10,000,000 PBKDF2-HMAC-SHA256 rounds on current iOS; see
    /// `docs/benchmarks-crypto.md`). The counts were capped when the keybag was parsed, so
    /// the time is bounded. Any password derives *some* key; [`Keybag::unlock`] says
    /// whether it was the right one.
    pub fn derive_key(&self, password: &[u8]) -> DerivedKey {
        let mut key = SecretKey::zeroed();
        match &self.second_stage {
            Some(stage) => {
                let mut first = Zeroizing::new([0u8; KEY_LEN]);
                pbkdf2_hmac_sha256(password, &stage.salt, stage.iterations, first.as_mut());
                pbkdf2_hmac_sha1(first.as_ref(), &self.salt, self.iterations, key.bytes_mut());
            }
            None => pbkdf2_hmac_sha1(password, &self.salt, self.iterations, key.bytes_mut()),
        }
        DerivedKey(key)
    }

    /// Unwraps the class keys with `key`.
    ///
    /// Classes wrapped with the password alone (`WRAP` = 2) are unwrapped; their RFC 3394
    /// integrity check failing on every one of them means the password (or key file) is
    /// wrong. Classes that also need the device key (`WRAP` = 3, or any class with the
    /// device bit) cannot be opened off the device: they are kept as unavailable, never an
    /// error, and a file that needs one gets [`KeyUnwrapError::ClassUnavailable`].
    pub fn unlock(&self, key: &DerivedKey) -> Result<UnlockedKeybag, UnlockError> {
        let kek = KwAes256::new(key.0.bytes().into());
        let mut slots = Vec::with_capacity(self.classes.len());
        let mut opened = 0usize;
        let mut first_failure = None;
        for class in &self.classes {
            let slot = if class.wrap != WRAP_PASSCODE {
                ClassSlot::Unavailable { wrap: class.wrap }
            } else {
                let mut buf = [0u8; KEY_LEN];
                let result = kek
                    .unwrap_key(&class.wrapped_key, &mut buf)
                    .ok()
                    .and_then(SecretKey::from_slice);
                buf.zeroize();
                match result {
                    Some(k) => {
                        opened += 1;
                        ClassSlot::Key(k)
                    }
                    None => {
                        first_failure.get_or_insert(class.class);
                        ClassSlot::Unavailable { wrap: class.wrap }
                    }
                }
            };
            slots.push((class.class, slot));
        }
        match (opened, first_failure) {
            (0, Some(_)) => Err(UnlockError::WrongPassword),
            (0, None) => Err(UnlockError::NoPasswordClasses),
            (_, Some(class)) => Err(UnlockError::CorruptClassKey { class }),
            (_, None) => Ok(UnlockedKeybag { slots }),
        }
    }
}

/// Why the class keys could not be unlocked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnlockError {
    /// Every password-wrapped class key failed its integrity check: the password (or the
    /// derived key given) is wrong.
    #[error("wrong backup password: the class keys do not unwrap")]
    WrongPassword,
    /// Some password-wrapped class keys unwrap and this one does not. A wrong password
    /// cannot do that (the check fails for all or none), so the keybag is damaged.
    #[error("class key {class} does not unwrap while others do: the keybag is damaged")]
    CorruptClassKey {
        /// The first class that failed.
        class: u32,
    },
    /// No class key is wrapped with the password alone, so nothing can be unlocked (and a
    /// password cannot even be checked).
    #[error("no class key in the keybag is wrapped with the backup password alone")]
    NoPasswordClasses,
}

/// State of one protection class after unlocking.
#[derive(Clone)]
enum ClassSlot {
    Key(SecretKey),
    Unavailable { wrap: u32 },
}

/// Availability of one protection class, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassStatus {
    /// Its key is unwrapped and usable.
    Unlocked,
    /// Its key also needs the device key (or is not wrapped with the password).
    Unavailable {
        /// The class's `WRAP`.
        wrap: u32,
    },
}

/// The class keys, unwrapped. Zeroized on drop; `Debug` shows only which classes are
/// available.
#[derive(Clone)]
pub struct UnlockedKeybag {
    slots: Vec<(u32, ClassSlot)>,
}

impl fmt::Debug for UnlockedKeybag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnlockedKeybag")
            .field("classes", &self.classes())
            .finish()
    }
}

/// Why a `ManifestKey` or `EncryptionKey` could not be unwrapped.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUnwrapError {
    /// The blob is not a 4-byte class plus a 40-byte wrapped key.
    #[error("key blob is {len} bytes; expected {KEY_BLOB_LEN} (4-byte class + 40-byte wrap)")]
    BlobLength {
        /// Its length.
        len: usize,
    },
    /// The wrapped key is not 40 bytes.
    #[error("wrapped key is {len} bytes; expected {WRAPPED_KEY_LEN}")]
    WrappedLength {
        /// Its length.
        len: usize,
    },
    /// The keybag has no such class.
    #[error("protection class {class} is not in the keybag")]
    UnknownClass {
        /// The class.
        class: u32,
    },
    /// The class exists but its key needs the device key.
    #[error("protection class {class} (WRAP={wrap}) cannot be opened without the device")]
    ClassUnavailable {
        /// The class.
        class: u32,
        /// Its `WRAP`.
        wrap: u32,
    },
    /// The RFC 3394 integrity check failed: the blob is damaged or was wrapped with another
    /// class's key.
    #[error("key wrapped with class {class} fails its integrity check")]
    IntegrityCheckFailed {
        /// The class used.
        class: u32,
    },
}

/// Splits a `ManifestKey`/`EncryptionKey` blob into its protection class (4 bytes,
/// little-endian) and the 40-byte wrapped key.
pub fn split_key_blob(blob: &[u8]) -> Result<(u32, &[u8]), KeyUnwrapError> {
    match blob {
        [a, b, c, d, wrapped @ ..] if wrapped.len() == WRAPPED_KEY_LEN => {
            Ok((u32::from_le_bytes([*a, *b, *c, *d]), wrapped))
        }
        _ => Err(KeyUnwrapError::BlobLength { len: blob.len() }),
    }
}

impl UnlockedKeybag {
    /// Every class in the keybag and whether it is usable, sorted by class.
    pub fn classes(&self) -> Vec<(u32, ClassStatus)> {
        self.slots
            .iter()
            .map(|(class, slot)| {
                let status = match slot {
                    ClassSlot::Key(_) => ClassStatus::Unlocked,
                    ClassSlot::Unavailable { wrap } => ClassStatus::Unavailable { wrap: *wrap },
                };
                (*class, status)
            })
            .collect()
    }

    /// Unwraps the `ManifestKey` of `Manifest.plist` (the key of `Manifest.db`).
    pub fn unwrap_manifest_key(&self, manifest_key: &[u8]) -> Result<FileKey, KeyUnwrapError> {
        self.unwrap_file_key(manifest_key)
    }

    /// Unwraps a file's `EncryptionKey` blob (the `NS.data` of the `Files.file` record)
    /// with the key of the class named in the blob's first four bytes.
    pub fn unwrap_file_key(&self, encryption_key_blob: &[u8]) -> Result<FileKey, KeyUnwrapError> {
        let (class, wrapped) = split_key_blob(encryption_key_blob)?;
        self.unwrap_file_key_with_class(class, wrapped)
    }

    /// Unwraps a 40-byte wrapped key with the key of `class`, for callers who take the
    /// class from the record's `ProtectionClass` (as MVT and iOSbackup do) rather than
    /// from the blob.
    pub fn unwrap_file_key_with_class(
        &self,
        class: u32,
        wrapped: &[u8],
    ) -> Result<FileKey, KeyUnwrapError> {
        if wrapped.len() != WRAPPED_KEY_LEN {
            return Err(KeyUnwrapError::WrappedLength { len: wrapped.len() });
        }
        let slot = self
            .slots
            .iter()
            .find(|(c, _)| *c == class)
            .map(|(_, slot)| slot)
            .ok_or(KeyUnwrapError::UnknownClass { class })?;
        let class_key = match slot {
            ClassSlot::Key(k) => k,
            ClassSlot::Unavailable { wrap } => {
                return Err(KeyUnwrapError::ClassUnavailable { class, wrap: *wrap });
            }
        };
        let kek = KwAes256::new(class_key.bytes().into());
        let mut buf = [0u8; KEY_LEN];
        let key = kek
            .unwrap_key(wrapped, &mut buf)
            .ok()
            .and_then(SecretKey::from_slice);
        buf.zeroize();
        key.map(FileKey)
            .ok_or(KeyUnwrapError::IntegrityCheckFailed { class })
    }

    /// The key of `class` as hex (wiped on drop), `None` when the class is absent or
    /// unavailable. For step-by-step checks against published intermediate values (the
    /// fixtures' READMEs list class key 4); never log it.
    pub fn class_key_hex(&self, class: u32) -> Option<Zeroizing<String>> {
        self.slots.iter().find_map(|(c, slot)| match slot {
            ClassSlot::Key(k) if *c == class => Some(k.to_hex()),
            _ => None,
        })
    }
}

/// The AES-256 key of one file (or of `Manifest.db`). Zeroized on drop; `Debug` does not
/// show it. Decryption is in `decrypt.rs`.
#[derive(Clone)]
pub struct FileKey(pub(crate) SecretKey);

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

impl FileKey {
    /// A file key from its 32 bytes (for keys obtained elsewhere, and for tests).
    pub fn from_bytes(key: &[u8; KEY_LEN]) -> FileKey {
        FileKey(SecretKey::new(key))
    }

    /// The key as hex (wiped on drop). For checks against published intermediate values;
    /// never log it.
    pub fn to_hex(&self) -> Zeroizing<String> {
        self.0.to_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::super::keybag::tests::{build, class, header};
    use super::*;
    use std::num::NonZeroU32;

    fn wrap(kek: &[u8; 32], key: &[u8; 32]) -> Vec<u8> {
        let mut out = [0u8; 40];
        KwAes256::new(kek.into()).wrap_key(key, &mut out).unwrap();
        out.to_vec()
    }

    /// A keybag whose classes 1 and 4 are wrapped with the key derived from `password`
    /// (with tiny iteration counts), plus a WRAP=3 class 5 holding an opaque blob.
    fn keybag_for(password: &[u8]) -> (Keybag, [u8; 32], [u8; 32]) {
        let mut r = header(3, 5);
        let mut first = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, &[0x44; 20], 5, &mut first);
        let mut derived = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(&first, &[0x33; 20], 3, &mut derived);
        let class1 = [0x01u8; 32];
        let class4 = [0x04u8; 32];
        r.extend(class(1, 2, wrap(&derived, &class1)));
        r.extend(class(4, 2, wrap(&derived, &class4)));
        r.extend(class(5, 3, vec![0x55; 40]));
        (Keybag::parse(&build(&r)).unwrap(), derived, class4)
    }

    #[test]
    fn derive_matches_two_stage_reference() {
        let (kb, derived, _) = keybag_for(b"hunter2");
        assert_eq!(
            kb.derive_key(b"hunter2").to_hex().as_str(),
            hex::encode(derived)
        );
    }

    #[test]
    fn derive_without_second_stage_is_sha1_only() {
        let mut r: Vec<_> = header(7, 1)
            .into_iter()
            .filter(|(t, _)| !matches!(*t, b"DPIC" | b"DPSL" | b"DPWT"))
            .collect();
        r.extend(class(4, 2, vec![4; 40]));
        let kb = Keybag::parse(&build(&r)).unwrap();
        let mut want = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<sha1::Sha1>(b"pw", &[0x33; 20], 7, &mut want);
        assert_eq!(kb.derive_key(b"pw").to_hex().as_str(), hex::encode(want));
        assert_eq!(kb.iterations(), NonZeroU32::new(7).unwrap());
    }

    #[test]
    fn unlock_skips_device_classes_and_unwraps_files() {
        let (kb, _, class4) = keybag_for(b"pw");
        let unlocked = kb.unlock(&kb.derive_key(b"pw")).unwrap();
        assert_eq!(
            unlocked.classes(),
            vec![
                (1, ClassStatus::Unlocked),
                (4, ClassStatus::Unlocked),
                (5, ClassStatus::Unavailable { wrap: 3 })
            ]
        );
        assert_eq!(
            unlocked.class_key_hex(4).unwrap().as_str(),
            hex::encode(class4)
        );
        assert!(unlocked.class_key_hex(5).is_none());

        let file_key = [0xabu8; 32];
        let mut blob = 4u32.to_le_bytes().to_vec();
        blob.extend(wrap(&class4, &file_key));
        let got = unlocked.unwrap_file_key(&blob).unwrap();
        assert_eq!(got.to_hex().as_str(), hex::encode(file_key));
        assert_eq!(
            unlocked
                .unwrap_manifest_key(&blob)
                .unwrap()
                .to_hex()
                .as_str(),
            hex::encode(file_key)
        );
        // Explicit class: right and wrong.
        assert!(unlocked.unwrap_file_key_with_class(4, &blob[4..]).is_ok());
        assert_eq!(
            unlocked
                .unwrap_file_key_with_class(1, &blob[4..])
                .unwrap_err(),
            KeyUnwrapError::IntegrityCheckFailed { class: 1 }
        );
        // Class in the blob wrong, unknown, device-bound; lengths wrong.
        let mut other = blob.clone();
        other[0] = 1;
        assert_eq!(
            unlocked.unwrap_file_key(&other).unwrap_err(),
            KeyUnwrapError::IntegrityCheckFailed { class: 1 }
        );
        other[0] = 9;
        assert_eq!(
            unlocked.unwrap_file_key(&other).unwrap_err(),
            KeyUnwrapError::UnknownClass { class: 9 }
        );
        other[0] = 5;
        assert_eq!(
            unlocked.unwrap_file_key(&other).unwrap_err(),
            KeyUnwrapError::ClassUnavailable { class: 5, wrap: 3 }
        );
        assert_eq!(
            unlocked.unwrap_file_key(&blob[..43]).unwrap_err(),
            KeyUnwrapError::BlobLength { len: 43 }
        );
        assert_eq!(
            unlocked
                .unwrap_file_key_with_class(4, &blob[4..43])
                .unwrap_err(),
            KeyUnwrapError::WrappedLength { len: 39 }
        );
    }

    #[test]
    fn wrong_password_is_its_own_error() {
        let (kb, _, _) = keybag_for(b"right");
        assert_eq!(
            kb.unlock(&kb.derive_key(b"wrong")).unwrap_err(),
            UnlockError::WrongPassword
        );
        assert_eq!(
            derived_key_hex(&kb, b"wrong").unwrap_err(),
            UnlockError::WrongPassword
        );
        assert_eq!(
            derived_key_hex(&kb, b"right").unwrap().as_str(),
            kb.derive_key(b"right").to_hex().as_str()
        );
    }

    #[test]
    fn one_damaged_class_is_corruption_not_wrong_password() {
        let mut r = header(3, 5);
        let (kb, derived, _) = keybag_for(b"pw");
        r.extend(class(1, 2, wrap(&derived, &[1; 32])));
        let mut damaged = wrap(&derived, &[2; 32]);
        damaged[10] ^= 1;
        r.extend(class(2, 2, damaged));
        let kb2 = Keybag::parse(&build(&r)).unwrap();
        assert_eq!(
            kb2.unlock(&kb.derive_key(b"pw")).unwrap_err(),
            UnlockError::CorruptClassKey { class: 2 }
        );
        // Only device-bound classes: nothing to check a password against.
        let mut r = header(3, 5);
        r.extend(class(5, 3, vec![5; 40]));
        let kb3 = Keybag::parse(&build(&r)).unwrap();
        assert_eq!(
            kb3.unlock(&kb.derive_key(b"pw")).unwrap_err(),
            UnlockError::NoPasswordClasses
        );
    }

    #[test]
    fn hex_key_parsing() {
        let hex64 = "6425b7054088fc829279f665fd35045ef2149898bb871425a1e5b8813df35396";
        for text in [
            hex64.to_string(),
            format!("{hex64}\n"),
            format!("  {hex64}\r\n"),
            hex64.to_uppercase(),
        ] {
            assert_eq!(
                DerivedKey::from_hex(&text).unwrap().to_hex().as_str(),
                hex64
            );
        }
        assert_eq!(
            DerivedKey::from_hex(&hex64[..63]).unwrap_err(),
            KeyHexError::WrongLength { len: 63 }
        );
        assert_eq!(
            DerivedKey::from_hex(&format!("{hex64}00")).unwrap_err(),
            KeyHexError::WrongLength { len: 66 }
        );
        let mut bad = hex64.to_string();
        bad.replace_range(10..11, "g");
        assert_eq!(
            DerivedKey::from_hex(&bad).unwrap_err(),
            KeyHexError::NotHex { position: 10 }
        );
        // Non-ASCII of the right byte length is refused without panicking.
        let weird = format!("{}é", &hex64[..62]);
        assert!(DerivedKey::from_hex(&weird).is_err());
        // The error never echoes the key.
        let msg = DerivedKey::from_hex(&bad).unwrap_err().to_string();
        assert!(!msg.contains(&hex64[..8]), "{msg}");
    }

    #[test]
    fn debug_output_hides_keys() {
        let (kb, _, class4) = keybag_for(b"pw");
        let derived = kb.derive_key(b"pw");
        let unlocked = kb.unlock(&derived).unwrap();
        let fk = FileKey::from_bytes(&class4);
        let shown = format!("{derived:?} {unlocked:?} {fk:?}");
        assert!(!shown.contains(&derived.to_hex()[..6]), "{shown}");
        assert!(!shown.contains("0404"), "{shown}");
    }

    #[test]
    fn split_blob() {
        let mut blob = vec![3, 0, 0, 0];
        blob.extend([7u8; 40]);
        assert_eq!(split_key_blob(&blob).unwrap(), (3, &[7u8; 40][..]));
        assert!(split_key_blob(&blob[..4]).is_err());
        assert!(split_key_blob(&[]).is_err());
    }
}
