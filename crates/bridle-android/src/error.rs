//! Why an Android acquisition could not be opened.

use bridle_evidence::archive::ArchiveError;
use std::path::PathBuf;

/// Why an acquisition could not be opened at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The path is not an acquisition of the kind asked for.
    #[error("{path}: {reason}")]
    NotRecognised {
        /// The path.
        path: PathBuf,
        /// What was expected.
        reason: String,
    },
    /// The folder or archive cannot be read.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// An age-encrypted acquisition and no identity (or no age support).
    #[error(
        "{path}: encrypted with age; give the identity file that can decrypt it (--age-identity)"
    )]
    AgeIdentityNeeded {
        /// The encrypted file.
        path: PathBuf,
    },
    /// The age file could not be decrypted.
    #[error("{path}: cannot decrypt with age: {reason}")]
    Age {
        /// The encrypted file.
        path: PathBuf,
        /// Why (wrong identity, damaged file).
        reason: String,
    },
}
