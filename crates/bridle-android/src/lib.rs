//! Android acquisitions and their artifact modules.
//!
//! | kind | open with | modules |
//! | --- | --- | --- |
//! | AndroidQF folder, zip, or age-encrypted `.zip.age` | [`AndroidQf::open`] | [`modules::androidqf_modules`] |
//! | bugreport zip or folder | [`Bugreport::open`] | [`modules::bugreport_modules`] |
//! | `adb backup` file (`.ab`) or unpacked folder | [`Backup::open`] | [`modules::backup_modules`] |
//! | intrusion logs (folder or zip) | [`IntrusionLogs::open`] | [`modules::intrusion_log_modules`] |
//!
//! [`detect()`] tells the kinds apart by content. Every view reads the evidence in place
//! through [`bridle_evidence::archive::Tree`] (no extraction; nested archives from memory or
//! a private temporary file), cites every file it reads in the run's evidence log with its
//! SHA-256, and streams: files.json entries, dumpsys sections, tar members and log lines
//! are read one at a time, so memory stays flat as inputs grow.
//!
//! Times are UTC. Where the device wrote a wall-clock time without a zone, it is converted
//! with the device's zone from `persist.sys.timezone` when known (and read as UTC when not),
//! and the records say which zone applied in their `device_timezone` field.

#![deny(missing_docs)]

mod age_file;
pub mod androidqf;
pub mod backup;
pub mod bugreport;
pub mod context;
pub mod detect;
pub mod dumpstate;
mod error;
pub mod files;
pub mod intrusion;
pub mod json_stream;
pub mod modules;
pub mod parsers;
pub mod proto;
pub mod py;
pub mod text;
pub mod tz;

pub use androidqf::{AndroidQf, OpenOptions};
pub use backup::Backup;
pub use bugreport::Bugreport;
pub use context::AcquisitionContext;
pub use detect::{AndroidKind, detect};
pub use error::OpenError;
pub use intrusion::IntrusionLogs;
