//! A read-only tree of files over a folder, a zip, a tar or a tar.gz, for acquisitions that
//! come as archives (AndroidQF zips, bugreports, iOS filesystem dumps, sysdiagnoses).
//!
//! [`Tree::open`] recognises the container by its content (not its extension), indexes every
//! member once and keeps only the index: names, kinds, sizes, times, and where each member's
//! bytes are. Members are then read in place, streaming, by as many threads as want to
//! ([`Tree::open_file`], [`Tree::read`], [`Tree::hash`]); nothing is extracted to disk
//! unless a caller asks for a temporary copy of one member ([`Tree::materialize`], for SQLite).
//!
//! Archives are hostile input. While indexing, a member is **skipped and reported** (a
//! [`Problem`] naming it, see [`Tree::problems`]) when:
//!
//! * its name is absolute, has a `..` component, or a control or format character
//!   ([`validate_member_name`]), or repeats an earlier member's name;
//! * it is a device node, FIFO or socket, a sparse or encrypted file, or uses a compression
//!   method we do not decode;
//! * its declared size is over [`ArchiveLimits::max_entry_size`], or it compresses better
//!   than [`ArchiveLimits::max_ratio`] (a zip bomb), or it would take the archive's total past
//!   [`ArchiveLimits::max_total_size`], or it claims more data than the archive holds;
//! * the archive has more than [`ArchiveLimits::max_entries`] members (indexing stops there).
//!
//! Reading a member never yields more than its declared size (more is an error, as is less,
//! and a zip member's CRC-32 is checked), and symbolic links are only ever followed to
//! another member of the same tree: never out of it, and never more than [`MAX_LINK_HOPS`]
//! times. Nested archives (a `bugreport.zip` inside an AndroidQF zip) open as trees of their
//! own ([`Tree::open_nested`]), from memory or a temporary file, within the same caps and a
//! nesting depth limit.

mod backing;
mod folder;
mod name;
mod tar_index;
#[cfg(test)]
mod tests;
mod unpack;
mod zip_index;

pub use backing::Member;
pub use name::{MAX_NAME_BYTES, NameProblem, validate_member_name};
pub use unpack::UnpackReport;

use backing::{Backing, PosReader};
use bridle_model::{Problem, ProblemKind, Timestamp};
use name::{GlobMode, glob_match};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most symbolic links followed to resolve one name.
pub const MAX_LINK_HOPS: usize = 8;

/// Caps applied while indexing and reading an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// Most members indexed (each costs memory for its name).
    pub max_entries: usize,
    /// Largest declared (uncompressed) size of one member.
    pub max_entry_size: u64,
    /// Largest sum of declared member sizes; also caps what a tar.gz may inflate to.
    pub max_total_size: u64,
    /// Largest uncompressed/compressed ratio of a member larger than `ratio_min_size`.
    pub max_ratio: u64,
    /// Members up to this size are not subject to the ratio cap (a small file of zeros is
    /// harmless whatever its ratio).
    pub ratio_min_size: u64,
    /// Most levels of archives inside archives.
    pub max_nesting: u32,
    /// A nested archive up to this size is read into memory; larger ones go to a temporary
    /// file.
    pub max_in_memory: u64,
    /// Deepest folder level walked.
    pub max_folder_depth: usize,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entries: 2_000_000,
            max_entry_size: 16 << 30,
            max_total_size: 1 << 40,
            max_ratio: 1_000,
            ratio_min_size: 1 << 20,
            max_nesting: 3,
            max_in_memory: 64 << 20,
            max_folder_depth: 256,
        }
    }
}

/// What a tree is over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeKind {
    /// A folder on disk.
    Folder,
    /// A zip archive.
    Zip,
    /// An uncompressed tar archive.
    Tar,
    /// A gzip-compressed tar archive.
    TarGz,
}

impl TreeKind {
    /// A short name.
    pub fn as_str(self) -> &'static str {
        match self {
            TreeKind::Folder => "folder",
            TreeKind::Zip => "zip",
            TreeKind::Tar => "tar",
            TreeKind::TarGz => "tar.gz",
        }
    }
}

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder (stored in the archive, or implied by its members' names).
    Dir,
    /// A symbolic link; the target as stored (relative to the link's folder).
    Symlink {
        /// The link's target, as stored.
        target: String,
    },
    /// A tar hard link to another member, named from the archive root.
    HardLink {
        /// The member it links to.
        target: String,
    },
}

/// One member of a tree.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its normalised name, `/`-separated, relative to the tree's root.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its (declared) size in bytes; 0 for folders and links.
    pub size: u64,
    /// Its modification time, when the container records one.
    pub mtime: Option<Timestamp>,
    /// Whether `mtime` is a wall-clock time without a time zone (zip's MS-DOS times, read
    /// as if they were UTC) rather than a true UTC instant (tar, folders).
    pub mtime_is_local: bool,
    /// Unix permission bits, when recorded.
    pub mode: Option<u32>,
    pub(crate) loc: Loc,
}

impl Entry {
    /// Whether it is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == EntryKind::File
    }

    /// Whether it is a folder.
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }
}

/// An index: the members, and the problems met while building it.
pub(crate) type Index = (Vec<Entry>, Vec<Problem>);

/// Where a member's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Loc {
    /// A file inside a folder tree.
    Path(PathBuf),
    /// A zip member.
    Zip {
        index: usize,
        method: zip_index::Method,
        compressed: u64,
        header: u64,
        crc: u32,
    },
    /// A tar member's data, at this offset of the (decompressed) tar stream.
    Tar { data: u64 },
    /// A folder implied by member names, or a link: no bytes.
    None,
}

/// Why a tree or one of its members could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// The operating system refused.
    #[error("{path}: {source}")]
    Io {
        /// The container or member.
        path: String,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Not a folder, zip, tar or tar.gz.
    #[error("{path}: not a folder, zip, tar or tar.gz archive")]
    NotAnArchive {
        /// The file.
        path: String,
    },
    /// The container's own structure is broken (no readable central directory...).
    #[error("{path}: {message}")]
    Format {
        /// The container.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// No such member (or it was skipped while indexing: see the problems).
    #[error("{name}: no such member")]
    NotFound {
        /// The name asked for.
        name: String,
    },
    /// The member is a folder.
    #[error("{name}: not a file")]
    NotAFile {
        /// The name.
        name: String,
    },
    /// The member is larger than the caller's cap.
    #[error("{name}: {size} bytes is over the {max}-byte limit")]
    TooLarge {
        /// The member.
        name: String,
        /// Its declared size.
        size: u64,
        /// The cap.
        max: u64,
    },
    /// Archives nested too deep.
    #[error("{name}: archive nested more than {max} levels deep, not opened")]
    TooDeep {
        /// The nested archive.
        name: String,
        /// The cap.
        max: u32,
    },
    /// A symbolic link pointing out of the tree.
    #[error("{name}: link to `{target}` leaves the archive, not followed")]
    LinkEscapes {
        /// The link.
        name: String,
        /// Its target.
        target: String,
    },
    /// Too many links in a row (or a cycle).
    #[error("{name}: more than {MAX_LINK_HOPS} links in a row (a cycle?), not followed")]
    LinkLoop {
        /// The first link.
        name: String,
    },
}

impl ArchiveError {
    fn io(path: impl Into<String>, source: io::Error) -> Self {
        ArchiveError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A temporary copy of a member (or, in a folder tree, the member's own path, which must
/// only be opened read-only). The copy is deleted when this is dropped.
#[derive(Debug)]
pub struct Materialized {
    path: PathBuf,
    temp: Option<tempfile::TempPath>,
}

impl Materialized {
    /// Where the bytes are.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a temporary copy (not the evidence itself).
    pub fn is_copy(&self) -> bool {
        self.temp.is_some()
    }
}

/// A read-only tree of files: a folder, a zip, a tar or a tar.gz. See the module docs.
pub struct Tree {
    label: String,
    kind: TreeKind,
    backing: Option<Backing>,
    zip: Option<zip::ZipArchive<PosReader>>,
    entries: Vec<Entry>,
    problems: Vec<Problem>,
    limits: ArchiveLimits,
    depth: u32,
    _temp: Option<tempfile::TempPath>,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree")
            .field("label", &self.label)
            .field("kind", &self.kind)
            .field("entries", &self.entries.len())
            .field("problems", &self.problems.len())
            .finish_non_exhaustive()
    }
}

/// The first bytes of a file, to tell containers apart.
fn sniff(backing: &Backing) -> io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(512);
    PosReader::new(backing.clone(), 0)
        .take(512)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// Whether a 512-byte block is a tar header (POSIX `ustar` magic, or a valid v7 checksum).
fn looks_like_tar(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    if block.get(257..262) == Some(b"ustar") {
        return true;
    }
    let Some(field) = block.get(148..156) else {
        return false;
    };
    let digits: String = field
        .iter()
        .map(|b| char::from(*b))
        .filter(|c| c.is_digit(8))
        .collect();
    let Ok(stored) = u32::from_str_radix(&digits, 8) else {
        return false;
    };
    let sum: u32 = block
        .iter()
        .take(512)
        .enumerate()
        .map(|(i, b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(*b)
            }
        })
        .sum();
    sum == stored && block.iter().any(|b| *b != 0)
}

impl Tree {
    /// Opens a folder, zip, tar or tar.gz with the default limits.
    pub fn open(path: &Path) -> Result<Tree, ArchiveError> {
        Tree::open_with(path, ArchiveLimits::default())
    }

    /// Opens a folder, zip, tar or tar.gz, recognised by content.
    pub fn open_with(path: &Path, limits: ArchiveLimits) -> Result<Tree, ArchiveError> {
        let label = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| ArchiveError::io(&label, e))?;
        if meta.is_dir() {
            let (entries, problems) = folder::index(path, &label, &limits)?;
            return Ok(Tree {
                label,
                kind: TreeKind::Folder,
                backing: None,
                zip: None,
                entries,
                problems,
                limits,
                depth: 0,
                _temp: None,
            });
        }
        let file = File::open(path).map_err(|e| ArchiveError::io(&label, e))?;
        let backing = Backing::File(Arc::new(file), meta.len());
        Tree::from_backing(label, backing, limits, 0, None)
    }

    /// A tree over an archive held in memory.
    pub fn from_bytes(
        label: impl Into<String>,
        bytes: impl Into<Arc<[u8]>>,
        limits: ArchiveLimits,
    ) -> Result<Tree, ArchiveError> {
        Tree::from_backing(label.into(), Backing::Mem(bytes.into()), limits, 0, None)
    }

    /// A tree over an archive in a temporary file, which the tree keeps (and deletes when
    /// dropped): for an acquisition decrypted to a temporary file.
    pub fn from_temp(
        label: impl Into<String>,
        temp: tempfile::TempPath,
        limits: ArchiveLimits,
    ) -> Result<Tree, ArchiveError> {
        let label = label.into();
        let file = File::open(&temp).map_err(|e| ArchiveError::io(&label, e))?;
        let len = file
            .metadata()
            .map_err(|e| ArchiveError::io(&label, e))?
            .len();
        Tree::from_backing(
            label,
            Backing::File(Arc::new(file), len),
            limits,
            0,
            Some(temp),
        )
    }

    fn from_backing(
        label: String,
        backing: Backing,
        limits: ArchiveLimits,
        depth: u32,
        temp: Option<tempfile::TempPath>,
    ) -> Result<Tree, ArchiveError> {
        let head = sniff(&backing).map_err(|e| ArchiveError::io(&label, e))?;
        let (kind, zip, (entries, problems)) = if head.starts_with(b"PK\x03\x04")
            || head.starts_with(b"PK\x05\x06")
            || head.starts_with(b"PK\x07\x08")
        {
            let (archive, index) = zip_index::index(&backing, &label, &limits)?;
            (TreeKind::Zip, Some(archive), index)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            let index = tar_index::index(&backing, true, &label, &limits)?;
            (TreeKind::TarGz, None, index)
        } else if looks_like_tar(&head) {
            let index = tar_index::index(&backing, false, &label, &limits)?;
            (TreeKind::Tar, None, index)
        } else {
            // A zip may have data before it (a self-extracting archive): let the zip reader
            // look for its end record before giving up.
            match zip_index::index(&backing, &label, &limits) {
                Ok((archive, index)) => (TreeKind::Zip, Some(archive), index),
                Err(_) => return Err(ArchiveError::NotAnArchive { path: label }),
            }
        };
        Ok(Tree {
            label,
            kind,
            backing: Some(backing),
            zip,
            entries,
            problems,
            limits,
            depth,
            _temp: temp,
        })
    }

    /// What the tree is over.
    pub fn kind(&self) -> TreeKind {
        self.kind
    }

    /// The container's name (its path, or `outer!/inner` for a nested archive).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The caps in force.
    pub fn limits(&self) -> &ArchiveLimits {
        &self.limits
    }

    /// How deep this tree is nested in other archives (0 for a top-level one).
    pub fn depth(&self) -> u32 {
        self.depth
    }

    /// Every member, sorted by name.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every regular file, sorted by name.
    pub fn files(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(|e| e.is_file())
    }

    /// Every member skipped while indexing, and why.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How a member is cited in reports: `label/name` for a folder, `label!/name` for an
    /// archive member.
    pub fn display_name(&self, name: &str) -> String {
        match self.kind {
            TreeKind::Folder => format!("{}/{name}", self.label.trim_end_matches('/')),
            _ => format!("{}!/{name}", self.label),
        }
    }

    /// A member by exact (normalised) name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .ok()
            .and_then(|i| self.entries.get(i))
    }

    /// Members whose name matches `pattern` with Python `fnmatch` semantics (MVT's): `*`
    /// matches any run of characters including `/`, `?` one character, `[...]` a class.
    /// Sorted by name.
    pub fn glob(&self, pattern: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| glob_match(pattern, &e.name, GlobMode::Fnmatch))
            .collect()
    }

    /// Members whose name matches `pattern` component by component: `*` stays within one
    /// path component (`private/var/*/Library/*.db`). Sorted by name.
    pub fn glob_path(&self, pattern: &str) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| glob_match(pattern, &e.name, GlobMode::Components))
            .collect()
    }

    /// The member a name designates, following symbolic and hard links inside the tree.
    pub fn resolve(&self, name: &str) -> Result<&Entry, ArchiveError> {
        let mut current = name.to_owned();
        for _ in 0..=MAX_LINK_HOPS {
            let entry = self.entry(&current).ok_or_else(|| ArchiveError::NotFound {
                name: current.clone(),
            })?;
            match &entry.kind {
                EntryKind::File | EntryKind::Dir => return Ok(entry),
                EntryKind::HardLink { target } => current = target.clone(),
                EntryKind::Symlink { target } => {
                    current =
                        join_link(&current, target).ok_or_else(|| ArchiveError::LinkEscapes {
                            name: current.clone(),
                            target: target.clone(),
                        })?;
                }
            }
        }
        Err(ArchiveError::LinkLoop {
            name: name.to_owned(),
        })
    }

    /// Opens a member for reading (following links inside the tree). The reader yields
    /// exactly the member's declared size or fails.
    ///
    /// For a tar.gz the archive is decompressed from its start up to the member, so reading
    /// many members of a large tar.gz one by one costs one pass each.
    pub fn open_file(&self, name: &str) -> Result<Member, ArchiveError> {
        let entry = self.resolve(name)?;
        if !entry.is_file() {
            return Err(ArchiveError::NotAFile {
                name: entry.name.clone(),
            });
        }
        let display = self.display_name(&entry.name);
        let io_err = |e: io::Error| ArchiveError::io(display.clone(), e);
        match (&entry.loc, &self.backing) {
            (Loc::Path(path), _) => {
                let file = File::open(path).map_err(io_err)?;
                let size = file.metadata().map_err(io_err)?.len();
                Ok(Member::new(Box::new(file), &display, size, None))
            }
            (
                Loc::Zip {
                    index,
                    method,
                    compressed,
                    header,
                    crc,
                },
                Some(backing),
            ) => zip_index::open_member(
                backing,
                self.zip.as_ref(),
                &zip_index::MemberAt {
                    index: *index,
                    method: *method,
                    compressed: *compressed,
                    header: *header,
                    crc: *crc,
                    size: entry.size,
                },
                &display,
                &self.limits,
            ),
            (Loc::Tar { data }, Some(backing)) => tar_index::open_member(
                backing,
                self.kind == TreeKind::TarGz,
                *data,
                entry.size,
                &display,
            ),
            _ => Err(ArchiveError::NotAFile {
                name: entry.name.clone(),
            }),
        }
    }

    /// Reads a whole member into memory, refusing members larger than `max` bytes.
    pub fn read(&self, name: &str, max: u64) -> Result<Vec<u8>, ArchiveError> {
        let entry = self.resolve(name)?;
        if entry.is_file() && entry.size > max {
            return Err(ArchiveError::TooLarge {
                name: self.display_name(&entry.name),
                size: entry.size,
                max,
            });
        }
        let mut member = self.open_file(name)?;
        let mut out = Vec::with_capacity(usize::try_from(entry.size.min(max)).unwrap_or(0));
        member
            .read_to_end(&mut out)
            .map_err(|e| ArchiveError::io(self.display_name(&entry.name), e))?;
        Ok(out)
    }

    /// Streams a member through SHA-256: (lower-case hex digest, size).
    pub fn hash(&self, name: &str) -> Result<(String, u64), ArchiveError> {
        let mut member = self.open_file(name)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut size = 0u64;
        loop {
            let n = match member.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(ArchiveError::io(self.display_name(name), e)),
            };
            hasher.update(buf.get(..n).unwrap_or_default());
            size = size.saturating_add(n as u64);
        }
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// A file holding the member's bytes, for readers that need a path (SQLite, a nested
    /// archive too large for memory). In a folder tree this is the member itself (open it
    /// read-only); otherwise a temporary copy, deleted when the result is dropped.
    pub fn materialize(&self, name: &str) -> Result<Materialized, ArchiveError> {
        let entry = self.resolve(name)?;
        if let Loc::Path(path) = &entry.loc {
            return Ok(Materialized {
                path: path.clone(),
                temp: None,
            });
        }
        let display = self.display_name(&entry.name);
        let mut member = self.open_file(name)?;
        let mut temp = tempfile::Builder::new()
            .prefix("bridle-member-")
            .tempfile()
            .map_err(|e| ArchiveError::io(display.clone(), e))?;
        io::copy(&mut member, temp.as_file_mut())
            .map_err(|e| ArchiveError::io(display.clone(), e))?;
        let temp = temp.into_temp_path();
        Ok(Materialized {
            path: temp.to_path_buf(),
            temp: Some(temp),
        })
    }

    /// Opens a member that is itself an archive, as a tree with the same caps, one level
    /// deeper. Small archives are read into memory, larger ones copied to a temporary file.
    pub fn open_nested(&self, name: &str) -> Result<Tree, ArchiveError> {
        let entry = self.resolve(name)?;
        let display = self.display_name(&entry.name);
        if !entry.is_file() {
            return Err(ArchiveError::NotAFile { name: display });
        }
        if self.depth >= self.limits.max_nesting {
            return Err(ArchiveError::TooDeep {
                name: display,
                max: self.limits.max_nesting,
            });
        }
        let depth = self.depth.saturating_add(1);
        if let Loc::Path(path) = &entry.loc {
            let file = File::open(path).map_err(|e| ArchiveError::io(display.clone(), e))?;
            let len = file
                .metadata()
                .map_err(|e| ArchiveError::io(display.clone(), e))?
                .len();
            return Tree::from_backing(
                display,
                Backing::File(Arc::new(file), len),
                self.limits,
                depth,
                None,
            );
        }
        if entry.size <= self.limits.max_in_memory {
            let bytes = self.read(name, self.limits.max_in_memory)?;
            return Tree::from_backing(
                display,
                Backing::Mem(bytes.into()),
                self.limits,
                depth,
                None,
            );
        }
        let copy = self.materialize(name)?;
        let file = File::open(copy.path()).map_err(|e| ArchiveError::io(display.clone(), e))?;
        let len = file
            .metadata()
            .map_err(|e| ArchiveError::io(display.clone(), e))?
            .len();
        Tree::from_backing(
            display,
            Backing::File(Arc::new(file), len),
            self.limits,
            depth,
            copy.temp,
        )
    }
}

/// Python `fnmatch` matching of one name (see [`Tree::glob`]), for callers that filter
/// names themselves (a base name, a member of a nested listing).
pub fn fnmatch(pattern: &str, name: &str) -> bool {
    glob_match(pattern, name, GlobMode::Fnmatch)
}

/// Resolves a symbolic link's target against the link's folder, lexically, refusing a target
/// that is absolute or climbs above the tree's root.
fn join_link(link: &str, target: &str) -> Option<String> {
    let target = target.replace('\\', "/");
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// Collects the index of a container, applying name validation, de-duplication and caps,
/// and recording every member skipped.
pub(crate) struct Builder<'a> {
    label: &'a str,
    kind_sep: &'static str,
    limits: &'a ArchiveLimits,
    entries: Vec<Entry>,
    seen: BTreeSet<String>,
    problems: Vec<Problem>,
    total: u64,
    full: bool,
}

impl<'a> Builder<'a> {
    pub(crate) fn new(label: &'a str, folder: bool, limits: &'a ArchiveLimits) -> Self {
        Builder {
            label,
            kind_sep: if folder { "/" } else { "!/" },
            limits,
            entries: Vec::new(),
            seen: BTreeSet::new(),
            problems: Vec::new(),
            total: 0,
            full: false,
        }
    }

    /// Whether the entry cap was reached (the indexer should stop).
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }

    /// Records a skipped member (its raw name escaped for display).
    pub(crate) fn skip(&mut self, raw_name: &str, why: impl Into<String>) {
        let shown = bridle_model::sanitize::for_terminal(raw_name);
        self.problems.push(Problem::file(
            ProblemKind::Skipped,
            format!(
                "{}{}{shown}",
                self.label.trim_end_matches('/'),
                self.kind_sep
            ),
            why.into(),
        ));
    }

    /// Records a problem with the container itself (damaged after some members).
    pub(crate) fn damaged(&mut self, message: impl Into<String>) {
        self.problems.push(Problem::file(
            ProblemKind::Partial,
            self.label.to_owned(),
            message.into(),
        ));
    }

    /// Validates a raw name; `None` (with a problem recorded, unless it is the root) when
    /// the member must be skipped.
    pub(crate) fn name(&mut self, raw: &str) -> Option<String> {
        match validate_member_name(raw) {
            Ok(n) if n.is_empty() => None,
            Ok(n) => Some(n),
            Err(p) => {
                self.skip(
                    raw,
                    format!("unsafe member name: {}; skipped", p.describe()),
                );
                None
            }
        }
    }

    /// Adds a member after the caps and the duplicate check. Returns whether it was added.
    pub(crate) fn push(&mut self, entry: Entry) -> bool {
        if self.full {
            return false;
        }
        if self.entries.len() >= self.limits.max_entries {
            self.full = true;
            let name = entry.name.clone();
            self.skip(
                &name,
                format!(
                    "the archive has more than {} members; this one and every later one are not indexed",
                    self.limits.max_entries
                ),
            );
            return false;
        }
        if self.seen.contains(&entry.name) {
            let name = entry.name.clone();
            self.skip(
                &name,
                "duplicate member name: only the first copy is read (tools disagree on which copy they extract)",
            );
            return false;
        }
        if entry.is_file() {
            if entry.size > self.limits.max_entry_size {
                let (name, size) = (entry.name.clone(), entry.size);
                self.skip(
                    &name,
                    format!(
                        "declared size {size} bytes is over the {}-byte limit per member",
                        self.limits.max_entry_size
                    ),
                );
                return false;
            }
            let total = self.total.saturating_add(entry.size);
            if total > self.limits.max_total_size {
                let (name, size) = (entry.name.clone(), entry.size);
                self.skip(
                    &name,
                    format!(
                        "its {size} bytes would take the archive past the {}-byte total limit",
                        self.limits.max_total_size
                    ),
                );
                return false;
            }
            self.total = total;
        }
        self.seen.insert(entry.name.clone());
        self.entries.push(entry);
        true
    }

    /// Adds the folders implied by member names, sorts, and returns the index.
    pub(crate) fn finish(mut self) -> Index {
        let mut implied = Vec::new();
        for e in &self.entries {
            let mut name = e.name.as_str();
            while let Some((parent, _)) = name.rsplit_once('/') {
                if !self.seen.contains(parent) {
                    self.seen.insert(parent.to_owned());
                    implied.push(Entry {
                        name: parent.to_owned(),
                        kind: EntryKind::Dir,
                        size: 0,
                        mtime: None,
                        mtime_is_local: false,
                        mode: None,
                        loc: Loc::None,
                    });
                }
                name = parent;
            }
        }
        self.entries.extend(implied);
        self.entries.sort_by(|a, b| a.name.cmp(&b.name));
        self.problems.sort();
        self.problems.dedup();
        (self.entries, self.problems)
    }
}
