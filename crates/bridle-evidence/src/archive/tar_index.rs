//! Indexing and reading tar and tar.gz archives, in place.
//!
//! An uncompressed tar on disk is random-access: each member is read at the data offset
//! recorded while indexing. A tar.gz cannot seek, so a member is read by decompressing from
//! the start and skipping to that offset; the index pass itself streams the whole archive
//! once, capped so a gzip bomb stops early.

use super::backing::{Backing, Capped, Member, PosReader, skip};
use super::{ArchiveError, ArchiveLimits, Builder, Entry, EntryKind, Index, Loc};
use bridle_model::Timestamp;
use std::io::Read;
use tar::EntryType;

/// Indexes a tar (or, with `gz`, a tar.gz) archive.
pub(crate) fn index(
    backing: &Backing,
    gz: bool,
    label: &str,
    limits: &ArchiveLimits,
) -> Result<Index, ArchiveError> {
    let mut b = Builder::new(label, false, limits);
    let reader = PosReader::new(backing.clone(), 0);
    if gz {
        // A tar.gz may not inflate beyond the ratio cap nor the total cap.
        let ratio_cap = backing
            .len()
            .saturating_mul(limits.max_ratio)
            .max(limits.ratio_min_size);
        let capped = Capped {
            inner: flate2::read::MultiGzDecoder::new(reader),
            count: 0,
            max: ratio_cap.min(limits.max_total_size.saturating_add(1 << 20)),
        };
        let mut archive = tar::Archive::new(capped);
        let entries = archive.entries().map_err(|e| ArchiveError::Format {
            path: label.to_owned(),
            message: format!("not a readable tar.gz archive: {e}"),
        })?;
        walk(entries, &mut b, None, label)?;
    } else {
        let mut archive = tar::Archive::new(reader);
        let entries = archive
            .entries_with_seek()
            .map_err(|e| ArchiveError::Format {
                path: label.to_owned(),
                message: format!("not a readable tar archive: {e}"),
            })?;
        walk(entries, &mut b, Some(backing.len()), label)?;
    }
    Ok(b.finish())
}

fn walk<R: Read>(
    entries: tar::Entries<'_, R>,
    b: &mut Builder<'_>,
    archive_len: Option<u64>,
    label: &str,
) -> Result<(), ArchiveError> {
    let mut count = 0usize;
    for entry in entries {
        if b.is_full() {
            break;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) if count == 0 => {
                return Err(ArchiveError::Format {
                    path: label.to_owned(),
                    message: format!("not a readable tar archive: {e}"),
                });
            }
            Err(e) => {
                b.damaged(format!(
                    "the archive cannot be read after {count} members: {e}; the rest is not indexed"
                ));
                break;
            }
        };
        count = count.saturating_add(1);
        let header = entry.header();
        let etype = header.entry_type();
        if matches!(
            etype,
            EntryType::XGlobalHeader
                | EntryType::XHeader
                | EntryType::GNULongName
                | EntryType::GNULongLink
        ) {
            continue;
        }
        let raw_bytes = entry.path_bytes();
        let raw = match std::str::from_utf8(&raw_bytes) {
            Ok(s) => s.to_owned(),
            Err(_) => {
                b.skip(
                    &String::from_utf8_lossy(&raw_bytes),
                    "name is not valid UTF-8; skipped",
                );
                continue;
            }
        };
        let Some(name) = b.name(&raw) else { continue };
        let mtime = header
            .mtime()
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .and_then(Timestamp::from_unix_seconds);
        let mode = header.mode().ok();
        let size = entry.size();
        let data = entry.raw_file_position();
        let link = || {
            entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
        };
        let (kind, loc, size) = match etype {
            EntryType::Regular | EntryType::Continuous => {
                if let Some(len) = archive_len
                    && data.saturating_add(size) > len
                {
                    b.skip(
                        &name,
                        format!("truncated: {size} bytes declared at offset {data}, past the end of the {len}-byte archive; skipped"),
                    );
                    continue;
                }
                (EntryKind::File, Loc::Tar { data }, size)
            }
            EntryType::Directory => (EntryKind::Dir, Loc::None, 0),
            EntryType::Symlink => match link() {
                Some(target) => (EntryKind::Symlink { target }, Loc::None, 0),
                None => {
                    b.skip(&name, "symbolic link without a target; skipped");
                    continue;
                }
            },
            EntryType::Link => {
                let Some(target) = link() else {
                    b.skip(&name, "hard link without a target; skipped");
                    continue;
                };
                match super::validate_member_name(&target) {
                    Ok(t) if !t.is_empty() => (EntryKind::HardLink { target: t }, Loc::None, 0),
                    _ => {
                        b.skip(
                            &name,
                            format!(
                                "hard link to an unsafe name `{}`; skipped",
                                bridle_model::sanitize::for_terminal(&target)
                            ),
                        );
                        continue;
                    }
                }
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                b.skip(&name, "device node or FIFO; skipped");
                continue;
            }
            EntryType::GNUSparse => {
                b.skip(&name, "sparse file (not supported); skipped");
                continue;
            }
            other => {
                b.skip(
                    &name,
                    format!("unknown tar member type {:?}; skipped", other.as_byte()),
                );
                continue;
            }
        };
        b.push(Entry {
            name,
            kind,
            size,
            mtime,
            mtime_is_local: false,
            mode,
            loc,
        });
    }
    Ok(())
}

/// Opens a tar member whose data starts at `data` in the (decompressed) tar stream.
pub(crate) fn open_member(
    backing: &Backing,
    gz: bool,
    data: u64,
    size: u64,
    display: &str,
) -> Result<Member, ArchiveError> {
    if gz {
        let mut decoder = flate2::read::MultiGzDecoder::new(PosReader::new(backing.clone(), 0));
        skip(&mut decoder, data).map_err(|e| ArchiveError::Io {
            path: display.to_owned(),
            source: e,
        })?;
        Ok(Member::new(
            Box::new(decoder.take(size)),
            display,
            size,
            None,
        ))
    } else {
        let reader = PosReader::new(backing.clone(), data).take(size);
        Ok(Member::new(Box::new(reader), display, size, None))
    }
}
