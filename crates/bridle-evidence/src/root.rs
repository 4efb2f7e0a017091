use crate::EvidenceError;
use std::path::{Component, Path, PathBuf};

/// The folder an acquisition lives in, and the rule that nothing is read outside it.
///
/// A hostile acquisition can hold `..` in a name it gives us (a Manifest.db fileID, an
/// archive member) or a symbolic link that points at the investigator's own files. `Root`
/// resolves a relative path, follows links only to check where they land, and refuses
/// anything whose real location is not inside the (canonical) root.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
    canonical: PathBuf,
}

impl Root {
    /// A root at `path`, which must be a readable folder.
    pub fn new(path: &Path) -> Result<Root, EvidenceError> {
        let canonical = std::fs::canonicalize(path).map_err(|e| EvidenceError::io(path, e))?;
        Ok(Root {
            path: path.to_path_buf(),
            canonical,
        })
    }

    /// The root as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The root with links resolved.
    pub fn canonical(&self) -> &Path {
        &self.canonical
    }

    /// Joins a relative, `/`-separated path to the root, refusing absolute paths and `..`.
    /// Does not touch the file system.
    pub fn join(&self, relative: &str) -> Result<PathBuf, EvidenceError> {
        let rel = Path::new(relative);
        let mut out = self.canonical.clone();
        for c in rel.components() {
            match c {
                Component::Normal(part) => out.push(part),
                Component::CurDir => {}
                Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                    return Err(EvidenceError::Escapes {
                        path: rel.to_path_buf(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Resolves a relative path to an existing file inside the root.
    ///
    /// Returns `Ok(None)` when it does not exist, an error when it exists but leaves the root
    /// (through a link) or cannot be inspected.
    pub fn resolve(&self, relative: &str) -> Result<Option<PathBuf>, EvidenceError> {
        let joined = self.join(relative)?;
        match std::fs::symlink_metadata(&joined) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EvidenceError::io(&joined, e)),
            Ok(_) => {}
        }
        self.contain(&joined).map(Some)
    }

    /// Checks that an existing path's real location is inside the root, and returns it.
    pub fn contain(&self, path: &Path) -> Result<PathBuf, EvidenceError> {
        let real = match std::fs::canonicalize(path) {
            Ok(p) => p,
            // A dangling link: it points nowhere readable, treat it as leaving.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EvidenceError::Escapes {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => return Err(EvidenceError::io(path, e)),
        };
        if real.starts_with(&self.canonical) {
            Ok(real)
        } else {
            Err(EvidenceError::Escapes {
                path: path.to_path_buf(),
            })
        }
    }

    /// Whether `path` (absolute) is inside this root: used to refuse an output folder placed
    /// inside the evidence.
    pub fn is_inside(&self, path: &Path) -> bool {
        // The output folder may not exist yet: canonicalise its nearest existing ancestor.
        let mut probe = path.to_path_buf();
        let mut tail = Vec::new();
        loop {
            if let Ok(real) = std::fs::canonicalize(&probe) {
                let mut full = real;
                for t in tail.iter().rev() {
                    full.push(t);
                }
                return full.starts_with(&self.canonical);
            }
            match (probe.file_name().map(ToOwned::to_owned), probe.parent()) {
                (Some(name), Some(parent)) => {
                    tail.push(name);
                    probe = parent.to_path_buf();
                }
                _ => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dotdot_absolute_and_links_out() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ok"), b"x").unwrap();
        let root = Root::new(dir.path()).unwrap();
        assert!(root.resolve("ok").unwrap().is_some());
        assert!(root.resolve("missing").unwrap().is_none());
        assert!(matches!(
            root.join("../x"),
            Err(EvidenceError::Escapes { .. })
        ));
        assert!(matches!(
            root.join("/etc/passwd"),
            Err(EvidenceError::Escapes { .. })
        ));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link"))
                .unwrap();
            assert!(matches!(
                root.resolve("link"),
                Err(EvidenceError::Escapes { .. })
            ));
            std::os::unix::fs::symlink(dir.path().join("ok"), dir.path().join("inner")).unwrap();
            assert!(root.resolve("inner").unwrap().is_some());
            std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
            assert!(matches!(
                root.resolve("dangling"),
                Err(EvidenceError::Escapes { .. })
            ));
        }
        assert!(root.is_inside(&dir.path().join("out/deeper")));
        assert!(!root.is_inside(outside.path()));
    }
}
