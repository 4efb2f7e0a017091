use crate::EvidenceError;
use bridle_model::{EvidenceFile, Problem};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

/// Streams a file through SHA-256 and returns (lower-case hex digest, size).
pub fn hash_file(path: &Path) -> Result<(String, u64), EvidenceError> {
    let mut file = std::fs::File::open(path).map_err(|e| EvidenceError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(EvidenceError::io(path, e)),
        };
        hasher.update(buf.get(..n).unwrap_or_default());
        size = size.saturating_add(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// The register of every evidence file a run read, with its hash.
///
/// Shared by all modules of a run (cheap to clone). A file is hashed once, the first time it
/// is registered; later registrations return the same [`EvidenceFile`]. The log is what
/// `info.json` lists, sorted by stored path.
#[derive(Debug, Clone, Default)]
pub struct EvidenceLog {
    files: Arc<Mutex<BTreeMap<String, Arc<EvidenceFile>>>>,
    problems: Arc<Mutex<Vec<Problem>>>,
}

impl EvidenceLog {
    /// An empty log.
    pub fn new() -> Self {
        EvidenceLog::default()
    }

    /// Registers a file (hashing it the first time) and returns its citation.
    ///
    /// `stored_path` is the path relative to the acquisition root; `logical_path` is what the
    /// device calls it.
    pub fn register(
        &self,
        path: &Path,
        stored_path: &str,
        logical_path: &str,
    ) -> Result<Arc<EvidenceFile>, EvidenceError> {
        if let Some(f) = self.lock().get(stored_path) {
            return Ok(Arc::clone(f));
        }
        // Hash outside the lock: other modules go on registering their own files.
        let (sha256, size) = hash_file(path)?;
        let file = Arc::new(EvidenceFile {
            logical_path: logical_path.to_owned(),
            stored_path: stored_path.to_owned(),
            sha256,
            size,
        });
        let mut files = self.lock();
        Ok(Arc::clone(
            files.entry(stored_path.to_owned()).or_insert(file),
        ))
    }

    /// Registers a file whose hash is already known (for example computed while decrypting).
    pub fn register_known(&self, file: EvidenceFile) -> Arc<EvidenceFile> {
        let mut files = self.lock();
        Arc::clone(
            files
                .entry(file.stored_path.clone())
                .or_insert_with(|| Arc::new(file)),
        )
    }

    /// Notes something about the evidence that could not be checked (a truncated database, a
    /// file over a cap), found while opening it rather than by a module's own parsing.
    pub fn note(&self, problem: Problem) {
        let mut p = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        if !p.contains(&problem) {
            p.push(problem);
        }
    }

    /// Every problem noted, sorted.
    pub fn problems(&self) -> Vec<Problem> {
        let mut p = self
            .problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        p.sort();
        p
    }

    /// Every file registered so far, sorted by stored path.
    pub fn files(&self) -> Vec<Arc<EvidenceFile>> {
        self.lock().values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Arc<EvidenceFile>>> {
        // A panic elsewhere while holding the lock leaves a still-consistent map (inserts are
        // atomic), so recovering the guard is safe.
        self.files.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_once_and_sorts() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"abc").unwrap();
        let log = EvidenceLog::new();
        let f = log.register(&a, "z/a", "Domain/a").unwrap();
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(f.size, 3);
        // Changing the file after registration does not change the citation: the first hash
        // is what the run relied on.
        std::fs::write(&a, b"abcd").unwrap();
        let g = log.register(&a, "z/a", "Domain/a").unwrap();
        assert_eq!(f, g);
        log.register(&a, "b/a", "x").unwrap();
        let names: Vec<_> = log.files().iter().map(|f| f.stored_path.clone()).collect();
        assert_eq!(names, ["b/a", "z/a"]);
    }
}
