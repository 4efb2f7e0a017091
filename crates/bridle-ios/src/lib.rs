//! iOS acquisitions and their artifact modules.
//!
//! [`Ios`] is a read-only view of an acquisition: for an iTunes/Finder backup, the
//! `Manifest.db` index of files by domain and relative path, the hashed-name blobs, and the
//! clear-text plists. Modules (in [`modules`]) say where their artifact lives with
//! [`Locations`], and the view finds it, hashes it into the evidence log, and opens it safely.

#![deny(missing_docs)]

mod acquisition;
pub mod links;
pub mod modules;
mod pyfmt;
pub mod rows;

pub use acquisition::{
    Ios, IosKind, Located, Locations, ManifestFilter, ManifestRow, OpenError, backup_file_id,
    find_backup_root, find_dump_root,
};
