//! Indexing and reading zip archives.
//!
//! The central directory is parsed by the `zip` crate. Members stored or deflated (what
//! AndroidQF, bugreports and every common tool write) are then decoded here, from the
//! member's own offset, so that any number of readers can stream members at once without
//! sharing a cursor; other methods go through the `zip` crate into memory or a temporary
//! file.

use super::backing::{Backing, Member, PosReader};
use super::{ArchiveError, ArchiveLimits, Builder, Entry, EntryKind, Index, Loc};
use bridle_model::Timestamp;
use std::collections::BTreeMap;
use std::io::{self, Read};

/// Longest symbolic-link target read.
const MAX_LINK_TARGET: u64 = 4096;

/// How a member's data is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Stored,
    Deflated,
    /// Deflate64, bzip2, xz: decoded by the `zip` crate.
    Other,
}

/// What `open_member` needs about a member.
pub(crate) struct MemberAt {
    pub(crate) index: usize,
    pub(crate) method: Method,
    pub(crate) compressed: u64,
    pub(crate) header: u64,
    pub(crate) crc: u32,
    pub(crate) size: u64,
}

fn dos_time(dt: zip::DateTime) -> Option<Timestamp> {
    let civil = jiff::civil::DateTime::new(
        i16::try_from(dt.year()).ok()?,
        i8::try_from(dt.month()).ok()?,
        i8::try_from(dt.day()).ok()?,
        i8::try_from(dt.hour()).ok()?,
        i8::try_from(dt.minute()).ok()?,
        i8::try_from(dt.second()).ok()?,
        0,
    )
    .ok()?;
    let ts = jiff::tz::TimeZone::UTC.to_timestamp(civil).ok()?;
    Timestamp::from_unix_micros(ts.as_microsecond())
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Where a member's data starts: after its local header, whose name and extra lengths may
/// differ from the central directory's.
fn data_start(backing: &Backing, header: u64) -> io::Result<u64> {
    let mut local = [0u8; 30];
    PosReader::new(backing.clone(), header).read_exact(&mut local)?;
    if u32_at(&local, 0) != Some(0x0403_4b50) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "no local file header where the central directory points",
        ));
    }
    let name_len = u64::from(u16_at(&local, 26).unwrap_or(0));
    let extra_len = u64::from(u16_at(&local, 28).unwrap_or(0));
    Ok(header
        .saturating_add(30)
        .saturating_add(name_len)
        .saturating_add(extra_len))
}

/// Names that appear more than once in the central directory. The `zip` crate keeps one
/// copy per name, so duplicates are found by walking the directory records ourselves.
fn duplicate_names(backing: &Backing, start: u64, max_records: usize) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<Vec<u8>, usize> = BTreeMap::new();
    let mut r = PosReader::new(backing.clone(), start);
    for _ in 0..max_records {
        let mut fixed = [0u8; 46];
        if r.read_exact(&mut fixed).is_err() || u32_at(&fixed, 0) != Some(0x0201_4b50) {
            break;
        }
        let name_len = usize::from(u16_at(&fixed, 28).unwrap_or(0));
        let extra_len = u64::from(u16_at(&fixed, 30).unwrap_or(0));
        let comment_len = u64::from(u16_at(&fixed, 32).unwrap_or(0));
        let mut name = vec![0u8; name_len];
        if r.read_exact(&mut name).is_err() {
            break;
        }
        if super::backing::skip(&mut r, extra_len.saturating_add(comment_len)).is_err() {
            break;
        }
        *counts.entry(name).or_default() += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, n)| (String::from_utf8_lossy(&name).into_owned(), n))
        .collect()
}

/// Indexes a zip archive.
pub(crate) fn index(
    backing: &Backing,
    label: &str,
    limits: &ArchiveLimits,
) -> Result<(zip::ZipArchive<PosReader>, Index), ArchiveError> {
    let archive = zip::ZipArchive::new(PosReader::new(backing.clone(), 0)).map_err(|e| {
        ArchiveError::Format {
            path: label.to_owned(),
            message: format!("not a readable zip archive: {e}"),
        }
    })?;
    let mut b = Builder::new(label, false, limits);
    if archive.has_duplicate_names() {
        let max_records = limits.max_entries.saturating_mul(2);
        for (name, n) in duplicate_names(backing, archive.central_directory_start(), max_records) {
            b.skip(
                &name,
                format!(
                    "{n} members share this name: only one copy is read (tools disagree on which copy they extract)"
                ),
            );
        }
    }
    let archive_len = backing.len();
    for i in 0..archive.len() {
        if b.is_full() {
            break;
        }
        let Ok(entry) = archive.by_index_data(i) else {
            b.damaged(format!("central directory record {i} cannot be read"));
            continue;
        };
        let raw = match entry.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let Some(name) = b.name(&raw) else { continue };
        let mtime = entry.last_modified().and_then(dos_time);
        let mode = entry.unix_mode();
        if raw.ends_with('/') || raw.ends_with('\\') || entry.is_dir() {
            b.push(Entry {
                name,
                kind: EntryKind::Dir,
                size: 0,
                mtime,
                mtime_is_local: true,
                mode,
                loc: Loc::None,
            });
            continue;
        }
        if entry.encrypted() {
            b.skip(&name, "encrypted member; skipped");
            continue;
        }
        let method = match entry.compression() {
            zip::CompressionMethod::Stored => Method::Stored,
            zip::CompressionMethod::Deflated => Method::Deflated,
            zip::CompressionMethod::Deflate64
            | zip::CompressionMethod::Bzip2
            | zip::CompressionMethod::Xz => Method::Other,
            other => {
                b.skip(
                    &name,
                    format!("compression method {other:?} is not supported; skipped"),
                );
                continue;
            }
        };
        let size = entry.size();
        let compressed = entry.compressed_size();
        let header = entry.header_start();
        if header.saturating_add(compressed) > archive_len {
            b.skip(
                &name,
                format!(
                    "claims {compressed} bytes of data at offset {header}, past the end of the {archive_len}-byte archive; skipped"
                ),
            );
            continue;
        }
        if method == Method::Stored && compressed != size {
            b.skip(
                &name,
                format!("stored (uncompressed) member declares {size} bytes but holds {compressed}; skipped"),
            );
            continue;
        }
        if size > limits.ratio_min_size && size / compressed.max(1) > limits.max_ratio {
            b.skip(
                &name,
                format!(
                    "expands from {compressed} to {size} bytes, a ratio over {} (a zip bomb?); skipped",
                    limits.max_ratio
                ),
            );
            continue;
        }
        let at = MemberAt {
            index: i,
            method,
            compressed,
            header,
            crc: entry.crc32(),
            size,
        };
        let kind = if entry.is_symlink() {
            match read_link_target(backing, &archive, &at, &name, limits) {
                Ok(target) => EntryKind::Symlink { target },
                Err(e) => {
                    b.skip(&name, format!("symbolic link target cannot be read: {e}"));
                    continue;
                }
            }
        } else {
            EntryKind::File
        };
        let is_file = kind == EntryKind::File;
        b.push(Entry {
            name,
            kind,
            size: if is_file { size } else { 0 },
            mtime,
            mtime_is_local: true,
            mode,
            loc: if is_file {
                Loc::Zip {
                    index: i,
                    method,
                    compressed,
                    header,
                    crc: at.crc,
                }
            } else {
                Loc::None
            },
        });
    }
    Ok((archive, b.finish()))
}

fn read_link_target(
    backing: &Backing,
    archive: &zip::ZipArchive<PosReader>,
    at: &MemberAt,
    name: &str,
    limits: &ArchiveLimits,
) -> Result<String, ArchiveError> {
    if at.size > MAX_LINK_TARGET {
        return Err(ArchiveError::TooLarge {
            name: name.to_owned(),
            size: at.size,
            max: MAX_LINK_TARGET,
        });
    }
    let mut member = open_member(backing, Some(archive), at, name, limits)?;
    let mut bytes = Vec::new();
    member
        .read_to_end(&mut bytes)
        .map_err(|e| ArchiveError::Io {
            path: name.to_owned(),
            source: e,
        })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// A member's bytes held in a temporary file (kept alive with the reader).
struct TempReader {
    file: std::fs::File,
    _path: tempfile::TempPath,
}

impl Read for TempReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.file.read(buf)
    }
}

/// Opens a member for streaming.
pub(crate) fn open_member(
    backing: &Backing,
    archive: Option<&zip::ZipArchive<PosReader>>,
    at: &MemberAt,
    display: &str,
    limits: &ArchiveLimits,
) -> Result<Member, ArchiveError> {
    let io_err = |e: io::Error| ArchiveError::Io {
        path: display.to_owned(),
        source: e,
    };
    match at.method {
        Method::Stored | Method::Deflated => {
            let start = data_start(backing, at.header).map_err(io_err)?;
            if start.saturating_add(at.compressed) > backing.len() {
                return Err(io_err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "member data runs past the end of the archive",
                )));
            }
            let raw = PosReader::new(backing.clone(), start).take(at.compressed);
            let inner: Box<dyn Read + Send> = if at.method == Method::Stored {
                Box::new(raw)
            } else {
                Box::new(flate2::read::DeflateDecoder::new(raw))
            };
            Ok(Member::new(inner, display, at.size, Some(at.crc)))
        }
        Method::Other => {
            let Some(archive) = archive else {
                return Err(ArchiveError::NotFound {
                    name: display.to_owned(),
                });
            };
            let mut archive = archive.clone();
            let mut file = archive
                .by_index(at.index)
                .map_err(|e| io_err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())))?;
            // Never read past the declared size, whatever the decoder produces.
            let mut bounded = (&mut file).take(at.size.saturating_add(1));
            if at.size <= limits.max_in_memory {
                let mut bytes = Vec::new();
                bounded.read_to_end(&mut bytes).map_err(io_err)?;
                Ok(Member::new(
                    Box::new(io::Cursor::new(bytes)),
                    display,
                    at.size,
                    None,
                ))
            } else {
                let mut temp = tempfile::Builder::new()
                    .prefix("bridle-member-")
                    .tempfile()
                    .map_err(io_err)?;
                io::copy(&mut bounded, temp.as_file_mut()).map_err(io_err)?;
                let path = temp.into_temp_path();
                let file = std::fs::File::open(&path).map_err(io_err)?;
                Ok(Member::new(
                    Box::new(TempReader { file, _path: path }),
                    display,
                    at.size,
                    None,
                ))
            }
        }
    }
}
