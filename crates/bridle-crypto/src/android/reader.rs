//! [`AbReader`]: the tar stream inside an `.ab` file, decrypted and inflated on the fly.

use std::io::{self, BufReader, Read};

use flate2::{Decompress, FlushDecompress, Status};

use crate::cbc_stream::{CbcError, CbcReader, CbcStream, Unpad};

use super::error::AbError;
use super::header::{AbHeader, read_header};

/// Default cap on the decoded (decrypted, inflated) bytes: far above any phone's backup
/// that `adb backup` can produce in practice, low enough that a zlib bomb stops long
/// before it fills a disk.
pub const DEFAULT_MAX_OUTPUT: u64 = 64 * 1024 * 1024 * 1024;

/// Size of a tar block; the first one is checked when the reader opens.
const TAR_BLOCK: usize = 512;

/// Input buffer of the inflater.
const INFLATE_INPUT: usize = 64 * 1024;

/// Options of [`AbReader::open_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AbOptions {
    /// Most decoded bytes [`AbReader`] hands out before failing with
    /// [`AbError::TooLarge`].
    pub max_output: u64,
}

impl Default for AbOptions {
    fn default() -> Self {
        AbOptions {
            max_output: DEFAULT_MAX_OUTPUT,
        }
    }
}

/// The body after decryption (if any).
enum Decrypted<R: Read> {
    Clear(BufReader<R>),
    Aes(Box<CbcReader<BufReader<R>, AbError>>),
}

impl<R: Read> Read for Decrypted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decrypted::Clear(r) => r.read(buf),
            Decrypted::Aes(r) => r.read(buf),
        }
    }
}

/// Maps the body's CBC failures to `.ab` errors.
fn body_cbc_error(e: CbcError) -> AbError {
    match e {
        CbcError::NotBlockAligned { .. } => AbError::Truncated {
            what: "the encrypted data is not a whole number of AES blocks",
        },
        CbcError::BadPadding { .. } => AbError::BadPadding,
        CbcError::Read(e) => AbError::Io(e),
    }
}

/// A zlib inflater that, unlike `flate2::read::ZlibDecoder`, treats the end of the input
/// before the end of the zlib stream as an error (a truncated backup must not look like a
/// short one) and checks the zlib header itself so a lying header gets a clear error.
struct Inflater<S> {
    inner: S,
    z: Decompress,
    input: Box<[u8]>,
    start: usize,
    end: usize,
    eof: bool,
    header_checked: bool,
    finished: bool,
}

impl<S: Read> Inflater<S> {
    fn new(inner: S) -> Self {
        Inflater {
            inner,
            z: Decompress::new(true),
            input: vec![0u8; INFLATE_INPUT].into_boxed_slice(),
            start: 0,
            end: 0,
            eof: false,
            header_checked: false,
            finished: false,
        }
    }

    /// Refills the input buffer when it is empty; sets `eof` at the end.
    fn fill(&mut self) -> io::Result<()> {
        if self.start < self.end || self.eof {
            return Ok(());
        }
        loop {
            match self.inner.read(&mut self.input) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.start = 0;
                    self.end = n.min(self.input.len());
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Checks the two-byte zlib header (RFC 1950 §2.2): method 8 (deflate), window at
    /// most 32 KiB, no preset dictionary, and the check bits.
    fn check_header(&mut self) -> io::Result<()> {
        // Gather two bytes even if the reader hands them out one at a time.
        while self.end - self.start < 2 && !self.eof {
            if self.start > 0 {
                self.input.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let Some(space) = self.input.get_mut(self.end..) else {
                break;
            };
            match self.inner.read(space) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = self.end.saturating_add(n).min(self.input.len()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let head = self.input.get(self.start..self.end).unwrap_or_default();
        let ok = match head {
            [cmf, flg, ..] => {
                cmf & 0x0f == 8
                    && cmf >> 4 <= 7
                    && flg & 0x20 == 0
                    && (u16::from(*cmf) * 256 + u16::from(*flg)) % 31 == 0
            }
            _ => false,
        };
        if ok {
            self.header_checked = true;
            Ok(())
        } else if head.is_empty() && self.eof {
            Err(AbError::Truncated {
                what: "no compressed data after the header",
            }
            .into_io())
        } else {
            Err(AbError::NotZlib.into_io())
        }
    }
}

impl<S: Read> Read for Inflater<S> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.finished {
            return Ok(0);
        }
        if !self.header_checked {
            self.check_header()?;
        }
        loop {
            self.fill()?;
            let input = self.input.get(self.start..self.end).unwrap_or_default();
            let before_in = self.z.total_in();
            let before_out = self.z.total_out();
            let status = self
                .z
                .decompress(input, buf, FlushDecompress::None)
                .map_err(|e| {
                    AbError::CorruptZlib {
                        message: e.to_string(),
                    }
                    .into_io()
                })?;
            let consumed =
                usize::try_from(self.z.total_in().saturating_sub(before_in)).unwrap_or(usize::MAX);
            let produced = usize::try_from(self.z.total_out().saturating_sub(before_out))
                .unwrap_or(usize::MAX)
                .min(buf.len());
            self.start = self.start.saturating_add(consumed).min(self.end);
            if status == Status::StreamEnd {
                self.finished = true;
                return Ok(produced);
            }
            if produced > 0 {
                return Ok(produced);
            }
            if consumed == 0 {
                if self.start < self.end {
                    // Input available, room for output, and no progress: a stream the
                    // inflater cannot advance. Refuse rather than spin.
                    return Err(AbError::CorruptZlib {
                        message: "no progress".into(),
                    }
                    .into_io());
                }
                if self.eof {
                    return Err(AbError::Truncated {
                        what: "the zlib stream ends before its end marker",
                    }
                    .into_io());
                }
            }
        }
    }
}

/// The decoded body: raw, or inflated.
enum Body<R: Read> {
    Raw(Decrypted<R>),
    Zlib(Box<Inflater<Decrypted<R>>>),
}

impl<R: Read> Read for Body<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Body::Raw(r) => r.read(buf),
            Body::Zlib(r) => r.read(buf),
        }
    }
}

/// A reader of the tar stream inside an `.ab` file.
///
/// [`AbReader::open`] reads and checks the header, decrypts the master key when the file
/// is encrypted (a wrong password fails here, with [`AbError::WrongPassword`]), and decodes
/// the first 512 bytes to check that they are a tar header, so that a header that lies
/// about compression or encryption fails at open with a typed error. The rest is decoded as
/// it is read, in constant memory. Errors while reading are `io::Error`s of kind
/// `InvalidData` carrying an [`AbError`] ([`AbError::from_io_ref`] gets it back).
pub struct AbReader<R: Read> {
    header: AbHeader,
    body: Body<R>,
    prefix: Vec<u8>,
    prefix_pos: usize,
    produced: u64,
    max_output: u64,
    failed: bool,
}

impl<R: Read> std::fmt::Debug for AbReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AbReader")
            .field("header", &self.header)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl<R: Read> AbReader<R> {
    /// Opens an `.ab` stream with the default [`AbOptions`]. `password` is needed when the
    /// file is encrypted and ignored otherwise.
    pub fn open(reader: R, password: Option<&[u8]>) -> Result<AbReader<R>, AbError> {
        AbReader::open_with(reader, password, &AbOptions::default())
    }

    /// Opens an `.ab` stream with explicit options.
    pub fn open_with(
        reader: R,
        password: Option<&[u8]>,
        options: &AbOptions,
    ) -> Result<AbReader<R>, AbError> {
        let mut source = BufReader::new(reader);
        let (header, aes) = read_header(&mut source)?;
        let decrypted = match aes {
            None => Decrypted::Clear(source),
            Some(params) => {
                let password = password.ok_or(AbError::PasswordRequired)?;
                let body_key = params.unlock(header.version, password)?;
                let stream =
                    CbcStream::new(source, body_key.key.bytes(), &body_key.iv, Unpad::Pkcs7);
                Decrypted::Aes(Box::new(CbcReader::new(stream, body_cbc_error)))
            }
        };
        let body = if header.compressed {
            Body::Zlib(Box::new(Inflater::new(decrypted)))
        } else {
            Body::Raw(decrypted)
        };
        let mut reader = AbReader {
            header,
            body,
            prefix: Vec::with_capacity(TAR_BLOCK),
            prefix_pos: 0,
            produced: 0,
            max_output: options.max_output,
            failed: false,
        };
        reader.check_tar_start()?;
        Ok(reader)
    }

    /// What the header says.
    pub fn header(&self) -> &AbHeader {
        &self.header
    }

    /// Decoded bytes handed out so far.
    pub fn bytes_out(&self) -> u64 {
        self.produced
    }

    /// Decodes the first tar block into `prefix` and checks it.
    fn check_tar_start(&mut self) -> Result<(), AbError> {
        let mut block = [0u8; TAR_BLOCK];
        let mut filled = 0usize;
        while filled < TAR_BLOCK {
            let Some(space) = block.get_mut(filled..) else {
                break;
            };
            match self.body.read(space) {
                Ok(0) => break,
                Ok(n) => filled = filled.saturating_add(n).min(TAR_BLOCK),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(AbError::from_io(e)),
            }
        }
        if filled < TAR_BLOCK {
            return Err(AbError::Truncated {
                what: "the data is shorter than one tar block",
            });
        }
        if !is_tar_header(&block) {
            return Err(AbError::NotTar);
        }
        self.prefix.extend_from_slice(&block);
        Ok(())
    }
}

/// Whether `block` is a tar header with a correct checksum, or the all-zero block that
/// ends an (empty) archive. The checksum (POSIX ustar, also old V7 tar) is the sum of the
/// header's bytes with the checksum field counted as spaces, written in octal; some old
/// tars summed signed bytes, so both sums are accepted.
fn is_tar_header(block: &[u8; TAR_BLOCK]) -> bool {
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    let Some(field) = block.get(148..156) else {
        return false;
    };
    let digits = field
        .iter()
        .skip_while(|&&b| b == b' ')
        .take_while(|&&b| (b'0'..=b'7').contains(&b));
    let mut stored: u32 = 0;
    let mut count = 0;
    for &d in digits {
        stored = stored.saturating_mul(8).saturating_add(u32::from(d - b'0'));
        count += 1;
    }
    if count == 0 {
        return false;
    }
    let mut unsigned: u32 = 0;
    let mut signed: i32 = 0;
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u32::from(b);
        signed += i32::from(b.cast_signed());
    }
    stored == unsigned || i64::from(stored) == i64::from(signed)
}

impl<R: Read> Read for AbReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.failed {
            return Err(io::Error::other("Android backup reader failed earlier"));
        }
        let n = if let Some(rest) = self.prefix.get(self.prefix_pos..).filter(|r| !r.is_empty()) {
            let n = rest.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
                dst.copy_from_slice(src);
            }
            self.prefix_pos += n;
            n
        } else {
            match self.body.read(buf) {
                Ok(n) => n,
                Err(e) => {
                    if e.kind() != io::ErrorKind::Interrupted {
                        self.failed = true;
                    }
                    return Err(e);
                }
            }
        };
        self.produced = self.produced.saturating_add(n as u64);
        if self.produced > self.max_output {
            self.failed = true;
            return Err(AbError::TooLarge {
                limit: self.max_output,
            }
            .into_io());
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::header::tests::aes_header;
    use super::*;
    use crate::cbc_stream::tests::encrypt;
    use flate2::Compression;
    use flate2::write::ZlibEncoder;
    use std::io::Write;

    /// A tiny tar with one file, built by hand (name, mode, size, checksum).
    fn tar_with(name: &str, content: &[u8]) -> Vec<u8> {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{:011o}\0", content.len()).as_bytes());
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let mut out = h.to_vec();
        out.extend_from_slice(content);
        out.resize(out.len().div_ceil(512) * 512 + 1024, 0);
        out
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(data: &[u8], password: Option<&[u8]>) -> Result<Vec<u8>, AbError> {
        let mut r = AbReader::open(data, password)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(AbError::from_io)?;
        Ok(out)
    }

    fn encrypted_ab(version: u32, compressed: bool, password: &[u8], tar: &[u8]) -> Vec<u8> {
        let mk = [0xa5u8; 32];
        let iv = [0x5au8; 16];
        let mut out = aes_header(version, compressed, password, 7, &mk, &iv);
        let body = if compressed { zlib(tar) } else { tar.to_vec() };
        out.extend(encrypt(&mk, &iv, &body));
        out
    }

    #[test]
    fn tar_header_check() {
        let tar = tar_with("apps/x", b"hello");
        let block: [u8; 512] = tar[..512].try_into().unwrap();
        assert!(is_tar_header(&block));
        assert!(is_tar_header(&[0u8; 512]));
        let mut bad = block;
        bad[0] ^= 1;
        assert!(!is_tar_header(&bad));
        assert!(!is_tar_header(&[0x41u8; 512]));
    }

    #[test]
    fn all_four_combinations_round_trip() {
        let tar = tar_with("apps/com.example/f/a.txt", &vec![b'z'; 100_000]);
        let mut plain = b"ANDROID BACKUP\n5\n0\nnone\n".to_vec();
        plain.extend(&tar);
        assert_eq!(read_all(&plain, None).unwrap(), tar);
        let mut comp = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        comp.extend(zlib(&tar));
        assert_eq!(read_all(&comp, Some(b"ignored")).unwrap(), tar);
        for compressed in [false, true] {
            let enc = encrypted_ab(5, compressed, "pässwörd".as_bytes(), &tar);
            assert_eq!(read_all(&enc, Some("pässwörd".as_bytes())).unwrap(), tar);
            assert!(matches!(
                read_all(&enc, Some(b"nope")),
                Err(AbError::WrongPassword)
            ));
            assert!(matches!(
                read_all(&enc, None),
                Err(AbError::PasswordRequired)
            ));
        }
    }

    /// Bytes that do not compress (a xorshift sequence).
    fn noise(n: usize) -> Vec<u8> {
        let mut x: u32 = 0x9e37_79b9;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn lying_headers() {
        let tar = tar_with("a", &noise(2000));
        // Says compressed, is not.
        let mut lie = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        lie.extend(&tar);
        assert!(matches!(read_all(&lie, None), Err(AbError::NotZlib)));
        // Says not compressed, is.
        let mut lie = b"ANDROID BACKUP\n5\n0\nnone\n".to_vec();
        lie.extend(zlib(&tar));
        assert!(matches!(read_all(&lie, None), Err(AbError::NotTar)));
        // Says not encrypted, is (the encrypted body of a real file behind a plain header).
        let enc = encrypted_ab(5, false, b"pw", &tar);
        let body_start = enc.len() - (tar.len() + 16);
        for flag in ["0", "1"] {
            let mut lie = format!("ANDROID BACKUP\n5\n{flag}\nnone\n").into_bytes();
            lie.extend(&enc[body_start..]);
            let err = read_all(&lie, None).unwrap_err();
            assert!(
                matches!(
                    err,
                    AbError::NotTar | AbError::NotZlib | AbError::CorruptZlib { .. }
                ),
                "{err:?}"
            );
        }
        // Says encrypted, the key lines are missing.
        let mut lie = b"ANDROID BACKUP\n5\n0\nAES-256\n".to_vec();
        lie.extend(&tar);
        let err = read_all(&lie, Some(b"pw")).unwrap_err();
        assert!(
            matches!(
                err,
                AbError::BadHeaderValue { .. }
                    | AbError::TruncatedHeader { .. }
                    | AbError::LineTooLong { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn truncation_is_an_error_not_a_short_read() {
        let tar = tar_with("apps/a", &vec![7u8; 20_000]);
        let mut comp = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        comp.extend(zlib(&tar));
        let cut = &comp[..comp.len() - 10];
        assert!(matches!(
            read_all(cut, None),
            Err(AbError::Truncated { .. })
        ));
        let header_only = b"ANDROID BACKUP\n5\n1\nnone\n";
        assert!(matches!(
            read_all(header_only, None),
            Err(AbError::Truncated { .. })
        ));
        let plain_header_only = b"ANDROID BACKUP\n5\n0\nnone\n";
        assert!(matches!(
            read_all(plain_header_only, None),
            Err(AbError::Truncated { .. })
        ));

        let enc = encrypted_ab(5, false, b"pw", &tar);
        assert!(matches!(
            read_all(&enc[..enc.len() - 5], Some(b"pw")),
            Err(AbError::Truncated { .. })
        ));
        // Cut at a block boundary: the last block is no longer the padding block.
        assert!(matches!(
            read_all(&enc[..enc.len() - 16], Some(b"pw")),
            Err(AbError::BadPadding)
        ));
        let enc = encrypted_ab(5, true, b"pw", &tar);
        let err = read_all(&enc[..enc.len() - 32], Some(b"pw")).unwrap_err();
        assert!(
            matches!(err, AbError::BadPadding | AbError::Truncated { .. }),
            "{err:?}"
        );
    }

    #[test]
    fn output_cap_stops_a_bomb() {
        // 50 MB of zeros after a tar header compresses to ~50 KB.
        let mut tar = tar_with("bomb", b"");
        tar.resize(50_000_000, 0);
        let mut comp = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        comp.extend(zlib(&tar));
        assert!(comp.len() < 200_000);
        let mut r = AbReader::open_with(
            &comp[..],
            None,
            &AbOptions {
                max_output: 1_000_000,
            },
        )
        .unwrap();
        let err = io::copy(&mut r, &mut io::sink()).unwrap_err();
        assert!(matches!(
            AbError::from_io_ref(&err),
            Some(AbError::TooLarge { limit: 1_000_000 })
        ));
        // At the cap exactly, everything is fine.
        let mut r = AbReader::open_with(
            &comp[..],
            None,
            &AbOptions {
                max_output: 50_000_000,
            },
        )
        .unwrap();
        assert_eq!(io::copy(&mut r, &mut io::sink()).unwrap(), 50_000_000);
        assert_eq!(r.bytes_out(), 50_000_000);
    }

    #[test]
    fn corrupt_zlib_is_reported() {
        let tar = tar_with("a", &vec![1u8; 5000]);
        let mut z = zlib(&tar);
        let mid = z.len() / 2;
        for b in &mut z[mid..mid + 8] {
            *b ^= 0x55;
        }
        let mut comp = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        comp.extend(z);
        let err = read_all(&comp, None).unwrap_err();
        assert!(
            matches!(err, AbError::CorruptZlib { .. } | AbError::NotTar),
            "{err:?}"
        );
    }

    #[test]
    fn arbitrary_bodies_never_panic() {
        use proptest::prelude::*;
        proptest!(ProptestConfig::with_cases(128), |(body in proptest::collection::vec(any::<u8>(), 0..3000), compressed in any::<bool>())| {
            let mut data = format!("ANDROID BACKUP\n5\n{}\nnone\n", u8::from(compressed)).into_bytes();
            data.extend(body);
            let _ = read_all(&data, None);
        });
    }
}
