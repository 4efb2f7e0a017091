//! Unpacking a whole archive once into a private folder, for readers that need many members
//! as files (an iOS filesystem dump or sysdiagnose in a tar.gz: SQLite wants paths, and a
//! tar.gz cannot seek, so reading its members one by one would inflate it once per member).
//!
//! Only what the index accepted is written: validated names, caps already applied, links and
//! device nodes left out (they are listed in the tree and reported). A tar.gz is inflated in
//! one pass, members written in stream order. Modification times are set from the archive,
//! so a filesystem timeline of the unpacked tree is the archive's.

use super::backing::{PosReader, skip};
use super::{ArchiveError, EntryKind, Loc, Tree, TreeKind};
use std::io::{self, Read};
use std::path::Path;

/// What [`Tree::unpack_to`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnpackReport {
    /// Regular files written.
    pub files: u64,
    /// Folders created.
    pub folders: u64,
    /// Bytes written.
    pub bytes: u64,
    /// Symbolic links and other special members not written (they stay in the listing).
    pub links_skipped: u64,
}

fn system_time(t: bridle_model::Timestamp) -> Option<std::time::SystemTime> {
    let us = t.unix_micros();
    let d = std::time::Duration::from_micros(us.unsigned_abs());
    if us >= 0 {
        std::time::UNIX_EPOCH.checked_add(d)
    } else {
        std::time::UNIX_EPOCH.checked_sub(d)
    }
}

impl Tree {
    /// Writes every regular file and folder of the tree under `dest` (which must exist and be
    /// empty, and should be private: a temporary folder). Files are created read-only.
    pub fn unpack_to(&self, dest: &Path) -> Result<UnpackReport, ArchiveError> {
        let io_err = |name: &str, e: io::Error| ArchiveError::io(self.display_name(name), e);
        let mut report = UnpackReport::default();
        for e in self.entries() {
            match e.kind {
                EntryKind::Dir => {
                    std::fs::create_dir_all(dest.join(&e.name)).map_err(|x| io_err(&e.name, x))?;
                    report.folders += 1;
                }
                EntryKind::File => {}
                _ => report.links_skipped += 1,
            }
        }
        let mut files: Vec<_> = self.entries().iter().filter(|e| e.is_file()).collect();
        let write = |e: &super::Entry, reader: &mut dyn Read| -> Result<u64, ArchiveError> {
            let path = dest.join(&e.name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|x| io_err(&e.name, x))?;
            }
            let mut out = std::fs::File::create(&path).map_err(|x| io_err(&e.name, x))?;
            let n = io::copy(&mut reader.take(e.size), &mut out).map_err(|x| io_err(&e.name, x))?;
            if n < e.size {
                return Err(io_err(
                    &e.name,
                    io::Error::new(io::ErrorKind::UnexpectedEof, "the member ends early"),
                ));
            }
            if let Some(t) = e.mtime.and_then(system_time) {
                let _ = out.set_modified(t);
            }
            let mut perms = out
                .metadata()
                .map_err(|x| io_err(&e.name, x))?
                .permissions();
            perms.set_readonly(true);
            let _ = std::fs::set_permissions(&path, perms);
            Ok(n)
        };
        match (self.kind(), self.backing.as_ref()) {
            (TreeKind::TarGz, Some(backing)) => {
                // One pass: members in stream order, skipping the headers between them.
                files.sort_by_key(|e| match e.loc {
                    Loc::Tar { data } => data,
                    _ => u64::MAX,
                });
                let mut stream =
                    flate2::read::MultiGzDecoder::new(PosReader::new(backing.clone(), 0));
                let mut pos = 0u64;
                for e in files {
                    let Loc::Tar { data } = e.loc else { continue };
                    if data < pos {
                        continue;
                    }
                    skip(&mut stream, data - pos).map_err(|x| io_err(&e.name, x))?;
                    let n = write(e, &mut stream)?;
                    pos = data.saturating_add(n);
                    report.files += 1;
                    report.bytes = report.bytes.saturating_add(n);
                }
            }
            _ => {
                for e in files {
                    let mut member = self.open_file(&e.name)?;
                    let n = write(e, &mut member)?;
                    report.files += 1;
                    report.bytes = report.bytes.saturating_add(n);
                }
            }
        }
        // Folder times last: writing their children changed them.
        for e in self.entries().iter().rev() {
            if e.kind == EntryKind::Dir
                && let Some(t) = e.mtime.and_then(system_time)
                && let Ok(dir) = std::fs::File::open(dest.join(&e.name))
            {
                let _ = dir.set_modified(t);
            }
        }
        Ok(report)
    }
}
