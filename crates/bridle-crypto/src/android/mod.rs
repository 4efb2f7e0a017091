//! Android `adb backup` files (`.ab`): header, password-based decryption, zlib, and the
//! tar stream inside.
//!
//! [`AbReader::open`] is the entry point: it yields the tar stream as a `Read`, decoded on
//! the fly with a cap on its size. Format details are in `header.rs`, the Java quirks of
//! the master-key checksum in `java.rs`.

mod error;
mod header;
mod java;
mod reader;

pub use error::AbError;
pub use header::{AbEncryption, AbHeader, MAX_AB_ROUNDS, MAX_HEADER_LINE};
pub use reader::{AbOptions, AbReader, DEFAULT_MAX_OUTPUT};
