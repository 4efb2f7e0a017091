//! Streaming AES-256-CBC decryption with PKCS#7 padding checked at the end.
//!
//! Both formats this crate reads encrypt whole files with AES-256-CBC and PKCS#7 padding
//! (iOS backup files and `Manifest.db` with a zero IV; the `.ab` body with the IV from its
//! master-key blob). Files can be gigabytes, so they are decrypted in fixed-size chunks and
//! never held whole. The last complete block is held back until the end of the input is
//! seen, because only then is it known to be the one that carries the padding.

use std::io::{self, Read};

use aes::Aes256;
use cbc::cipher::{Array, BlockModeDecrypt, KeyIvInit};

use crate::secret::KEY_LEN;

/// AES block size.
pub(crate) const BLOCK_LEN: usize = 16;

/// Ciphertext bytes decrypted per step: large enough that per-call costs vanish, small
/// enough that memory stays flat.
const CHUNK_LEN: usize = 64 * 1024;

/// Why a ciphertext stream could not be decrypted.
#[derive(Debug)]
pub(crate) enum CbcError {
    /// The ciphertext is not a whole number of 16-byte blocks.
    NotBlockAligned {
        /// Ciphertext length read.
        ciphertext_len: u64,
    },
    /// The final block's PKCS#7 padding is invalid (or the ciphertext is empty).
    BadPadding {
        /// Ciphertext length read.
        ciphertext_len: u64,
        /// Plaintext bytes already handed out before the last block.
        released: u64,
    },
    /// Reading the ciphertext failed.
    Read(io::Error),
}

/// What to do with the final block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unpad {
    /// Check and strip PKCS#7 padding.
    Pkcs7,
    /// Hand out every decrypted byte (the caller trims).
    Keep,
}

/// Pull-based CBC decryptor over a reader of ciphertext.
pub(crate) struct CbcStream<R> {
    inner: R,
    cipher: cbc::Decryptor<Aes256>,
    unpad: Unpad,
    /// Ciphertext read but not yet decrypted: `pending[..filled]`.
    pending: Box<[u8]>,
    filled: usize,
    /// Plaintext of the last step.
    out: Vec<u8>,
    ciphertext_len: u64,
    released: u64,
    eof: bool,
    done: bool,
}

impl<R: Read> CbcStream<R> {
    /// A decryptor of `inner` with `key` and `iv`.
    pub(crate) fn new(inner: R, key: &[u8; KEY_LEN], iv: &[u8; BLOCK_LEN], unpad: Unpad) -> Self {
        CbcStream {
            inner,
            cipher: cbc::Decryptor::<Aes256>::new(key.into(), iv.into()),
            unpad,
            pending: vec![0u8; CHUNK_LEN + BLOCK_LEN].into_boxed_slice(),
            filled: 0,
            out: Vec::with_capacity(CHUNK_LEN + BLOCK_LEN),
            ciphertext_len: 0,
            released: 0,
            eof: false,
            done: false,
        }
    }

    /// Ciphertext bytes read so far.
    pub(crate) fn ciphertext_len(&self) -> u64 {
        self.ciphertext_len
    }

    /// The next piece of plaintext; an empty slice means the end (padding checked).
    ///
    /// The last block always comes alone in a final call, so when its padding is bad,
    /// exactly `ciphertext_len - 16` bytes have been handed out before the error.
    pub(crate) fn next_chunk(&mut self) -> Result<&[u8], CbcError> {
        if self.done {
            return Ok(&[]);
        }
        self.fill()?;
        if self.eof && !self.filled.is_multiple_of(BLOCK_LEN) {
            self.done = true;
            return Err(CbcError::NotBlockAligned {
                ciphertext_len: self.ciphertext_len,
            });
        }
        // Everything but the last whole block can go out now.
        let whole = self.filled - self.filled % BLOCK_LEN;
        let release = whole.saturating_sub(BLOCK_LEN);
        if release > 0 {
            self.decrypt_front(release);
            self.released = self.released.saturating_add(self.out.len() as u64);
            return Ok(&self.out);
        }
        // At the end of the input with at most the last block left.
        self.done = true;
        let released_before = self.released;
        self.decrypt_front(self.filled);
        if self.unpad == Unpad::Pkcs7 {
            match pkcs7_len(&self.out) {
                Some(keep) => self.out.truncate(keep),
                None => {
                    self.out.clear();
                    return Err(CbcError::BadPadding {
                        ciphertext_len: self.ciphertext_len,
                        released: released_before,
                    });
                }
            }
        }
        self.released = self.released.saturating_add(self.out.len() as u64);
        Ok(&self.out)
    }

    /// Reads until the buffer is full or the input ends.
    fn fill(&mut self) -> Result<(), CbcError> {
        while !self.eof && self.filled < self.pending.len() {
            let Some(space) = self.pending.get_mut(self.filled..) else {
                break;
            };
            match self.inner.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => {
                    self.filled = self.filled.saturating_add(n).min(self.pending.len());
                    self.ciphertext_len = self.ciphertext_len.saturating_add(n as u64);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(CbcError::Read(e)),
            }
        }
        Ok(())
    }

    /// Decrypts `pending[..len]` (a whole number of blocks) into `out` and shifts the rest
    /// of `pending` to the front.
    fn decrypt_front(&mut self, len: usize) {
        self.out.clear();
        if let Some(front) = self.pending.get(..len) {
            self.out.extend_from_slice(front);
        }
        let (blocks, _) = Array::slice_as_chunks_mut(&mut self.out);
        self.cipher.decrypt_blocks(blocks);
        self.pending.copy_within(len..self.filled, 0);
        self.filled -= len;
    }
}

/// The plaintext length once valid PKCS#7 padding (1 to 16 bytes, each equal to the count)
/// is removed from `data`, whose length is a non-zero multiple of the block size.
pub(crate) fn pkcs7_len(data: &[u8]) -> Option<usize> {
    let &last = data.last()?;
    let pad = usize::from(last);
    if pad == 0 || pad > BLOCK_LEN || pad > data.len() {
        return None;
    }
    let keep = data.len() - pad;
    data.get(keep..)?.iter().all(|&b| b == last).then_some(keep)
}

/// [`CbcStream`] as a [`Read`]er. Errors come out as `io::Error`s of kind `InvalidData`
/// whose inner error is the `E` that `map` makes of the [`CbcError`] (read errors pass
/// through unchanged).
pub(crate) struct CbcReader<R, E> {
    stream: CbcStream<R>,
    map: fn(CbcError) -> E,
    pos: usize,
    chunk_len: usize,
    finished: bool,
}

impl<R: Read, E> CbcReader<R, E> {
    /// Wraps `stream`.
    pub(crate) fn new(stream: CbcStream<R>, map: fn(CbcError) -> E) -> Self {
        CbcReader {
            stream,
            map,
            pos: 0,
            chunk_len: 0,
            finished: false,
        }
    }
}

impl<R, E> Read for CbcReader<R, E>
where
    R: Read,
    E: std::error::Error + Send + Sync + 'static,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos >= self.chunk_len {
            if self.finished {
                return Ok(0);
            }
            match self.stream.next_chunk() {
                Ok(chunk) => {
                    self.chunk_len = chunk.len();
                    self.pos = 0;
                    if chunk.is_empty() {
                        self.finished = true;
                    }
                }
                Err(CbcError::Read(e)) => return Err(e),
                Err(e) => {
                    self.finished = true;
                    return Err(io::Error::new(io::ErrorKind::InvalidData, (self.map)(e)));
                }
            }
        }
        let available = self
            .stream
            .out
            .get(self.pos..self.chunk_len)
            .unwrap_or_default();
        let n = available.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), available.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    /// AES-256-CBC-PKCS#7 encryption, for building test vectors.
    pub(crate) fn encrypt(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let pad = 16 - plain.len() % 16;
        let mut padded = plain.to_vec();
        padded.extend(std::iter::repeat_n(pad as u8, pad));
        encrypt_raw(key, iv, &padded)
    }

    /// AES-256-CBC encryption of whole blocks without padding.
    pub(crate) fn encrypt_raw(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        assert_eq!(plain.len() % 16, 0);
        let mut buf = plain.to_vec();
        let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
        cbc::Encryptor::<Aes256>::new(key.into(), iv.into()).encrypt_blocks(blocks);
        buf
    }

    fn drain(mut s: CbcStream<&[u8]>) -> Result<Vec<u8>, CbcError> {
        let mut all = Vec::new();
        loop {
            let chunk = s.next_chunk()?;
            if chunk.is_empty() {
                return Ok(all);
            }
            all.extend_from_slice(chunk);
        }
    }

    /// A reader that hands out at most `step` bytes per call, to exercise short reads.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn round_trips_many_lengths_across_chunk_boundaries() {
        let key = [9u8; 32];
        let iv = [3u8; 16];
        for len in [
            0,
            1,
            15,
            16,
            17,
            CHUNK_LEN - 1,
            CHUNK_LEN,
            CHUNK_LEN + 15,
            CHUNK_LEN + 16,
            3 * CHUNK_LEN + 5,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let ct = encrypt(&key, &iv, &plain);
            let got = drain(CbcStream::new(&ct[..], &key, &iv, Unpad::Pkcs7)).unwrap();
            assert_eq!(got, plain, "len {len}");
            let mut via_reader = Vec::new();
            let trickle = Trickle { data: &ct, step: 7 };
            CbcReader::new(CbcStream::new(trickle, &key, &iv, Unpad::Pkcs7), |e| {
                io::Error::other(format!("{e:?}"))
            })
            .read_to_end(&mut via_reader)
            .unwrap();
            assert_eq!(via_reader, plain, "reader len {len}");
        }
    }

    #[test]
    fn keep_mode_returns_padding_bytes() {
        let key = [1u8; 32];
        let iv = [0u8; 16];
        let ct = encrypt(&key, &iv, b"hello");
        let got = drain(CbcStream::new(&ct[..], &key, &iv, Unpad::Keep)).unwrap();
        assert_eq!(&got[..5], b"hello");
        assert_eq!(&got[5..], &[11u8; 11]);
    }

    #[test]
    fn unaligned_ciphertext_is_refused() {
        let key = [1u8; 32];
        let iv = [0u8; 16];
        let mut ct = encrypt(&key, &iv, &[5u8; 100]);
        ct.pop();
        match drain(CbcStream::new(&ct[..], &key, &iv, Unpad::Pkcs7)) {
            Err(CbcError::NotBlockAligned { ciphertext_len }) => assert_eq!(ciphertext_len, 111),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_padding_and_empty_input_are_refused() {
        let key = [1u8; 32];
        let iv = [0u8; 16];
        // A final block ending in 0x00, then one ending in 0x11 (17): both invalid.
        for last in [0u8, 17] {
            let mut plain = vec![0x41u8; 48];
            plain[47] = last;
            let ct = encrypt_raw(&key, &iv, &plain);
            match drain(CbcStream::new(&ct[..], &key, &iv, Unpad::Pkcs7)) {
                Err(CbcError::BadPadding {
                    ciphertext_len,
                    released,
                }) => {
                    assert_eq!(ciphertext_len, 48);
                    assert_eq!(released, 32);
                }
                other => panic!("{other:?}"),
            }
        }
        // Inconsistent padding bytes: 03 03 04.
        let mut plain = vec![0x41u8; 16];
        plain[13] = 3;
        plain[14] = 4;
        plain[15] = 3;
        let ct = encrypt_raw(&key, &iv, &plain);
        assert!(matches!(
            drain(CbcStream::new(&ct[..], &key, &iv, Unpad::Pkcs7)),
            Err(CbcError::BadPadding { .. })
        ));
        assert!(matches!(
            drain(CbcStream::new(&[][..], &key, &iv, Unpad::Pkcs7)),
            Err(CbcError::BadPadding {
                ciphertext_len: 0,
                ..
            })
        ));
    }

    #[test]
    fn pkcs7_len_cases() {
        assert_eq!(pkcs7_len(&[0u8; 0]), None);
        assert_eq!(pkcs7_len(&[16u8; 16]), Some(0));
        let mut b = [7u8; 16];
        b[15] = 1;
        assert_eq!(pkcs7_len(&b), Some(15));
        b[15] = 0;
        assert_eq!(pkcs7_len(&b), None);
    }
}
