//! Errors of `.ab` reading.

use std::io;

/// Why an `.ab` file could not be read. Header values quoted in errors are cut to a few
/// dozen characters and escaped; no password or key material is ever included.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AbError {
    /// The first line is not `ANDROID BACKUP`.
    #[error("not an Android backup: the first line is not \"ANDROID BACKUP\"")]
    NotAndroidBackup,
    /// The header ends before this line.
    #[error("Android backup header is incomplete: the {field} line is missing")]
    TruncatedHeader {
        /// The missing line.
        field: &'static str,
    },
    /// A header line is longer than allowed.
    #[error("Android backup header line {field} is longer than {max} bytes")]
    LineTooLong {
        /// The line.
        field: &'static str,
        /// The cap.
        max: usize,
    },
    /// A header line has a value that cannot be right.
    #[error("Android backup header line {field} has an invalid value \"{value}\"")]
    BadHeaderValue {
        /// The line.
        field: &'static str,
        /// The value (shortened and escaped).
        value: String,
    },
    /// An encryption other than `none` and `AES-256`.
    #[error("Android backup encryption \"{name}\" is not supported")]
    UnsupportedEncryption {
        /// The name given (shortened and escaped).
        name: String,
    },
    /// The PBKDF2 round count is zero or above the cap.
    #[error("Android backup asks for {rounds} PBKDF2 rounds; accepted: 1 to {max}")]
    RoundsOutOfRange {
        /// The count.
        rounds: u32,
        /// The cap.
        max: u32,
    },
    /// The backup is encrypted and no password was given.
    #[error("the Android backup is encrypted: a password is needed")]
    PasswordRequired,
    /// The password does not decrypt the master key (or the master-key checksum fails).
    #[error("wrong Android backup password")]
    WrongPassword,
    /// The master-key blob decrypts and its checksum matches, but it does not hold a
    /// 16-byte IV and a 32-byte key.
    #[error("Android backup master-key blob is malformed: {what}")]
    BadMasterKey {
        /// What is wrong.
        what: &'static str,
    },
    /// The header says compressed, but the body does not start with a zlib header.
    #[error("Android backup header says compressed, but the data is not a zlib stream")]
    NotZlib,
    /// The zlib stream is corrupt.
    #[error("Android backup zlib stream is corrupt: {message}")]
    CorruptZlib {
        /// The inflater's message.
        message: String,
    },
    /// The data ends early.
    #[error("Android backup is truncated: {what}")]
    Truncated {
        /// Where it ends.
        what: &'static str,
    },
    /// The encrypted body's final padding is invalid (damaged or cut at a block boundary).
    #[error("Android backup encrypted data has invalid final padding (damaged or truncated)")]
    BadPadding,
    /// The decoded data does not start with a tar header: the header lies (for example
    /// `none` for data that is encrypted) or the data is damaged.
    #[error("Android backup data does not start with a tar header")]
    NotTar,
    /// More decoded bytes than the configured cap.
    #[error("Android backup decodes to more than {limit} bytes (the configured cap)")]
    TooLarge {
        /// The cap.
        limit: u64,
    },
    /// Reading the file failed.
    #[error("reading the Android backup: {0}")]
    Io(#[source] io::Error),
}

impl AbError {
    /// The [`AbError`] inside an `io::Error` returned by [`crate::android::AbReader`]'s
    /// `Read` implementation, if it is one (otherwise it is a plain I/O error of the
    /// underlying reader).
    pub fn from_io_ref(error: &io::Error) -> Option<&AbError> {
        error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<AbError>())
    }

    /// Turns an `io::Error` from the reader pipeline back into an [`AbError`].
    pub(crate) fn from_io(error: io::Error) -> AbError {
        if !error.get_ref().is_some_and(|inner| inner.is::<AbError>()) {
            return AbError::Io(error);
        }
        match error.into_inner().map(|inner| inner.downcast::<AbError>()) {
            Some(Ok(ab)) => *ab,
            Some(Err(other)) => AbError::Io(io::Error::other(other)),
            None => AbError::Io(io::Error::other("unknown I/O error")),
        }
    }

    /// This error as an `io::Error` for a `Read` implementation.
    pub(crate) fn into_io(self) -> io::Error {
        match self {
            AbError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidData, other),
        }
    }
}

/// A header value for an error message: at most 40 characters, escaped.
pub(crate) fn quote(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}
