//! Decryption of encrypted phone backups: iOS (iTunes/Finder) encrypted backups and
//! Android `adb backup` (`.ab`) files.
//!
//! This crate knows file formats and cryptography, nothing about bridle's modules, the
//! command line or where files live: callers hand it bytes and readers.
//!
//! * [`ios`]: the backup keybag, key derivation from the password (or a saved derived key),
//!   class-key unlock with a distinct wrong-password error, and streaming decryption of
//!   `Manifest.db` and of each file with padding and size checks.
//! * [`android`]: the `.ab` header, password-based decryption of the master key with the
//!   checksum Android computes, and a streaming reader of the tar inside.
//! * [`kdf`]: PBKDF2-HMAC-SHA256/SHA1, specialised because iOS key derivation runs
//!   10,000,000 rounds (see the module for why and `docs/benchmarks-crypto.md` for numbers).
//!
//! Secrets: every key is held in a type that wipes it on drop and whose `Debug` prints
//! nothing of it; errors never carry key or password bytes; nothing here logs.
//!
//! Input is hostile: every length, count and iteration count read from a file is checked
//! against a named cap (`MAX_*`) before use, and no input makes this crate panic.

#![deny(missing_docs)]

pub mod android;
mod cbc_stream;
pub mod ios;
pub mod kdf;
mod secret;
