//! A 32-byte secret that is wiped when dropped and never printed.
//!
//! Every key this crate handles (derived keys, class keys, file keys, the `.ab` master key)
//! lives in one of these. The bytes sit behind a `Box` so that moving the owner around does
//! not leave copies of the key on the stack; `Debug` prints a placeholder so that a stray
//! `{:?}` in a log line cannot leak it. Zeroizing is best effort: copies made inside the
//! cipher libraries' registers or spilled stack slots are out of reach.

use std::fmt;

use zeroize::{Zeroize, Zeroizing};

/// Key length of AES-256 and of every key in iOS backups and `.ab` files.
pub(crate) const KEY_LEN: usize = 32;

/// A 32-byte key, zeroized on drop, redacted in `Debug`.
#[derive(Clone)]
pub(crate) struct SecretKey(Box<[u8; KEY_LEN]>);

impl SecretKey {
    /// Takes ownership of a key by copying it; the caller wipes its own copy.
    pub(crate) fn new(bytes: &[u8; KEY_LEN]) -> SecretKey {
        SecretKey(Box::new(*bytes))
    }

    /// A key from a slice that must be exactly [`KEY_LEN`] bytes long.
    pub(crate) fn from_slice(bytes: &[u8]) -> Option<SecretKey> {
        let array: &[u8; KEY_LEN] = bytes.try_into().ok()?;
        Some(SecretKey::new(array))
    }

    /// An all-zero key that the caller fills in place (so the secret is written straight
    /// into its final, zeroized-on-drop home).
    pub(crate) fn zeroed() -> SecretKey {
        SecretKey(Box::new([0u8; KEY_LEN]))
    }

    /// The key bytes.
    pub(crate) fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The key bytes, for filling in place.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8; KEY_LEN] {
        &mut self.0
    }

    /// Lowercase hex, in a string that is wiped when dropped.
    pub(crate) fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_slice()))
    }
}

impl Drop for SecretKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_key_bytes() {
        let key = SecretKey::new(&[0xab; KEY_LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab"), "{shown}");
        assert!(!shown.contains("171"), "{shown}");
    }

    #[test]
    fn from_slice_requires_exact_length() {
        assert!(SecretKey::from_slice(&[0u8; 31]).is_none());
        assert!(SecretKey::from_slice(&[0u8; 33]).is_none());
        assert_eq!(
            SecretKey::from_slice(&[7u8; 32]).unwrap().bytes(),
            &[7u8; 32]
        );
    }
}
