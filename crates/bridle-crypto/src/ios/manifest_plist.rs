//! The encryption fields of `Manifest.plist`: `IsEncrypted`, `BackupKeyBag`, `ManifestKey`.
//!
//! A convenience for callers that have the file's bytes; the rest of the crate takes the
//! keybag and key bytes directly.

use std::io::Cursor;

use super::keybag::{Keybag, KeybagError};

/// Largest `Manifest.plist` accepted. Real ones are tens of kilobytes to a few megabytes
/// (the `Applications` dictionary carries app icons on some iOS versions).
pub const MAX_MANIFEST_PLIST_LEN: usize = 64 * 1024 * 1024;

/// Why `Manifest.plist` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestPlistError {
    /// Larger than [`MAX_MANIFEST_PLIST_LEN`].
    #[error("Manifest.plist is {len} bytes, more than the {max} accepted")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// Not a property list.
    #[error("Manifest.plist is not a property list: {0}")]
    Plist(#[source] plist::Error),
    /// The top level is not a dictionary.
    #[error("Manifest.plist top level is not a dictionary")]
    NotADictionary,
    /// A key has a value of the wrong type.
    #[error("Manifest.plist key {key} is not {expected}")]
    WrongType {
        /// The key.
        key: &'static str,
        /// The type it should have.
        expected: &'static str,
    },
    /// The backup is encrypted but has no `BackupKeyBag`.
    #[error("Manifest.plist says the backup is encrypted but has no BackupKeyBag")]
    NoKeybag,
    /// The keybag is malformed.
    #[error("BackupKeyBag: {0}")]
    Keybag(#[from] KeybagError),
}

/// What `Manifest.plist` says about encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestPlist {
    /// `IsEncrypted` (false when absent).
    pub is_encrypted: bool,
    /// `BackupKeyBag` bytes, when present.
    pub keybag: Option<Vec<u8>>,
    /// `ManifestKey` bytes (class + wrapped key of `Manifest.db`), present from iOS 10.2.
    pub manifest_key: Option<Vec<u8>>,
    /// `Lockdown` → `ProductVersion`, when present (for messages).
    pub product_version: Option<String>,
}

impl ManifestPlist {
    /// Reads the encryption fields of `Manifest.plist` (binary or XML).
    pub fn parse(bytes: &[u8]) -> Result<ManifestPlist, ManifestPlistError> {
        if bytes.len() > MAX_MANIFEST_PLIST_LEN {
            return Err(ManifestPlistError::TooLarge {
                len: bytes.len(),
                max: MAX_MANIFEST_PLIST_LEN,
            });
        }
        let value =
            plist::Value::from_reader(Cursor::new(bytes)).map_err(ManifestPlistError::Plist)?;
        let dict = value
            .as_dictionary()
            .ok_or(ManifestPlistError::NotADictionary)?;
        let data = |key: &'static str| -> Result<Option<Vec<u8>>, ManifestPlistError> {
            dict.get(key)
                .map(|v| {
                    v.as_data()
                        .map(<[u8]>::to_vec)
                        .ok_or(ManifestPlistError::WrongType {
                            key,
                            expected: "data",
                        })
                })
                .transpose()
        };
        let is_encrypted = dict
            .get("IsEncrypted")
            .map(|v| {
                v.as_boolean().ok_or(ManifestPlistError::WrongType {
                    key: "IsEncrypted",
                    expected: "a boolean",
                })
            })
            .transpose()?
            .unwrap_or(false);
        let product_version = dict
            .get("Lockdown")
            .and_then(plist::Value::as_dictionary)
            .and_then(|d| d.get("ProductVersion"))
            .and_then(plist::Value::as_string)
            .map(str::to_owned);
        Ok(ManifestPlist {
            is_encrypted,
            keybag: data("BackupKeyBag")?,
            manifest_key: data("ManifestKey")?,
            product_version,
        })
    }

    /// Parses the `BackupKeyBag`.
    pub fn parse_keybag(&self) -> Result<Keybag, ManifestPlistError> {
        let bytes = self.keybag.as_deref().ok_or(ManifestPlistError::NoKeybag)?;
        Ok(Keybag::parse(bytes)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plist_bytes(dict: plist::Dictionary) -> Vec<u8> {
        let mut out = Vec::new();
        plist::Value::Dictionary(dict)
            .to_writer_binary(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn reads_fields_and_reports_types() {
        let mut d = plist::Dictionary::new();
        d.insert("IsEncrypted".into(), true.into());
        d.insert("ManifestKey".into(), plist::Value::Data(vec![4, 0, 0, 0]));
        let mut lockdown = plist::Dictionary::new();
        lockdown.insert("ProductVersion".into(), "14.3".into());
        d.insert("Lockdown".into(), lockdown.into());
        let m = ManifestPlist::parse(&plist_bytes(d.clone())).unwrap();
        assert!(m.is_encrypted);
        assert_eq!(m.manifest_key, Some(vec![4, 0, 0, 0]));
        assert_eq!(m.keybag, None);
        assert_eq!(m.product_version.as_deref(), Some("14.3"));
        assert!(matches!(
            m.parse_keybag(),
            Err(ManifestPlistError::NoKeybag)
        ));

        d.insert("BackupKeyBag".into(), "not data".into());
        assert!(matches!(
            ManifestPlist::parse(&plist_bytes(d)),
            Err(ManifestPlistError::WrongType {
                key: "BackupKeyBag",
                ..
            })
        ));
        assert!(matches!(
            ManifestPlist::parse(b"garbage"),
            Err(ManifestPlistError::Plist(_))
        ));
        let mut arr = Vec::new();
        plist::Value::Array(vec![])
            .to_writer_binary(&mut arr)
            .unwrap();
        assert!(matches!(
            ManifestPlist::parse(&arr),
            Err(ManifestPlistError::NotADictionary)
        ));
    }
}
