//! Android backups made with `adb backup` (`.ab`), or unpacked into a folder.
//!
//! An `.ab` is a short text header (`ANDROID BACKUP`, version, compressed flag, encryption),
//! then a body: AES-256 if encrypted, zlib if compressed, and a tar inside. Everything here
//! streams: the tar is read member by member from the decompressed body, and the members a
//! module wants are read (bounded) while the others are skipped, so nothing is extracted to
//! disk and memory does not grow with the backup.

use crate::error::OpenError;
use crate::files::Files;
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::{ArchiveLimits, Tree, fnmatch, validate_member_name};
use bridle_model::{EvidenceFile, Problem, ProblemKind};
use flate2::{Decompress, FlushDecompress, Status};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zeroize::Zeroizing;

/// The magic first line.
pub const AB_MAGIC: &[u8] = b"ANDROID BACKUP\n";
/// Longest header line accepted.
const MAX_HEADER_LINE: u64 = 1024;

/// Why an `.ab` could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AbError {
    /// Not an Android backup.
    #[error("not an Android backup (no `ANDROID BACKUP` header)")]
    NotABackup,
    /// The header ends early.
    #[error("truncated header: no {0} line")]
    TruncatedHeader(&'static str),
    /// A header field is not what the format allows.
    #[error("invalid header: {0}")]
    BadHeader(String),
    /// Encrypted, and this build cannot decrypt (or no password was given).
    #[error("the backup is encrypted ({algorithm}); {reason}")]
    Encrypted {
        /// The header's encryption name.
        algorithm: String,
        /// Why it cannot be read.
        reason: &'static str,
    },
    /// The header says compressed but the body is not zlib (or the reverse).
    #[error("the header says the data is {said}, but it is not: {detail}")]
    HeaderLies {
        /// What the header claims.
        said: &'static str,
        /// What was found.
        detail: String,
    },
    /// The password does not decrypt the backup's master key.
    #[error("the password is wrong: it does not decrypt the backup's master key")]
    WrongPassword,
    /// Decryption failed (damaged data, bad padding, a corrupt stream).
    #[error("decryption failed: {0}")]
    Decrypt(String),
    /// Reading failed.
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// What an `.ab` header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbHeader {
    /// Format version.
    pub version: u32,
    /// Whether the body is zlib-compressed.
    pub compressed: bool,
    /// `none` or the encryption algorithm (`AES-256`).
    pub encryption: String,
}

fn header_line<R: BufRead>(r: &mut R, field: &'static str) -> Result<String, AbError> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', &mut line)?;
    if line.pop() != Some(b'\n') {
        return Err(AbError::TruncatedHeader(field));
    }
    String::from_utf8(line).map_err(|_| AbError::BadHeader(format!("{field} is not text")))
}

/// Reads and checks the header, leaving `r` at the start of the body.
pub fn read_header<R: BufRead>(r: &mut R) -> Result<AbHeader, AbError> {
    let mut magic = [0u8; 15];
    let mut got = 0;
    while got < magic.len() {
        let Some(slot) = magic.get_mut(got..) else {
            break;
        };
        match r.read(slot)? {
            0 => break,
            n => got += n,
        }
    }
    if magic.get(..got) != AB_MAGIC.get(..got) || got < AB_MAGIC.len() {
        return Err(
            if got < AB_MAGIC.len() && magic.get(..got) == AB_MAGIC.get(..got) {
                AbError::TruncatedHeader("ANDROID BACKUP")
            } else {
                AbError::NotABackup
            },
        );
    }
    let version = header_line(r, "version")?;
    let version: u32 = version
        .trim()
        .parse()
        .map_err(|_| AbError::BadHeader(format!("version `{}` is not a number", version.trim())))?;
    let compressed = match header_line(r, "compressed")?.trim() {
        "0" => false,
        "1" => true,
        other => {
            return Err(AbError::BadHeader(format!(
                "compressed flag `{other}` is not 0 or 1"
            )));
        }
    };
    let encryption = header_line(r, "encryption")?.trim().to_owned();
    Ok(AbHeader {
        version,
        compressed,
        encryption,
    })
}

/// Whether a file starts with the `.ab` magic line.
pub fn is_ab_file(path: &Path) -> bool {
    let mut head = [0u8; 15];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == *AB_MAGIC)
}

/// Whether a file is an `.ab` backup whose header says it is encrypted (so a password must be
/// asked for before opening it).
pub fn is_encrypted_file(path: &Path) -> bool {
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut r = BufReader::new(f);
    read_header(&mut r).is_ok_and(|h| h.encryption != "none")
}

/// How much of an `.ab` is read ahead to parse its header (five short lines and a hex
/// master-key blob: well under this).
const HEAD_PEEK: u64 = 64 * 1024;

/// Opens an `.ab` stream and returns its header and the tar stream inside.
///
/// Unencrypted backups are read here (zlib inflated on the fly, a premature end of the zlib
/// stream being an error, not a silent end). Encrypted ones need bridle-crypto's decryptor.
pub fn open_ab<'a, R: Read + 'a>(
    reader: R,
    password: Option<&Zeroizing<String>>,
) -> Result<(AbHeader, Box<dyn Read + 'a>), AbError> {
    // Read the head once: parse the header from it, then hand the whole stream (head
    // included) to the decryptor or to the clear-text reader.
    let mut reader = reader;
    let mut head = Vec::new();
    (&mut reader).take(HEAD_PEEK).read_to_end(&mut head)?;
    let header = read_header(&mut io::Cursor::new(&head))?;
    let whole = io::Cursor::new(head).chain(reader);
    if header.encryption != "none" {
        if header.encryption != "AES-256" {
            return Err(AbError::Encrypted {
                algorithm: header.encryption.clone(),
                reason: "unknown encryption algorithm",
            });
        }
        let Some(password) = password else {
            return Err(AbError::Encrypted {
                algorithm: header.encryption.clone(),
                reason: "a password is needed",
            });
        };
        let r = bridle_crypto::android::AbReader::open(whole, Some(password.as_bytes())).map_err(
            |e| match e {
                bridle_crypto::android::AbError::WrongPassword => AbError::WrongPassword,
                other => AbError::Decrypt(other.to_string()),
            },
        )?;
        return Ok((header, Box::new(r)));
    }
    let mut r = BufReader::with_capacity(1 << 16, whole);
    let header = read_header(&mut r)?;
    let body: Box<dyn Read + 'a> = if header.compressed {
        let mut inflater = Inflater::new(r);
        inflater
            .check_header()
            .map_err(|detail| AbError::HeaderLies {
                said: "zlib-compressed",
                detail,
            })?;
        Box::new(inflater)
    } else {
        let head = r.fill_buf()?;
        if head.len() >= 2 && is_zlib_header(head.first().copied(), head.get(1).copied()) {
            return Err(AbError::HeaderLies {
                said: "uncompressed",
                detail: "the data starts with a zlib header".into(),
            });
        }
        Box::new(r)
    };
    Ok((header, body))
}

fn is_zlib_header(a: Option<u8>, b: Option<u8>) -> bool {
    match (a, b) {
        (Some(cmf), Some(flg)) => {
            cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) * 256 + u16::from(flg)) % 31 == 0
        }
        _ => false,
    }
}

/// zlib inflation that fails on a stream cut short (flate2's reader would just end).
struct Inflater<R> {
    inner: R,
    z: Decompress,
    done: bool,
}

impl<R: BufRead> Inflater<R> {
    fn new(inner: R) -> Self {
        Inflater {
            inner,
            z: Decompress::new(true),
            done: false,
        }
    }

    fn check_header(&mut self) -> Result<(), String> {
        let head = self.inner.fill_buf().map_err(|e| e.to_string())?;
        if head.len() < 2 {
            return Err("the data ends before the zlib header".into());
        }
        if !is_zlib_header(head.first().copied(), head.get(1).copied()) {
            return Err(format!(
                "no zlib header (first bytes {:02x?})",
                head.get(..head.len().min(4)).unwrap_or_default()
            ));
        }
        Ok(())
    }
}

impl<R: BufRead> Read for Inflater<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.inner.fill_buf()?;
            let eof = input.is_empty();
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            let status = self
                .z
                .decompress(
                    input,
                    buf,
                    if eof {
                        FlushDecompress::Finish
                    } else {
                        FlushDecompress::None
                    },
                )
                .map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("corrupt zlib data: {e}"),
                    )
                })?;
            let consumed = usize::try_from(self.z.total_in() - before_in).unwrap_or(0);
            let produced = usize::try_from(self.z.total_out() - before_out).unwrap_or(0);
            self.inner.consume(consumed);
            if status == Status::StreamEnd {
                self.done = true;
                return Ok(produced);
            }
            if produced > 0 {
                return Ok(produced);
            }
            if eof {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the compressed data ends before the end of its zlib stream (truncated backup)",
                ));
            }
            if consumed == 0 && status == Status::BufError {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "zlib stream makes no progress",
                ));
            }
        }
    }
}

/// Inflates a small zlib blob completely, refusing output over `max` and a stream that is
/// cut short.
pub fn inflate_bounded(data: &[u8], max: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut r = Inflater::new(data).take(max.saturating_add(1));
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    if out.len() as u64 > max {
        return Err(format!("inflates to more than {max} bytes"));
    }
    if !r.get_ref().done {
        return Err("not a complete zlib stream".into());
    }
    Ok(out)
}

/// Where a backup's bytes are.
#[derive(Debug)]
enum Source {
    /// An `.ab` file on disk.
    AbFile { path: PathBuf, name: String },
    /// An `.ab` member of an acquisition (AndroidQF's `backup.ab`).
    AbMember { files: Arc<Files>, name: String },
    /// An unpacked backup folder (holding `apps/`).
    Folder(Arc<Files>),
}

/// An Android backup.
#[derive(Debug)]
pub struct Backup {
    source: Source,
    log: EvidenceLog,
    password: Option<Zeroizing<String>>,
    /// Largest tar member read into memory.
    max_member: u64,
}

/// A member of the backup as a module sees it.
pub struct BackupMember<'a> {
    /// Its name inside the backup (`apps/com.android.providers.telephony/d_f/000000_sms_backup`).
    pub name: String,
    /// Its declared size.
    pub size: u64,
    /// Its bytes.
    pub reader: &'a mut dyn Read,
}

impl Backup {
    /// Opens an `.ab` file or an unpacked backup folder.
    pub fn open(
        path: &Path,
        log: EvidenceLog,
        password: Option<Zeroizing<String>>,
        limits: ArchiveLimits,
    ) -> Result<Backup, OpenError> {
        let meta = std::fs::metadata(path).map_err(|e| OpenError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let source = if meta.is_dir() {
            Source::Folder(Arc::new(Files::new(
                Tree::open_with(path, limits)?,
                log.clone(),
                "",
            )))
        } else {
            let name = path.file_name().map_or_else(
                || "backup.ab".to_owned(),
                |n| n.to_string_lossy().into_owned(),
            );
            Source::AbFile {
                path: path.to_path_buf(),
                name,
            }
        };
        Ok(Backup {
            source,
            log,
            password,
            max_member: limits.max_in_memory,
        })
    }

    /// The `backup.ab` member of another acquisition.
    pub fn from_member(
        files: Arc<Files>,
        name: &str,
        password: Option<Zeroizing<String>>,
    ) -> Backup {
        let log = files.log().clone();
        let max_member = files.tree().limits().max_in_memory;
        Backup {
            source: Source::AbMember {
                files,
                name: name.to_owned(),
            },
            log,
            password,
            max_member,
        }
    }

    /// The evidence log.
    pub fn log(&self) -> &EvidenceLog {
        &self.log
    }

    /// How the backup is cited: the `.ab` (stored path) or the folder.
    pub fn label(&self) -> String {
        match &self.source {
            Source::AbFile { name, .. } => name.clone(),
            Source::AbMember { files, name } => files.stored(name),
            Source::Folder(f) => f.tree().label().to_owned(),
        }
    }

    /// Largest member read into memory.
    pub fn max_member(&self) -> u64 {
        self.max_member
    }

    /// Cites the `.ab` itself (hashing it) when the backup is one.
    fn cite_ab(&self) -> Result<Option<Arc<EvidenceFile>>, String> {
        match &self.source {
            Source::AbFile { path, name } => self
                .log
                .register(path, name, name)
                .map(Some)
                .map_err(|e| e.to_string()),
            Source::AbMember { files, name } => {
                files.register(name).map(Some).map_err(|e| e.to_string())
            }
            Source::Folder(_) => Ok(None),
        }
    }

    /// Cites a member of the backup by the hash of its bytes.
    pub fn cite_member(&self, name: &str, bytes: &[u8]) -> Arc<EvidenceFile> {
        let stored = match &self.source {
            Source::Folder(f) => f.stored(name),
            _ => format!("{}!/{name}", self.label()),
        };
        self.log.register_known(EvidenceFile {
            logical_path: name.to_owned(),
            stored_path: stored,
            sha256: hex::encode(Sha256::digest(bytes)),
            size: bytes.len() as u64,
        })
    }

    /// Visits every member whose name matches one of `patterns` (fnmatch), in archive order
    /// (a folder's members sorted by name). `Err` when the backup cannot be read at all;
    /// damage after some members is reported in `problems` and the visit stops there.
    pub fn visit(
        &self,
        patterns: &[&str],
        problems: &mut Vec<Problem>,
        mut f: impl FnMut(BackupMember<'_>, &mut Vec<Problem>),
    ) -> Result<(), AbError> {
        let wanted = |n: &str| patterns.iter().any(|p| fnmatch(p, n));
        match &self.source {
            Source::Folder(files) => {
                for e in files.tree().files() {
                    if !wanted(&e.name) {
                        continue;
                    }
                    match files.tree().open_file(&e.name) {
                        Ok(mut r) => f(
                            BackupMember {
                                name: e.name.clone(),
                                size: e.size,
                                reader: &mut r,
                            },
                            problems,
                        ),
                        Err(err) => problems.push(files.problem(
                            ProblemKind::Unreadable,
                            &e.name,
                            err.to_string(),
                        )),
                    }
                }
                Ok(())
            }
            Source::AbFile { path, .. } => {
                let file = std::fs::File::open(path)?;
                self.visit_ab(file, &wanted, problems, &mut f)
            }
            Source::AbMember { files, name } => {
                let member = files
                    .tree()
                    .open_file(name)
                    .map_err(|e| AbError::Io(io::Error::other(e.to_string())))?;
                self.visit_ab(member, &wanted, problems, &mut f)
            }
        }
    }

    fn visit_ab(
        &self,
        reader: impl Read,
        wanted: &dyn Fn(&str) -> bool,
        problems: &mut Vec<Problem>,
        f: &mut dyn FnMut(BackupMember<'_>, &mut Vec<Problem>),
    ) -> Result<(), AbError> {
        if let Err(e) = self.cite_ab() {
            problems.push(Problem::file(
                ProblemKind::Partial,
                self.label(),
                format!("cannot be hashed: {e}"),
            ));
        }
        let (_, body) = open_ab(reader, self.password.as_ref())?;
        let mut archive = tar::Archive::new(body);
        let entries = archive.entries().map_err(|e| AbError::HeaderLies {
            said: "a tar archive",
            detail: e.to_string(),
        })?;
        let label = self.label();
        for (i, entry) in entries.enumerate() {
            let mut entry = match entry {
                Ok(e) => e,
                Err(e) if i == 0 => {
                    return Err(AbError::HeaderLies {
                        said: "a tar archive once decoded",
                        detail: e.to_string(),
                    });
                }
                Err(e) => {
                    problems.push(Problem::file(
                        ProblemKind::Partial,
                        label.clone(),
                        format!("the backup cannot be read after {i} members: {e}"),
                    ));
                    break;
                }
            };
            let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let name = match validate_member_name(&raw) {
                Ok(n) => n,
                Err(p) => {
                    problems.push(Problem::file(
                        ProblemKind::Skipped,
                        format!("{label}!/{}", bridle_model::sanitize::for_terminal(&raw)),
                        format!("unsafe member name: {}; skipped", p.describe()),
                    ));
                    continue;
                }
            };
            if !entry.header().entry_type().is_file() || !wanted(&name) {
                continue;
            }
            let size = entry.size();
            f(
                BackupMember {
                    name,
                    size,
                    reader: &mut entry,
                },
                problems,
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn headers_and_bodies() {
        let body = zlib(b"hello tar");
        let mut ab = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        ab.extend_from_slice(&body);
        let (h, mut r) = open_ab(&ab[..], None).unwrap();
        assert_eq!(
            h,
            AbHeader {
                version: 5,
                compressed: true,
                encryption: "none".into()
            }
        );
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello tar");

        // Truncated body: an error, not a short read.
        let mut cut = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        cut.extend_from_slice(&body[..body.len() - 4]);
        let (_, mut r) = open_ab(&cut[..], None).unwrap();
        assert!(r.read_to_end(&mut Vec::new()).is_err());

        // The header lies about compression, both ways.
        let mut lie = b"ANDROID BACKUP\n5\n1\nnone\n".to_vec();
        lie.extend_from_slice(&[0u8; 600]);
        assert!(matches!(
            open_ab(&lie[..], None),
            Err(AbError::HeaderLies { .. })
        ));
        let mut lie = b"ANDROID BACKUP\n5\n0\nnone\n".to_vec();
        lie.extend_from_slice(&body);
        assert!(matches!(
            open_ab(&lie[..], None),
            Err(AbError::HeaderLies { .. })
        ));

        for (bad, want) in [
            (&b"ANDROID BACK"[..], "truncated"),
            (b"NOT A BACKUP AT ALL\n", "not an Android backup"),
            (b"ANDROID BACKUP\n5\n", "truncated"),
            (b"ANDROID BACKUP\nfive\n1\nnone\n", "version"),
            (b"ANDROID BACKUP\n5\n2\nnone\n", "compressed flag"),
            (b"ANDROID BACKUP\n5\n0\nAES-256\ntruncated", "encrypted"),
            (b"ANDROID BACKUP\n5\n0\nROT13\n", "unknown encryption"),
        ] {
            let err = open_ab(bad, None).err().unwrap().to_string();
            assert!(err.contains(want), "{err} (wanted {want})");
        }
        assert!(inflate_bounded(&zlib(&[0u8; 1000]), 100).is_err());
        assert_eq!(inflate_bounded(&zlib(b"x"), 100).unwrap(), b"x");
        assert!(inflate_bounded(b"\x78\x9c\x01", 100).is_err());
    }
}
