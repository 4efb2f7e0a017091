//! What a results folder is given to people with: a self-contained HTML report, and a
//! signature over the folder's manifest.
//!
//! * [`html::write`] renders `report.html` from the files of a results folder (a check's
//!   or a re-check's): one file, inline CSS and JavaScript, no network, every device string
//!   escaped.
//! * [`sign`] makes ed25519 keys and signs or verifies `bridle-manifest.json`.

#![deny(missing_docs)]

pub mod escape;
pub mod html;
pub mod sign;
mod timeline;
