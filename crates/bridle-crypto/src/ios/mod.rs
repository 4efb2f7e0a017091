//! Encrypted iTunes/Finder backups (iOS 10.2 and later, and older keybags without the
//! SHA-256 stage).
//!
//! The sequence a caller runs:
//!
//! 1. [`ManifestPlist::parse`] (or its own plist reading) gives the `BackupKeyBag` and
//!    `ManifestKey` bytes; [`Keybag::parse`] reads the keybag.
//! 2. [`Keybag::derive_key`] turns the password into a [`DerivedKey`] (the slow step), or
//!    [`DerivedKey::from_hex`] reads one saved by `bridle ios extract-key`.
//! 3. [`Keybag::unlock`] unwraps the class keys; [`UnlockError::WrongPassword`] says the
//!    password was wrong.
//! 4. [`UnlockedKeybag::unwrap_manifest_key`] gives the key of `Manifest.db`;
//!    [`FileKey::decrypt_vec`] or [`FileKey::decrypt_to`] decrypts it, and
//!    [`looks_like_sqlite`] checks the result.
//! 5. For each file, [`UnlockedKeybag::unwrap_file_key`] on the `EncryptionKey` of its
//!    `Files.file` record, then [`FileKey::decrypt_to`] (or `decrypt_to_expecting` with the
//!    record's `Size`).

mod decrypt;
mod keybag;
mod keys;
mod manifest_plist;

pub use decrypt::{DecryptError, looks_like_sqlite};
pub use keybag::{
    ClassKey, Keybag, KeybagError, MAX_CLASSES, MAX_ITERATIONS, MAX_KEYBAG_LEN, MAX_SALT_LEN,
    SecondStage, Section, Tag, UnknownRecord, WRAP_DEVICE, WRAP_PASSCODE, WRAPPED_KEY_LEN,
};
pub use keys::{
    ClassStatus, DerivedKey, FileKey, KEY_BLOB_LEN, KeyHexError, KeyUnwrapError, UnlockError,
    UnlockedKeybag, derived_key_hex, split_key_blob,
};
pub use manifest_plist::{MAX_MANIFEST_PLIST_LEN, ManifestPlist, ManifestPlistError};
