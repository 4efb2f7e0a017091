use std::path::PathBuf;

/// Why a piece of evidence could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The operating system refused (missing file, permissions).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the cap for its kind.
    #[error("{path}: {size} bytes is over the {max}-byte limit for {what}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The cap.
        max: u64,
        /// What kind of file.
        what: &'static str,
    },
    /// A path would leave the acquisition (through `..` or a symbolic link).
    #[error("{path}: leaves the acquisition folder, not followed")]
    Escapes {
        /// The path as requested.
        path: PathBuf,
    },
    /// SQLite refused the database.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database.
        path: PathBuf,
        /// The error.
        #[source]
        source: rusqlite::Error,
    },
    /// Not a valid plist, or one over the budgets.
    #[error("{path}: not a readable plist: {message}")]
    Plist {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A structure inside a file is not as expected.
    #[error("{path}: {message}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl EvidenceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EvidenceError::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether the error means the file does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, EvidenceError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}
