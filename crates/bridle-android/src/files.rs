//! [`Files`]: an acquisition's tree of files tied to the run's evidence log, so that every
//! member a module reads is cited with its SHA-256.

use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::{ArchiveError, Entry, Tree, fnmatch};
use bridle_model::{EvidenceFile, Problem, ProblemKind};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::{self, Read};
use std::sync::{Arc, Mutex, PoisonError};

/// A tree of files (folder, zip, tar) with its place in the acquisition and the evidence log.
pub struct Files {
    tree: Tree,
    log: EvidenceLog,
    /// Prefix of stored paths: empty for the acquisition itself, `bugreport.zip!/` for a
    /// nested archive.
    prefix: String,
    cited: Mutex<BTreeMap<String, Arc<EvidenceFile>>>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("tree", &self.tree)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Wraps a tree. Every member the tree skipped while indexing is noted in the log.
    pub fn new(tree: Tree, log: EvidenceLog, prefix: impl Into<String>) -> Files {
        for p in tree.problems() {
            log.note(p.clone());
        }
        Files {
            tree,
            log,
            prefix: prefix.into(),
            cited: Mutex::new(BTreeMap::new()),
        }
    }

    /// The tree.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The evidence log.
    pub fn log(&self) -> &EvidenceLog {
        &self.log
    }

    /// The stored path of a member (relative to the acquisition, `!/` into nested archives).
    pub fn stored(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// The stored-path prefix of this tree's members.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn cite(&self, name: &str, sha256: String, size: u64) -> Arc<EvidenceFile> {
        let file = self.log.register_known(EvidenceFile {
            logical_path: name.to_owned(),
            stored_path: self.stored(name),
            sha256,
            size,
        });
        self.cited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_owned(), Arc::clone(&file));
        file
    }

    /// Cites a member, hashing it the first time.
    pub fn register(&self, name: &str) -> Result<Arc<EvidenceFile>, ArchiveError> {
        if let Some(f) = self
            .cited
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
        {
            return Ok(Arc::clone(f));
        }
        let (sha256, size) = self.tree.hash(name)?;
        Ok(self.cite(name, sha256, size))
    }

    /// Reads a whole member (at most `max` bytes) and cites it, hashing in the same pass.
    pub fn read(&self, name: &str, max: u64) -> Result<(Vec<u8>, Arc<EvidenceFile>), ArchiveError> {
        let bytes = self.tree.read(name, max)?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let size = bytes.len() as u64;
        let file = self.cite(name, sha, size);
        Ok((bytes, file))
    }

    /// Opens a member for streaming; the returned reader hashes what passes through it so
    /// that [`HashingReader::cite`] can cite the member without a second pass when it was
    /// read to the end.
    pub fn open(&self, name: &str) -> Result<HashingReader<'_>, ArchiveError> {
        Ok(HashingReader {
            inner: self.tree.open_file(name)?,
            hasher: Sha256::new(),
            size: 0,
            files: self,
            name: name.to_owned(),
            eof: false,
        })
    }

    /// The first regular file named `base` at any depth, the shallowest first, then by name.
    ///
    /// MVT looks AndroidQF files up with `*/name`, which needs the file to be inside a
    /// folder; here a file at the root of a zip is found too.
    pub fn find(&self, base: &str) -> Option<&Entry> {
        self.tree
            .files()
            .filter(|e| basename(&e.name) == base)
            .min_by_key(|e| (e.name.matches('/').count(), e.name.as_str()))
    }

    /// Every regular file whose base name matches an fnmatch pattern, by name.
    pub fn find_all(&self, base_pattern: &str) -> Vec<&Entry> {
        self.tree
            .files()
            .filter(|e| fnmatch(base_pattern, basename(&e.name)))
            .collect()
    }

    /// Every regular file below a folder named `folder` (at any depth), by name.
    pub fn under(&self, folder: &str) -> Vec<&Entry> {
        let inner = format!("/{folder}/");
        let lead = format!("{folder}/");
        self.tree
            .files()
            .filter(|e| e.name.starts_with(&lead) || e.name.contains(&inner))
            .collect()
    }

    /// A problem about a member, cited by its stored path.
    pub fn problem(&self, kind: ProblemKind, name: &str, message: impl Into<String>) -> Problem {
        Problem::file(kind, self.stored(name), message)
    }
}

/// The last `/`-separated component.
pub fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

/// A member reader that hashes as it reads.
pub struct HashingReader<'a> {
    inner: bridle_evidence::archive::Member,
    hasher: Sha256,
    size: u64,
    files: &'a Files,
    name: String,
    eof: bool,
}

impl HashingReader<'_> {
    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.size
    }

    /// Cites the member from the bytes read so far, for a member that cannot be read to the
    /// end (a damaged archive member): the citation's size says how much the hash covers.
    pub fn cite_partial(self) -> Arc<EvidenceFile> {
        let sha = hex::encode(self.hasher.finalize());
        self.files.cite(&self.name, sha, self.size)
    }

    /// Cites the member: from the hash computed while reading when it was read to the end,
    /// otherwise by hashing it again.
    pub fn cite(self) -> Result<Arc<EvidenceFile>, ArchiveError> {
        if self.eof {
            let sha = hex::encode(self.hasher.finalize());
            Ok(self.files.cite(&self.name, sha, self.size))
        } else {
            self.files.register(&self.name)
        }
    }
}

impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
        }
        if let Some(read) = buf.get(..n) {
            self.hasher.update(read);
        }
        self.size = self.size.saturating_add(n as u64);
        Ok(n)
    }
}
