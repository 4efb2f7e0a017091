//! Output files hashed while they are written, so that the manifest does not read them again.
//!
//! A check writes hundreds of megabytes of outputs and the manifest lists the SHA-256 of each.
//! Hashing the bytes on their way to the file costs the same SHA-256 work but no second read,
//! and moves that work from the end of the run (where little else runs) into the writers.
//!
//! The digests are kept per process and keyed by the file's identity after the last write
//! (device, inode, size, modification and change times). [`known`] gives a digest only when
//! the file on disk still has that identity: a file written again, appended to, replaced or
//! touched since is hashed afresh by the manifest, so a stale digest is never used.

use crate::results::Digest256;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::{Mutex, OnceLock, PoisonError};

/// What identifies the contents of a file without reading it, as far as this process wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    #[cfg(unix)]
    fn of(meta: &Metadata) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Identity {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// Without inode numbers and change times there is no safe identity: every file is hashed
    /// by the manifest.
    #[cfg(not(unix))]
    fn of(_: &Metadata) -> Option<Identity> {
        None
    }
}

/// Most digests kept; past it, the oldest are not evicted but new ones are not kept (the
/// manifest then hashes those files itself). A check writes a few dozen files.
const MAX_KEPT: usize = 100_000;

/// Digests by (device, inode), with the identity the file had when its digest was made.
type Registry = Mutex<HashMap<(u64, u64), (Identity, Digest256)>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

/// A file being written, hashed as it goes.
pub struct DigestingFile {
    file: File,
    hasher: Sha256,
    size: u64,
}

impl DigestingFile {
    /// Creates (or truncates) `path`.
    pub fn create(path: &Path) -> io::Result<DigestingFile> {
        Ok(DigestingFile {
            file: File::create(path)?,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Ends the writing and keeps the digest for the manifest. Call it after the last write;
    /// a file never finished is simply hashed by the manifest.
    pub fn finish(self) -> io::Result<()> {
        let meta = self.file.metadata()?;
        let Some(identity) = Identity::of(&meta) else {
            return Ok(());
        };
        if identity.size != self.size {
            // Something else wrote to the file too: the digest is not the file's.
            return Ok(());
        }
        let digest = Digest256 {
            sha256: hex::encode(self.hasher.finalize()),
            size: self.size,
        };
        let mut kept = registry().lock().unwrap_or_else(PoisonError::into_inner);
        let key = (identity.dev, identity.ino);
        if kept.len() < MAX_KEPT || kept.contains_key(&key) {
            kept.insert(key, (identity, digest));
        }
        Ok(())
    }
}

impl Write for DigestingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        if let Some(written) = buf.get(..n) {
            self.hasher.update(written);
        }
        self.size = self.size.saturating_add(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Flushes a buffered [`DigestingFile`] and keeps its digest.
pub fn finish(w: BufWriter<DigestingFile>) -> io::Result<()> {
    w.into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .finish()
}

/// The digest of `path` as this process wrote it, if the file has not changed since.
pub fn known(path: &Path) -> Option<Digest256> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let identity = Identity::of(&meta)?;
    let kept = registry().lock().unwrap_or_else(PoisonError::into_inner);
    match kept.get(&(identity.dev, identity.ino)) {
        Some((recorded, digest)) if *recorded == identity => Some(digest.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::hash_file;

    fn write(path: &Path, parts: &[&[u8]]) {
        let mut w = BufWriter::with_capacity(4, DigestingFile::create(path).unwrap());
        for p in parts {
            w.write_all(p).unwrap();
        }
        finish(w).unwrap();
    }

    #[test]
    fn the_digest_is_the_files_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write(&path, &[b"[\n", b"{\"a\": 1}", b"\n]\n"]);
        let known_digest = known(&path).expect("kept");
        assert_eq!(known_digest, hash_file(&path).unwrap());

        // Appended to: no longer known.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b" ").unwrap();
        drop(f);
        assert_eq!(known(&path), None);

        // Rewritten through a digesting file: known again, with the new contents' digest.
        write(&path, &[b"other"]);
        assert_eq!(known(&path), Some(hash_file(&path).unwrap()));

        // Replaced by another file of the same name: a new inode, not known.
        let other = dir.path().join("b.json");
        std::fs::write(&other, b"other").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_eq!(known(&path), None);
    }

    #[test]
    fn an_unfinished_file_is_not_known() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cut.json");
        let mut w = BufWriter::new(DigestingFile::create(&path).unwrap());
        w.write_all(b"[1, 2").unwrap();
        w.flush().unwrap();
        drop(w);
        assert_eq!(known(&path), None);
        assert_eq!(known(&dir.path().join("missing")), None);
    }
}
