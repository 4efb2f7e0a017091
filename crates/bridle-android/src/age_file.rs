//! AndroidQF acquisitions encrypted with age (`.zip.age`): AndroidQF encrypts its output
//! zip to the analyst's age recipient when it finds a `key.txt`. The zip is decrypted,
//! streaming, into a private temporary file (deleted when the acquisition is dropped),
//! never beside the evidence, and capped in size.

use crate::error::OpenError;
use std::path::Path;

/// The first line of a binary age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";

/// Whether a file starts like an age file.
pub fn is_age(head: &[u8]) -> bool {
    head.starts_with(AGE_MAGIC)
}

/// Decrypts `path` with the identities in `identity_file` into a temporary file of at most
/// `max` bytes.
#[cfg(feature = "age")]
pub fn decrypt_to_temp(
    path: &Path,
    identity_file: &Path,
    max: u64,
) -> Result<tempfile::TempPath, OpenError> {
    let fail = |reason: String| OpenError::Age {
        path: path.to_path_buf(),
        reason,
    };
    let identities = age::IdentityFile::from_file(identity_file.display().to_string())
        .map_err(|e| fail(format!("identity file {}: {e}", identity_file.display())))?
        .into_identities()
        .map_err(|e| fail(format!("identity file {}: {e}", identity_file.display())))?;
    if identities.is_empty() {
        return Err(fail(format!(
            "identity file {} holds no identity",
            identity_file.display()
        )));
    }
    use std::io::{BufReader, Read};
    let file = std::fs::File::open(path).map_err(|e| OpenError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let decryptor = age::Decryptor::new(BufReader::new(file)).map_err(|e| fail(e.to_string()))?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|e| fail(e.to_string()))?;
    let mut temp = tempfile::Builder::new()
        .prefix("bridle-age-")
        .tempfile()
        .map_err(|e| OpenError::Io {
            path: std::env::temp_dir(),
            source: e,
        })?;
    let copied = std::io::copy(
        &mut (&mut reader).take(max.saturating_add(1)),
        temp.as_file_mut(),
    )
    .map_err(|e| fail(format!("the encrypted data is damaged: {e}")))?;
    if copied > max {
        return Err(fail(format!("decrypts to more than {max} bytes")));
    }
    Ok(temp.into_temp_path())
}

/// Without the `age` feature, encrypted acquisitions cannot be opened.
#[cfg(not(feature = "age"))]
pub fn decrypt_to_temp(
    path: &Path,
    _identity_file: &Path,
    _max: u64,
) -> Result<tempfile::TempPath, OpenError> {
    Err(OpenError::Age {
        path: path.to_path_buf(),
        reason: "this build of bridle has no age support (feature `age`)".into(),
    })
}
