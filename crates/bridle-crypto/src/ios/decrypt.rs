//! Decrypting `Manifest.db` and backup files: AES-256-CBC, zero IV, PKCS#7 padding.
//!
//! Files are streamed in chunks (a backup can hold multi-gigabyte videos). The padding is
//! checked, not assumed: MVT (through iOSbackup) truncates every file to the `Size` of its
//! `Manifest.db` record without looking at the padding, which silently corrupted files
//! whenever the record was stale (MVT issues #669, #571). Here a bad padding is an error
//! that says how far decryption got, and trimming to the recorded size is a separate,
//! explicit call with its own bounds check.

use std::io::{self, Read, Write};

use crate::cbc_stream::{BLOCK_LEN, CbcError, CbcStream, Unpad};

use super::keys::FileKey;

/// iOS backups encrypt every file with a zero IV.
const ZERO_IV: [u8; BLOCK_LEN] = [0u8; BLOCK_LEN];

/// Why a file could not be decrypted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// The ciphertext is not a whole number of 16-byte AES blocks: the file is truncated
    /// or is not an encrypted backup file.
    #[error("ciphertext is {ciphertext_len} bytes, not a multiple of 16")]
    NotBlockAligned {
        /// Bytes read.
        ciphertext_len: u64,
    },
    /// The last block does not end in valid PKCS#7 padding (or the file is empty).
    ///
    /// `written` bytes of plaintext (everything before the last block) have already been
    /// written. The caller may discard them, or decrypt again with
    /// [`FileKey::decrypt_to_size`] and the `Size` recorded in `Manifest.db`, which is
    /// what other tools do silently.
    #[error(
        "bad PKCS#7 padding at the end of {ciphertext_len} bytes of ciphertext \
         ({written} bytes of plaintext already written)"
    )]
    BadPadding {
        /// Bytes read.
        ciphertext_len: u64,
        /// Plaintext bytes already written.
        written: u64,
    },
    /// The plaintext length differs from the size the caller expected (the `Size` of the
    /// file's record). Everything was written; nothing was cut.
    #[error("decrypted {actual} bytes; the record says {expected}")]
    SizeMismatch {
        /// Size expected.
        expected: u64,
        /// Size decrypted.
        actual: u64,
    },
    /// [`FileKey::decrypt_to_size`]: the requested size is not within the last block of the
    /// ciphertext, so trimming to it would either cut real data or invent some.
    #[error("size {size} is not within the last block of {ciphertext_len} bytes of ciphertext")]
    SizeOutOfRange {
        /// Size asked for.
        size: u64,
        /// Ciphertext length.
        ciphertext_len: u64,
    },
    /// Reading the ciphertext failed.
    #[error("reading ciphertext: {0}")]
    Read(#[source] io::Error),
    /// Writing the plaintext failed.
    #[error("writing plaintext: {0}")]
    Write(#[source] io::Error),
}

impl DecryptError {
    fn from_cbc(e: CbcError) -> DecryptError {
        match e {
            CbcError::NotBlockAligned { ciphertext_len } => {
                DecryptError::NotBlockAligned { ciphertext_len }
            }
            CbcError::BadPadding {
                ciphertext_len,
                released,
            } => DecryptError::BadPadding {
                ciphertext_len,
                written: released,
            },
            CbcError::Read(e) => DecryptError::Read(e),
        }
    }
}

impl FileKey {
    /// Decrypts `reader` into `writer`, checking the padding; returns the plaintext length.
    pub fn decrypt_to<R: Read, W: Write>(
        &self,
        reader: R,
        mut writer: W,
    ) -> Result<u64, DecryptError> {
        let mut stream = CbcStream::new(reader, self.0.bytes(), &ZERO_IV, Unpad::Pkcs7);
        let mut written = 0u64;
        loop {
            let chunk = stream.next_chunk().map_err(DecryptError::from_cbc)?;
            if chunk.is_empty() {
                return Ok(written);
            }
            writer.write_all(chunk).map_err(DecryptError::Write)?;
            written = written.saturating_add(chunk.len() as u64);
        }
    }

    /// [`FileKey::decrypt_to`], then checks the length against `expected_size` (the `Size`
    /// of the file's record): a mismatch is reported, never fixed by cutting.
    pub fn decrypt_to_expecting<R: Read, W: Write>(
        &self,
        reader: R,
        writer: W,
        expected_size: u64,
    ) -> Result<u64, DecryptError> {
        let actual = self.decrypt_to(reader, writer)?;
        if actual == expected_size {
            Ok(actual)
        } else {
            Err(DecryptError::SizeMismatch {
                expected: expected_size,
                actual,
            })
        }
    }

    /// Decrypts without checking the padding and writes exactly `size` bytes: the fallback
    /// for a file whose padding is bad (see [`DecryptError::BadPadding`]), as other tools
    /// do for every file.
    ///
    /// Refused ([`DecryptError::SizeOutOfRange`]) unless `size` lies in the last block,
    /// i.e. `ciphertext_len - 16 <= size <= ciphertext_len`: a smaller size would drop
    /// real data (the stale-`Size` corruption of MVT issue #669) and a larger one would
    /// need bytes that do not exist. Checked at the end of the stream, so `size` bytes may
    /// already be written when it fails.
    pub fn decrypt_to_size<R: Read, W: Write>(
        &self,
        reader: R,
        mut writer: W,
        size: u64,
    ) -> Result<u64, DecryptError> {
        let mut stream = CbcStream::new(reader, self.0.bytes(), &ZERO_IV, Unpad::Keep);
        let mut written = 0u64;
        loop {
            let chunk = stream.next_chunk().map_err(DecryptError::from_cbc)?;
            if chunk.is_empty() {
                break;
            }
            let room = size.saturating_sub(written);
            let take = usize::try_from(room).unwrap_or(usize::MAX).min(chunk.len());
            if let Some(part) = chunk.get(..take) {
                writer.write_all(part).map_err(DecryptError::Write)?;
                written = written.saturating_add(part.len() as u64);
            }
        }
        let ciphertext_len = stream.ciphertext_len();
        let block = BLOCK_LEN as u64;
        if size > ciphertext_len || size < ciphertext_len.saturating_sub(block) {
            return Err(DecryptError::SizeOutOfRange {
                size,
                ciphertext_len,
            });
        }
        Ok(written)
    }

    /// Decrypts a ciphertext held in memory, checking the padding.
    pub fn decrypt_vec(&self, ciphertext: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let mut out = Vec::with_capacity(ciphertext.len());
        self.decrypt_to(ciphertext, &mut out)?;
        Ok(out)
    }
}

/// Whether `data` starts like an SQLite 3 database: the 16-byte magic string and a valid
/// page size. A decrypted `Manifest.db` that fails this was decrypted with the wrong key
/// or is damaged, even if its padding happened to check out.
pub fn looks_like_sqlite(data: &[u8]) -> bool {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    let Some((magic, rest)) = data.split_first_chunk::<16>() else {
        return false;
    };
    if magic != MAGIC {
        return false;
    }
    // Page size: big-endian u16 at offset 16, a power of two in 512..=32768, or 1 for 65536.
    match rest.first_chunk::<2>().map(|b| u16::from_be_bytes(*b)) {
        Some(1) => true,
        Some(size) => size >= 512 && size.is_power_of_two(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbc_stream::tests::{encrypt, encrypt_raw};

    const KEY: [u8; 32] = [0x5c; 32];

    fn key() -> FileKey {
        FileKey::from_bytes(&KEY)
    }

    #[test]
    fn decrypts_and_checks_size() {
        for len in [0usize, 1, 16, 4095, 4096, 70_000, 200_000] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let ct = encrypt(&KEY, &ZERO_IV, &plain);
            assert_eq!(key().decrypt_vec(&ct).unwrap(), plain);
            let mut out = Vec::new();
            assert_eq!(
                key()
                    .decrypt_to_expecting(&ct[..], &mut out, len as u64)
                    .unwrap(),
                len as u64
            );
            assert_eq!(out, plain);
            let mut out = Vec::new();
            match key().decrypt_to_expecting(&ct[..], &mut out, len as u64 + 1) {
                Err(DecryptError::SizeMismatch { expected, actual }) => {
                    assert_eq!((expected, actual), (len as u64 + 1, len as u64));
                }
                other => panic!("{other:?}"),
            }
            assert_eq!(out, plain, "nothing is cut on a mismatch");
        }
    }

    #[test]
    fn ciphertext_not_a_multiple_of_16() {
        let ct = encrypt(&KEY, &ZERO_IV, &[1u8; 40]);
        match key().decrypt_vec(&ct[..ct.len() - 3]) {
            Err(DecryptError::NotBlockAligned { ciphertext_len }) => assert_eq!(ciphertext_len, 45),
            other => panic!("{other:?}"),
        }
        match key().decrypt_to_size(&ct[..ct.len() - 3], io::sink(), 40) {
            Err(DecryptError::NotBlockAligned { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_padding_then_fallback_to_recorded_size() {
        // 40 bytes of data, then garbage where the padding should be.
        let mut plain = vec![0x61u8; 48];
        plain[40..].copy_from_slice(&[9, 9, 9, 9, 9, 9, 9, 0x20]);
        let ct = encrypt_raw(&KEY, &ZERO_IV, &plain);
        let mut out = Vec::new();
        match key().decrypt_to(&ct[..], &mut out) {
            Err(DecryptError::BadPadding {
                ciphertext_len,
                written,
            }) => {
                assert_eq!((ciphertext_len, written), (48, 32));
                assert_eq!(out.len(), 32);
            }
            other => panic!("{other:?}"),
        }
        let mut out = Vec::new();
        assert_eq!(key().decrypt_to_size(&ct[..], &mut out, 40).unwrap(), 40);
        assert_eq!(out, vec![0x61u8; 40]);
        // A size that would cut a whole block of real data, or one past the end.
        for size in [31u64, 49] {
            assert!(matches!(
                key().decrypt_to_size(&ct[..], io::sink(), size),
                Err(DecryptError::SizeOutOfRange {
                    ciphertext_len: 48,
                    ..
                })
            ));
        }
        // Both ends of the window are fine.
        assert_eq!(key().decrypt_to_size(&ct[..], io::sink(), 32).unwrap(), 32);
        assert_eq!(key().decrypt_to_size(&ct[..], io::sink(), 48).unwrap(), 48);
        // The empty file.
        assert!(matches!(
            key().decrypt_vec(&[]),
            Err(DecryptError::BadPadding { .. })
        ));
        assert_eq!(key().decrypt_to_size(&[][..], io::sink(), 0).unwrap(), 0);
    }

    #[test]
    fn wrong_key_is_caught_by_padding_or_content() {
        let plain = b"SQLite format 3\0\x10\x00rest of the page".to_vec();
        let ct = encrypt(&KEY, &ZERO_IV, &plain);
        let right = key().decrypt_vec(&ct).unwrap();
        assert!(looks_like_sqlite(&right));
        let other = FileKey::from_bytes(&[0x11; 32]);
        match other.decrypt_vec(&ct) {
            Err(DecryptError::BadPadding { .. }) => {}
            Ok(garbage) => assert!(!looks_like_sqlite(&garbage)),
            Err(e) => panic!("{e:?}"),
        }
        // Raw decryption with the wrong key is garbage whatever the padding says.
        let mut garbage = Vec::new();
        other
            .decrypt_to_size(&ct[..], &mut garbage, plain.len() as u64)
            .unwrap();
        assert!(!looks_like_sqlite(&garbage));
    }

    #[test]
    fn sqlite_detection() {
        let mut page = b"SQLite format 3\0".to_vec();
        page.extend([0x10, 0x00]);
        assert!(looks_like_sqlite(&page));
        page[16..18].copy_from_slice(&[0x00, 0x01]);
        assert!(looks_like_sqlite(&page), "1 means 65536");
        page[16..18].copy_from_slice(&[0x03, 0x00]);
        assert!(!looks_like_sqlite(&page), "768 is not a power of two");
        page[16..18].copy_from_slice(&[0x01, 0x00]);
        assert!(!looks_like_sqlite(&page), "256 is too small");
        assert!(!looks_like_sqlite(b"SQLite format 3\0"));
        assert!(!looks_like_sqlite(b"SQLite format 2\0\x10\x00"));
        assert!(!looks_like_sqlite(&[]));
    }

    /// A writer that fails, to check write errors are told apart from read errors.
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// A reader that fails.
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("unreadable"))
        }
    }

    #[test]
    fn io_errors_are_attributed() {
        let ct = encrypt(&KEY, &ZERO_IV, &[1u8; 100]);
        assert!(matches!(
            key().decrypt_to(&ct[..], Broken),
            Err(DecryptError::Write(_))
        ));
        assert!(matches!(
            key().decrypt_to(Failing, io::sink()),
            Err(DecryptError::Read(_))
        ));
    }
}
