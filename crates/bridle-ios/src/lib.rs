//! iOS acquisitions and their artifact modules.
//!
//! [`Ios`] is a read-only view of an acquisition: for an iTunes/Finder backup, the
//! `Manifest.db` index of files by domain and relative path, the hashed-name blobs, and the
//! clear-text plists; for a full filesystem dump or an unpacked sysdiagnose, the folder tree,
//! walked without following links ([`Ios::walk`], [`Ios::find`]). Modules (in [`modules`])
//! say where their artifact lives with [`Locations`], and the view finds it, hashes it into
//! the evidence log, and opens it safely.

#![deny(missing_docs)]

mod acquisition;
pub mod encrypted;
pub mod links;
pub mod modules;
mod pyfmt;
pub mod rows;
pub mod sysdiagnose;
pub mod text;
pub mod tree;

pub use acquisition::{
    Ios, IosKind, Located, Locations, ManifestFilter, ManifestRow, OpenError, backup_file_id,
    find_backup_root, find_dump_root,
};
pub use sysdiagnose::{SysdiagnoseName, find_sysdiagnose_root, parse_sysdiagnose_name};
pub use tree::{FileNameIndex, TreeEntry, WalkReport};
