//! Read-only, bounded access to evidence.
//!
//! Everything a module reads from an acquisition goes through this crate, which keeps three
//! promises:
//!
//! 1. **Evidence is never written.** Files are opened read-only. SQLite databases are opened
//!    with `immutable=1` when they have no journal beside them, and otherwise copied (with
//!    their `-wal`/`-journal`) into a private temporary folder first: opening a WAL database
//!    read-only in place creates a `-shm` file in the evidence folder, and `immutable=1` alone
//!    silently loses the rows still in the WAL.
//! 2. **Every file read is accounted for.** [`EvidenceLog`] records each file with its
//!    SHA-256, so `info.json` lists exactly what the conclusions rest on and every alert can
//!    cite the hash of its file.
//! 3. **Hostile input is bounded.** Sizes are checked before reading ([`Limits`]), paths are
//!    kept inside the acquisition ([`Root`]), plists and NSKeyedArchiver graphs are decoded
//!    with depth and node budgets ([`nska`]).

#![deny(missing_docs)]

pub mod archive;
mod error;
mod log;
pub mod nska;
pub mod plist_json;
mod root;
pub mod sqlite;

pub use error::EvidenceError;
pub use log::{EvidenceLog, hash_file};
pub use root::Root;

/// Caps applied to evidence before reading it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest plist read into memory.
    pub max_plist_bytes: u64,
    /// Largest JSON or text file read into memory at once.
    pub max_text_bytes: u64,
    /// Largest SQLite database copied to a temporary folder (only databases with a journal are
    /// copied; others are read in place).
    pub max_sqlite_copy_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_plist_bytes: 64 << 20,
            max_text_bytes: 256 << 20,
            max_sqlite_copy_bytes: 16 << 30,
        }
    }
}
