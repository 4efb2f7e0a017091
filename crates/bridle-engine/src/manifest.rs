//! The manifest of a results folder: every file with its size and SHA-256, written last, so
//! that anyone can later tell whether the results (and, through `info.json`, the evidence)
//! are still what the run produced. `bridle verify` compares a folder with its manifest and
//! names every file that is missing, truncated, modified or extra.
//!
//! The manifest covers the folder's own files only: each re-check folder under `rechecks/`
//! has its own manifest (it is written later, by another run), and `bridle-manifest.sig` signs the
//! manifest's bytes.

use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

use crate::results::{self, ReadError};

/// The manifest's file name.
pub const MANIFEST_FILE: &str = "bridle-manifest.json";
/// The detached signature of the manifest (`--sign`).
pub const SIGNATURE_FILE: &str = "bridle-manifest.sig";
/// The folder holding re-check results inside a results folder.
pub const RECHECKS_DIR: &str = "rechecks";
/// The manifest format name.
pub const FORMAT: &str = "bridle-results-manifest";
/// Deepest folder level listed.
pub const MAX_DEPTH: usize = 8;
/// Most files listed.
pub const MAX_FILES: usize = 100_000;

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path relative to the folder, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// A manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// The files, sorted by path.
    pub files: Vec<ManifestFile>,
}

/// Why a manifest could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// A file could not be read or written.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Writing the manifest failed.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Too many files or folders too deep.
    #[error("{}: {why}", path.display())]
    Limit {
        /// The folder.
        path: PathBuf,
        /// Which limit.
        why: String,
    },
}

/// What is in a results folder, as the manifest sees it.
#[derive(Debug, Default)]
struct Listing {
    files: Vec<(String, PathBuf)>,
    /// Entries that are not regular files (symbolic links, devices...).
    other: Vec<String>,
}

fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Lists the files a manifest covers: everything but the manifest, its signature, and the
/// `rechecks/` folder at the top.
fn list(root: &Path) -> Result<Listing, ManifestError> {
    let mut listing = Listing::default();
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| ReadError::Io {
            path: dir.clone(),
            source: e,
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| ReadError::Io {
                path: dir.clone(),
                source: e,
            })?;
            let path = entry.path();
            let rel = relative(root, &path);
            if depth == 0 && [MANIFEST_FILE, SIGNATURE_FILE, RECHECKS_DIR].contains(&rel.as_str()) {
                continue;
            }
            let kind = entry.file_type().map_err(|e| ReadError::Io {
                path: path.clone(),
                source: e,
            })?;
            if kind.is_dir() {
                if depth >= MAX_DEPTH {
                    return Err(ManifestError::Limit {
                        path,
                        why: format!("folders nested deeper than {MAX_DEPTH}"),
                    });
                }
                stack.push((path, depth.saturating_add(1)));
            } else if kind.is_file() {
                listing.files.push((rel, path));
            } else {
                listing.other.push(rel);
            }
            if listing.files.len() > MAX_FILES {
                return Err(ManifestError::Limit {
                    path: root.to_path_buf(),
                    why: format!("more than {MAX_FILES} files"),
                });
            }
        }
    }
    listing.files.sort();
    listing.other.sort();
    Ok(listing)
}

/// Hashes every file of a results folder and writes `bridle-manifest.json`; returns the manifest's
/// bytes (what a signature signs). Call it last, once every other file is written.
pub fn write(dir: &Path) -> Result<Vec<u8>, ManifestError> {
    use rayon::prelude::*;
    let listing = list(dir)?;
    // Files this process wrote and hashed on the way, unchanged since, are not read again
    // (crate::written); the others are hashed in parallel: a check's outputs are hundreds of
    // megabytes, and nothing else is left to run at this point. The listing's order is kept.
    let digests: Vec<_> = listing
        .files
        .par_iter()
        .map(|(_, path)| match crate::written::known(path) {
            Some(digest) => Ok(digest),
            None => results::hash_file(path),
        })
        .collect();
    let mut files = Vec::with_capacity(listing.files.len());
    for ((rel, _), digest) in listing.files.into_iter().zip(digests) {
        let digest = digest?;
        files.push(ManifestFile {
            path: rel,
            size: digest.size,
            sha256: digest.sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        version: 1,
        files,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| ManifestError::Write {
        path: dir.join(MANIFEST_FILE),
        source: std::io::Error::other(e),
    })?;
    bytes.push(b'\n');
    let path = dir.join(MANIFEST_FILE);
    fs::write(&path, &bytes).map_err(|source| ManifestError::Write { path, source })?;
    Ok(bytes)
}

/// Reads a folder's manifest: the parsed manifest and its exact bytes.
pub fn read(dir: &Path) -> Result<(Manifest, Vec<u8>), ReadError> {
    let path = dir.join(MANIFEST_FILE);
    let bytes = fs::read(&path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            ReadError::Missing { path: path.clone() }
        } else {
            ReadError::Io {
                path: path.clone(),
                source: e,
            }
        }
    })?;
    let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| ReadError::Invalid {
        path: path.clone(),
        why: e.to_string(),
    })?;
    if manifest.format != FORMAT || manifest.version != 1 {
        return Err(ReadError::Invalid {
            path,
            why: format!(
                "not a bridle manifest version 1 (format {:?}, version {})",
                manifest.format, manifest.version
            ),
        });
    }
    Ok((manifest, bytes))
}

/// What happened to one file since the manifest (or `info.json`) recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Change {
    /// The file is gone.
    Missing,
    /// The file is shorter than recorded.
    Truncated {
        /// Recorded size.
        expected_size: u64,
        /// Size now.
        actual_size: u64,
    },
    /// The file's content differs.
    Modified {
        /// Recorded size.
        expected_size: u64,
        /// Size now.
        actual_size: u64,
        /// Recorded SHA-256.
        expected_sha256: String,
        /// SHA-256 now.
        actual_sha256: String,
    },
    /// The file is not in the manifest.
    Extra {
        /// Size now (0 for what is not a regular file).
        size: u64,
    },
    /// The file could not be read.
    Unreadable {
        /// Why.
        why: String,
    },
}

/// One changed file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// Path (relative to the results folder, or as `info.json` lists evidence).
    pub path: String,
    /// What changed.
    #[serde(flatten)]
    pub change: Change,
}

/// Compares a file with what was recorded for it.
pub fn check_file(path: &Path, expected_size: u64, expected_sha256: &str) -> Option<Change> {
    let digest = match results::hash_file(path) {
        Ok(d) => d,
        Err(ReadError::Missing { .. }) => return Some(Change::Missing),
        Err(e) => {
            return Some(Change::Unreadable { why: e.to_string() });
        }
    };
    if digest.sha256.eq_ignore_ascii_case(expected_sha256) && digest.size == expected_size {
        return None;
    }
    if digest.size < expected_size {
        return Some(Change::Truncated {
            expected_size,
            actual_size: digest.size,
        });
    }
    Some(Change::Modified {
        expected_size,
        actual_size: digest.size,
        expected_sha256: expected_sha256.to_owned(),
        actual_sha256: digest.sha256,
    })
}

/// Compares a results folder with its manifest: every file listed is re-hashed, and every
/// file not listed is reported as extra. Returns the manifest's bytes (for a signature
/// check) and the changes, sorted by path.
pub fn verify(dir: &Path) -> Result<(Vec<u8>, Vec<FileChange>), ReadError> {
    let (manifest, bytes) = read(dir)?;
    let mut changes = Vec::new();
    for f in &manifest.files {
        // A manifest edited to point outside the folder is itself a change.
        let unsafe_path = f
            .path
            .split('/')
            .any(|c| c.is_empty() || c == ".." || c == ".")
            || f.path.contains('\\');
        if unsafe_path {
            changes.push(FileChange {
                path: f.path.clone(),
                change: Change::Unreadable {
                    why: "the manifest names a path outside the folder".into(),
                },
            });
            continue;
        }
        if let Some(change) = check_file(&dir.join(&f.path), f.size, &f.sha256) {
            changes.push(FileChange {
                path: f.path.clone(),
                change,
            });
        }
    }
    let listed: std::collections::BTreeSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    let listing = list(dir).map_err(|e| match e {
        ManifestError::Read(r) => r,
        other => ReadError::Invalid {
            path: dir.to_path_buf(),
            why: other.to_string(),
        },
    })?;
    for (rel, path) in &listing.files {
        if !listed.contains(rel.as_str()) {
            let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            changes.push(FileChange {
                path: rel.clone(),
                change: Change::Extra { size },
            });
        }
    }
    for rel in listing.other {
        changes.push(FileChange {
            path: rel,
            change: Change::Extra { size: 0 },
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((bytes, changes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_change_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a.json"), b"[1,2,3]").unwrap();
        fs::write(d.join("b.csv"), b"x,y\n1,2\n").unwrap();
        fs::write(d.join("c.json"), b"{}").unwrap();
        fs::create_dir_all(d.join("rechecks/0001")).unwrap();
        fs::write(d.join("rechecks/0001/alerts.json"), b"[]").unwrap();
        let bytes = write(d).unwrap();
        let (m, read_bytes) = read(d).unwrap();
        assert_eq!(bytes, read_bytes);
        let paths: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            ["a.json", "b.csv", "c.json"],
            "rechecks/ is not covered"
        );
        assert!(verify(d).unwrap().1.is_empty());

        fs::write(d.join("a.json"), b"[1,2,4]").unwrap();
        fs::write(d.join("b.csv"), b"x,y\n").unwrap();
        fs::remove_file(d.join("c.json")).unwrap();
        fs::write(d.join("extra.txt"), b"hi").unwrap();
        let changes = verify(d).unwrap().1;
        let got: Vec<(&str, &Change)> = changes
            .iter()
            .map(|c| (c.path.as_str(), &c.change))
            .collect();
        assert!(matches!(got[0], ("a.json", Change::Modified { .. })));
        assert!(matches!(
            got[1],
            (
                "b.csv",
                Change::Truncated {
                    expected_size: 8,
                    actual_size: 4
                }
            )
        ));
        assert_eq!(got[2], ("c.json", &Change::Missing));
        assert_eq!(got[3], ("extra.txt", &Change::Extra { size: 2 }));
        assert_eq!(got.len(), 4);
    }
}
