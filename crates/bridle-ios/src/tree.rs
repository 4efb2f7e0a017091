//! The tree of a folder acquisition (a filesystem dump, a sysdiagnose folder): a bounded walk,
//! and the index of file names the "binary nowhere in the dump" heuristic asks.
//!
//! The walk never follows symbolic links, so a link loop or a link pointing out of the dump
//! is listed as a link and never entered. Entries come in a fixed order (each folder's entries
//! sorted by name, depth first), so two runs on the same tree give the same output.

use crate::Ios;
use bridle_evidence::EvidenceError;
use bridle_evidence::plist_json::escape_bytes;
use std::collections::HashSet;
use std::fs::{FileType, Metadata};
use std::path::Path;

/// Deepest folder level walked (a real iOS tree is about 20 levels deep).
pub const MAX_WALK_DEPTH: usize = 256;
/// Most entries one walk visits.
pub const MAX_WALK_ENTRIES: u64 = 50_000_000;
/// Most walk errors kept verbatim (the rest are only counted).
pub const MAX_WALK_ERRORS_KEPT: usize = 20;
/// Most distinct file names indexed; past this the index is incomplete and says so.
pub const MAX_INDEX_NAMES: usize = 4_000_000;
/// Lengths at which a process name may have been truncated by the kernel: iOS keeps
/// `MAXCOMLEN` (16) bytes of a process name; Linux-derived tools keep 15.
pub const TRUNCATION_LENGTHS: [usize; 2] = [15, 16];

/// One entry of a walk.
#[derive(Debug)]
pub struct TreeEntry<'a> {
    /// Path relative to the acquisition root, `/`-separated; bytes that are not UTF-8 are
    /// written `\xNN`.
    pub rel: &'a str,
    /// The last component, escaped the same way.
    pub name: &'a str,
    /// Where it is on disk.
    pub path: &'a Path,
    /// Its type, not following links.
    pub file_type: FileType,
    /// 1 for the entries of the folder walked, 2 below, ...
    pub depth: usize,
}

impl TreeEntry<'_> {
    /// Its metadata, not following links.
    pub fn metadata(&self) -> std::io::Result<Metadata> {
        std::fs::symlink_metadata(self.path)
    }
}

/// How a walk went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WalkReport {
    /// Entries visited.
    pub entries: u64,
    /// Folders or entries that could not be read (the first [`MAX_WALK_ERRORS_KEPT`]).
    pub errors: Vec<String>,
    /// How many errors there were in all.
    pub error_count: u64,
    /// Whether the walk stopped at [`MAX_WALK_ENTRIES`].
    pub capped: bool,
}

impl WalkReport {
    /// A one-line summary of what could not be walked, if anything.
    pub fn problem(&self) -> Option<String> {
        if self.error_count == 0 && !self.capped {
            return None;
        }
        let mut parts = Vec::new();
        if self.capped {
            parts.push(format!("the walk stopped after {MAX_WALK_ENTRIES} entries"));
        }
        if self.error_count > 0 {
            parts.push(format!(
                "{} entries could not be read ({})",
                self.error_count,
                self.errors.join("; ")
            ));
        }
        Some(parts.join("; "))
    }
}

/// A path's components escaped as text and joined with `/`.
fn rel_text(path: &Path) -> String {
    let mut out = String::new();
    for c in path.components() {
        if !out.is_empty() {
            out.push('/');
        }
        out.push_str(&escape_bytes(c.as_os_str().as_encoded_bytes()));
    }
    out
}

impl Ios {
    /// Walks the tree under `under` (a path relative to the root; `""` for the whole
    /// acquisition), calling `f` for every entry, without following links.
    ///
    /// Fails only when `under` itself cannot be reached; unreadable folders below it are
    /// counted in the report and skipped.
    pub fn walk(
        &self,
        under: &str,
        mut f: impl FnMut(&TreeEntry<'_>),
    ) -> Result<WalkReport, EvidenceError> {
        let start = if under.is_empty() {
            self.root().canonical().to_path_buf()
        } else {
            match self.root().resolve(under)? {
                Some(p) => p,
                None => return Ok(WalkReport::default()),
            }
        };
        let mut report = WalkReport::default();
        let walker = walkdir::WalkDir::new(&start)
            .follow_links(false)
            .min_depth(1)
            .max_depth(MAX_WALK_DEPTH)
            .sort_by_file_name();
        for item in walker {
            if report.entries >= MAX_WALK_ENTRIES {
                report.capped = true;
                break;
            }
            let entry = match item {
                Ok(e) => e,
                Err(e) => {
                    report.error_count += 1;
                    if report.errors.len() < MAX_WALK_ERRORS_KEPT {
                        let at = e
                            .path()
                            .and_then(|p| p.strip_prefix(&start).ok())
                            .map(rel_text)
                            .unwrap_or_default();
                        let why = e
                            .io_error()
                            .map_or_else(|| e.to_string(), ToString::to_string);
                        report.errors.push(format!("{at}: {why}"));
                    }
                    continue;
                }
            };
            report.entries += 1;
            let Ok(inner) = entry.path().strip_prefix(&start) else {
                continue;
            };
            let inner = rel_text(inner);
            let rel = if under.is_empty() {
                inner
            } else {
                format!("{}/{inner}", under.trim_end_matches('/'))
            };
            let name = escape_bytes(entry.file_name().as_encoded_bytes());
            f(&TreeEntry {
                rel: &rel,
                name: &name,
                path: entry.path(),
                file_type: entry.file_type(),
                depth: entry.depth(),
            });
        }
        Ok(report)
    }
}

/// The names of the files of a filesystem dump, to ask "is there a binary of this name
/// anywhere?" in constant time.
///
/// MVT answers that question by comparing every process name with every file of the dump
/// (`O(processes × files)`); this index is built by one walk, once per acquisition, and
/// shared by every module that asks (DataUsage and netusage).
///
/// A file counts when it is a regular file, or a link to a regular file inside the dump (MVT
/// asks `Path.is_file()`, which follows links). Names of 15 or 16 bytes are treated as
/// possibly truncated by the kernel: they are present when some file name starts with them.
#[derive(Default)]
pub struct FileNameIndex {
    names: HashSet<Box<str>>,
    prefixes: HashSet<Box<str>>,
    files: u64,
    complete: bool,
    problem: Option<String>,
}

impl std::fmt::Debug for FileNameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileNameIndex")
            .field("names", &self.names.len())
            .field("files", &self.files)
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

impl FileNameIndex {
    /// Builds the index by walking the whole acquisition.
    pub fn build(ios: &Ios) -> FileNameIndex {
        let mut index = FileNameIndex {
            complete: true,
            ..FileNameIndex::default()
        };
        let root = ios.root();
        let walked = ios.walk("", |e| {
            let is_file = if e.file_type.is_file() {
                true
            } else if e.file_type.is_symlink() {
                // A link counts only if it lands on a file inside the dump.
                root.contain(e.path).is_ok_and(|p| p.is_file())
            } else {
                false
            };
            if is_file {
                index.files += 1;
                index.insert(e.name);
            }
        });
        match walked {
            Ok(report) => {
                // A folder that cannot be read is reported; only a walk cut short makes
                // "absent" answers meaningless.
                index.complete = index.complete && !report.capped;
                index.problem = report.problem();
            }
            Err(e) => {
                index.complete = false;
                index.problem = Some(e.to_string());
            }
        }
        index
    }

    /// An index over the given names (for tests and for callers with their own listing).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> FileNameIndex {
        let mut index = FileNameIndex {
            complete: true,
            ..FileNameIndex::default()
        };
        for n in names {
            index.files += 1;
            index.insert(n);
        }
        index
    }

    fn insert(&mut self, name: &str) {
        if self.names.contains(name) {
            return;
        }
        if self.names.len() >= MAX_INDEX_NAMES {
            self.complete = false;
            return;
        }
        for len in TRUNCATION_LENGTHS {
            if name.len() > len
                && let Some(prefix) = name.get(..len)
                && !self.prefixes.contains(prefix)
            {
                self.prefixes.insert(prefix.into());
            }
        }
        self.names.insert(name.into());
    }

    /// Whether a file has exactly this name.
    pub fn contains(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Whether the binary of a process with this name is in the dump: a file of that name,
    /// or, for a name of 15 or 16 bytes (a kernel-truncated name), a file whose name starts
    /// with it.
    pub fn binary_present(&self, process_name: &str) -> bool {
        self.names.contains(process_name)
            || (TRUNCATION_LENGTHS.contains(&process_name.len())
                && self.prefixes.contains(process_name))
    }

    /// Files indexed (with repeats of a name counted each time).
    pub fn files(&self) -> u64 {
        self.files
    }

    /// Distinct names indexed.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is indexed.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Whether every file of the dump was indexed. When not, "absent" answers cannot be
    /// trusted and callers should not raise alerts from them.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// What could not be indexed, if anything.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_names_match_longer_files() {
        let idx = FileNameIndex::from_names([
            "containermanagerd",
            "mobileactivationd",
            "launchd",
            "fifteencharsxyzLONGER",
        ]);
        assert!(idx.binary_present("launchd"));
        assert!(!idx.binary_present("launch"));
        // 16 bytes: iOS truncation of containermanagerd.
        assert!(idx.binary_present("containermanager"));
        assert!(idx.binary_present("mobileactivation"));
        // 15 bytes.
        assert!(idx.binary_present("fifteencharsxyz"));
        // 14 bytes is never a truncation.
        assert!(!idx.binary_present("containermanag"));
        // 16 bytes that start no file name.
        assert!(!idx.binary_present("proactiveeventtr"));
        assert!(idx.is_complete());
        assert_eq!(idx.len(), 4);
    }
}
