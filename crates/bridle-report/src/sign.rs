//! Signing a results manifest with ed25519, so that a report handed to a lawyer can be shown
//! to be the one the lab produced.
//!
//! Keys are PKCS#8 (secret) and SubjectPublicKeyInfo (public) PEM files, the formats OpenSSL
//! uses, so a third party can verify without bridle:
//! `openssl pkeyutl -verify -pubin -inkey KEY.pub -rawin -in bridle-manifest.json -sigfile bridle-manifest.sig`.
//! The signature file holds the 64 raw signature bytes over the exact bytes of
//! `bridle-manifest.json`.

use bridle_engine::manifest::SIGNATURE_FILE;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// Largest key file read.
const MAX_KEY_BYTES: u64 = 64 * 1024;

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// A key or signature file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A key file is not an ed25519 key in PEM.
    #[error("{}: not an ed25519 {what} key in PEM ({why})", path.display())]
    BadKey {
        /// The file.
        path: PathBuf,
        /// `secret` or `public`.
        what: &'static str,
        /// The parser's message.
        why: String,
    },
    /// The system's random source failed.
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    /// The signature file is not 64 bytes.
    #[error("{}: not an ed25519 signature (64 bytes), {len} bytes", path.display())]
    BadSignatureFile {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: u64,
    },
    /// The signature does not verify with the key.
    #[error(
        "{}: the signature does not match bridle-manifest.json with the public key {fingerprint}",
        path.display()
    )]
    Mismatch {
        /// The signature file.
        path: PathBuf,
        /// The key's fingerprint.
        fingerprint: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SignError + '_ {
    move |source| SignError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_capped(path: &Path) -> Result<Zeroizing<Vec<u8>>, SignError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(io(path))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_KEY_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    Ok(bytes)
}

/// The fingerprint people compare: SHA-256 of the raw 32-byte public key, in hex.
pub fn fingerprint(key: &VerifyingKey) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Makes a key pair and writes it: the secret key to `path` (created new, never
/// overwritten; readable by the owner only on Unix) and the public key to `path.pub`.
/// Returns the public key's path and fingerprint.
pub fn generate(path: &Path) -> Result<(PathBuf, String), SignError> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice()).map_err(|e| SignError::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&seed);
    let secret = key
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| SignError::BadKey {
            path: path.to_owned(),
            what: "secret",
            why: e.to_string(),
        })?;
    let public = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| SignError::BadKey {
            path: path.to_owned(),
            what: "public",
            why: e.to_string(),
        })?;
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    let pub_path = PathBuf::from(pub_path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io(path))?;
    file.write_all(secret.as_bytes()).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    let mut public_file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&pub_path)
        .map_err(io(&pub_path))?;
    public_file
        .write_all(public.as_bytes())
        .map_err(io(&pub_path))?;
    Ok((pub_path, fingerprint(&key.verifying_key())))
}

/// Reads a secret key (PKCS#8 PEM, as written by [`generate`] or
/// `openssl genpkey -algorithm ed25519`).
pub fn load_secret(path: &Path) -> Result<SigningKey, SignError> {
    let bytes = read_capped(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| SignError::BadKey {
        path: path.to_owned(),
        what: "secret",
        why: e.to_string(),
    })?;
    SigningKey::from_pkcs8_pem(text).map_err(|e| SignError::BadKey {
        path: path.to_owned(),
        what: "secret",
        why: e.to_string(),
    })
}

/// Reads a public key (SubjectPublicKeyInfo PEM).
pub fn load_public(path: &Path) -> Result<VerifyingKey, SignError> {
    let bytes = read_capped(path)?;
    let text = std::str::from_utf8(&bytes).map_err(|e| SignError::BadKey {
        path: path.to_owned(),
        what: "public",
        why: e.to_string(),
    })?;
    VerifyingKey::from_public_key_pem(text).map_err(|e| SignError::BadKey {
        path: path.to_owned(),
        what: "public",
        why: e.to_string(),
    })
}

/// Signs the manifest bytes and writes `bridle-manifest.sig` in `dir`. Returns the key's
/// fingerprint.
pub fn sign_manifest(dir: &Path, manifest: &[u8], key: &SigningKey) -> Result<String, SignError> {
    let signature = key.sign(manifest);
    let path = dir.join(SIGNATURE_FILE);
    std::fs::write(&path, signature.to_bytes()).map_err(io(&path))?;
    Ok(fingerprint(&key.verifying_key()))
}

/// Checks `bridle-manifest.sig` in `dir` against the manifest bytes and a public key.
pub fn verify_manifest(dir: &Path, manifest: &[u8], key: &VerifyingKey) -> Result<(), SignError> {
    let path = dir.join(SIGNATURE_FILE);
    let bytes = read_capped(&path)?;
    let raw: [u8; 64] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| SignError::BadSignatureFile {
            path: path.clone(),
            len: bytes.len() as u64,
        })?;
    let signature = Signature::from_bytes(&raw);
    key.verify(manifest, &signature)
        .map_err(|_| SignError::Mismatch {
            path,
            fingerprint: fingerprint(key),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_signatures_verify_only_for_the_signed_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let key_path = dir.path().join("lab.key");
        let (pub_path, fp) = generate(&key_path).unwrap();
        assert!(
            generate(&key_path).is_err(),
            "an existing key is never overwritten"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "the secret key is private");
        }
        let secret = load_secret(&key_path).unwrap();
        let public = load_public(&pub_path).unwrap();
        assert_eq!(fingerprint(&public), fp);
        let manifest = b"{\"files\":[]}\n";
        sign_manifest(dir.path(), manifest, &secret).unwrap();
        verify_manifest(dir.path(), manifest, &public).unwrap();
        let err = verify_manifest(dir.path(), b"{\"files\":[1]}\n", &public).unwrap_err();
        assert!(matches!(err, SignError::Mismatch { .. }));
        let other = dir.path().join("other.key");
        let (other_pub, _) = generate(&other).unwrap();
        let other_public = load_public(&other_pub).unwrap();
        assert!(verify_manifest(dir.path(), manifest, &other_public).is_err());
        assert!(matches!(
            load_public(&key_path).unwrap_err(),
            SignError::BadKey { .. }
        ));
    }
}
