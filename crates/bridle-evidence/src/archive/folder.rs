//! Indexing a folder: a walk that never follows links and skips what cannot be read as a
//! file (a FIFO would block the reader forever, a device would read the investigator's
//! machine).

use super::{ArchiveError, ArchiveLimits, Builder, Entry, EntryKind, Index, Loc};
use bridle_model::Timestamp;
use std::path::{Path, PathBuf};

fn mtime(meta: &std::fs::Metadata) -> Option<Timestamp> {
    let t = meta.modified().ok()?;
    let micros = match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).ok()?,
        Err(e) => i64::try_from(e.duration().as_micros())
            .ok()?
            .checked_neg()?,
    };
    Timestamp::from_unix_micros(micros)
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode())
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> Option<u32> {
    None
}

/// Walks `root` (iteratively, depth-capped) and indexes every file, folder and link.
pub(crate) fn index(
    root: &Path,
    label: &str,
    limits: &ArchiveLimits,
) -> Result<Index, ArchiveError> {
    let mut b = Builder::new(label, true, limits);
    // (folder on disk, its name in the tree, depth)
    let mut stack: Vec<(PathBuf, String, usize)> = vec![(root.to_path_buf(), String::new(), 0)];
    while let Some((dir, prefix, depth)) = stack.pop() {
        let read = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if depth == 0 => {
                return Err(ArchiveError::Io {
                    path: label.to_owned(),
                    source: e,
                });
            }
            Err(e) => {
                b.skip(&prefix, format!("folder cannot be read: {e}"));
                continue;
            }
        };
        let mut children: Vec<_> = read.filter_map(Result::ok).collect();
        children.sort_by_key(std::fs::DirEntry::file_name);
        for child in children {
            if b.is_full() {
                break;
            }
            let os_name = child.file_name();
            let Some(part) = os_name.to_str() else {
                let lossy = format!("{prefix}/{}", os_name.to_string_lossy());
                b.skip(&lossy, "name is not valid UTF-8; skipped");
                continue;
            };
            let raw = if prefix.is_empty() {
                part.to_owned()
            } else {
                format!("{prefix}/{part}")
            };
            let Some(name) = b.name(&raw) else { continue };
            let meta = match std::fs::symlink_metadata(child.path()) {
                Ok(m) => m,
                Err(e) => {
                    b.skip(&name, format!("cannot be inspected: {e}"));
                    continue;
                }
            };
            let ft = meta.file_type();
            let kind = if ft.is_file() {
                EntryKind::File
            } else if ft.is_dir() {
                if depth >= limits.max_folder_depth {
                    b.skip(
                        &name,
                        format!(
                            "folder deeper than {} levels; not walked",
                            limits.max_folder_depth
                        ),
                    );
                    continue;
                }
                stack.push((child.path(), name.clone(), depth.saturating_add(1)));
                EntryKind::Dir
            } else if ft.is_symlink() {
                match std::fs::read_link(child.path()) {
                    Ok(t) => EntryKind::Symlink {
                        target: t.to_string_lossy().into_owned(),
                    },
                    Err(e) => {
                        b.skip(&name, format!("link cannot be read: {e}"));
                        continue;
                    }
                }
            } else {
                b.skip(
                    &name,
                    "not a regular file, folder or link (a device, FIFO or socket); skipped",
                );
                continue;
            };
            let is_file = kind == EntryKind::File;
            b.push(Entry {
                name,
                size: if is_file { meta.len() } else { 0 },
                mtime: mtime(&meta),
                mtime_is_local: false,
                mode: mode(&meta),
                loc: if is_file {
                    Loc::Path(child.path())
                } else {
                    Loc::None
                },
                kind,
            });
        }
    }
    Ok(b.finish())
}
