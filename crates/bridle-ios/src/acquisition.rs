use bridle_evidence::sqlite::{self, Database, DbFiles, RowsRead};
use bridle_evidence::{EvidenceError, EvidenceLog, Limits, Root, plist_json};
use bridle_model::EvidenceFile;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What kind of iOS acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IosKind {
    /// An iTunes/Finder backup (hashed file names indexed by Manifest.db).
    Backup,
    /// A full filesystem dump: the device's tree, rooted where `private/var` is.
    FileSystem,
}

/// Why an acquisition could not be opened at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a filesystem dump (no `private/var` at the root or one folder down).
    #[error("{path}: does not look like an iOS filesystem dump (no private/var folder)")]
    NotADump {
        /// The folder.
        path: PathBuf,
    },
    /// Not an iOS backup (and no single sub-folder is one).
    #[error(
        "{path}: does not look like an iOS backup (no Info.plist with Manifest.db or Manifest.plist{extra})"
    )]
    NotABackup {
        /// The folder.
        path: PathBuf,
        /// More detail.
        extra: String,
    },
    /// The backup is encrypted and no key was given.
    #[error(
        "{path}: the backup is encrypted; a password is needed to check it (decryption is not supported yet by this command)"
    )]
    Encrypted {
        /// The backup folder.
        path: PathBuf,
    },
    /// The folder cannot be read.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
}

/// The backup fileID of a domain and relative path: SHA-1 of `"<domain>-<relativePath>"`.
pub fn backup_file_id(domain: &str, relative_path: &str) -> String {
    let mut h = Sha1::new();
    h.update(domain.as_bytes());
    h.update(b"-");
    h.update(relative_path.as_bytes());
    hex::encode(h.finalize())
}

fn is_backup_folder(p: &Path) -> bool {
    p.join("Info.plist").is_file()
        && (p.join("Manifest.db").is_file() || p.join("Manifest.plist").is_file())
}

/// Finds the backup folder: `path` itself, or its only sub-folder that is a backup (MVT
/// accepts the `MobileSync/Backup` parent the same way). Sub-folders are examined in name
/// order; a symbolic link to a folder is not followed.
pub fn find_backup_root(path: &Path) -> Result<PathBuf, OpenError> {
    if is_backup_folder(path) {
        return Ok(path.to_path_buf());
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        OpenError::Evidence(EvidenceError::Io {
            path: path.to_path_buf(),
            source: e,
        })
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| is_backup_folder(p))
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.swap_remove(0)),
        0 => Err(OpenError::NotABackup {
            path: path.to_path_buf(),
            extra: String::new(),
        }),
        n => Err(OpenError::NotABackup {
            path: path.to_path_buf(),
            extra: format!("; {n} sub-folders are backups, give one of them"),
        }),
    }
}

fn is_dump_root(p: &Path) -> bool {
    p.join("private").join("var").is_dir()
}

/// Finds the root of a filesystem dump: `path` itself when it holds `private/var`, or its
/// only sub-folder that does (archives often wrap the tree in one folder).
pub fn find_dump_root(path: &Path) -> Option<PathBuf> {
    if is_dump_root(path) {
        return Some(path.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| is_dump_root(p))
        .collect();
    (found.len() == 1).then(|| found.swap_remove(0))
}

/// Where a module's artifact may be.
#[derive(Debug, Clone, Copy, Default)]
pub struct Locations {
    /// Files at a known domain and relative path (their fileID is computed, so they are found
    /// even when Manifest.db does not list them, as MVT finds them).
    pub backup: &'static [(&'static str, &'static str)],
    /// Relative paths (any domain) looked up in Manifest.db; `*` matches any run of
    /// characters.
    pub backup_like: &'static [&'static str],
    /// Glob patterns relative to the root of a full filesystem dump (where `private/var` is),
    /// as MVT's `*_ROOT_PATHS`; `*` matches one path component.
    pub fs: &'static [&'static str],
}

/// A file found in an acquisition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// Where the bytes are on disk (inside the acquisition).
    pub path: PathBuf,
    /// The path relative to the acquisition root, `/`-separated.
    pub stored: String,
    /// The device's name for it: `domain/relativePath` in a backup.
    pub logical: String,
    /// Backup domain.
    pub domain: Option<String>,
    /// Backup relative path.
    pub relative_path: Option<String>,
    /// Backup fileID.
    pub file_id: Option<String>,
}

/// One row of Manifest.db's `Files` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestRow {
    /// fileID (the blob's name).
    pub file_id: String,
    /// Domain.
    pub domain: String,
    /// Relative path.
    pub relative_path: String,
    /// 1 file, 2 directory, 4 symbolic link.
    pub flags: Option<i64>,
    /// The NSKeyedArchiver `file` blob.
    pub file: Option<Vec<u8>>,
    /// The SQLite rowid.
    pub rowid: i64,
}

/// Which Manifest.db rows to read.
#[derive(Debug, Clone, Copy)]
pub enum ManifestFilter<'a> {
    /// Every row.
    All,
    /// An exact relative path (any domain).
    RelativePath(&'a str),
    /// A relative path pattern (`*` = any characters).
    RelativePathLike(&'a str),
    /// One domain.
    Domain(&'a str),
}

/// A read-only view of an iOS acquisition, shared by all modules of a run.
#[derive(Debug)]
pub struct Ios {
    kind: IosKind,
    root: Root,
    log: EvidenceLog,
    limits: Limits,
    manifest: Result<PathBuf, String>,
}

impl Ios {
    /// Opens a backup folder (or the parent of exactly one backup folder).
    ///
    /// An encrypted backup is refused with [`OpenError::Encrypted`]. A missing or unreadable
    /// Manifest.db is not fatal: modules that find their files by fileID still run, and the
    /// ones that need the Manifest report the problem.
    pub fn open_backup(path: &Path, log: EvidenceLog, limits: Limits) -> Result<Ios, OpenError> {
        let dir = find_backup_root(path)?;
        let root = Root::new(&dir)?;
        let manifest_plist = dir.join("Manifest.plist");
        if manifest_plist.is_file() {
            let plist = plist_json::read_plist(&manifest_plist, &limits)?;
            log.register(&manifest_plist, "Manifest.plist", "Manifest.plist")?;
            if matches!(
                plist_json::get(&plist, "IsEncrypted"),
                Some(plist::Value::Boolean(true))
            ) {
                return Err(OpenError::Encrypted { path: dir });
            }
        }
        let manifest = Self::check_manifest(&dir, &log);
        Ok(Ios {
            kind: IosKind::Backup,
            root,
            log,
            limits,
            manifest,
        })
    }

    /// Opens a full filesystem dump folder (the folder holding `private/var`, or its parent).
    pub fn open_fs(path: &Path, log: EvidenceLog, limits: Limits) -> Result<Ios, OpenError> {
        let dir = find_dump_root(path).ok_or_else(|| OpenError::NotADump {
            path: path.to_path_buf(),
        })?;
        let root = Root::new(&dir)?;
        Ok(Ios {
            kind: IosKind::FileSystem,
            root,
            log,
            limits,
            manifest: Err("a filesystem dump has no Manifest.db".into()),
        })
    }

    fn check_manifest(dir: &Path, log: &EvidenceLog) -> Result<PathBuf, String> {
        let path = dir.join("Manifest.db");
        if !path.is_file() {
            return Err("Manifest.db: missing".into());
        }
        log.register(&path, "Manifest.db", "Manifest.db")
            .map_err(|e| e.to_string())?;
        let mut header = [0u8; 16];
        let read = std::fs::File::open(&path)
            .and_then(|mut f| std::io::Read::read(&mut f, &mut header))
            .map_err(|e| format!("Manifest.db: {e}"))?;
        if read == 0 {
            return Err("Manifest.db: empty file".into());
        }
        if header != *b"SQLite format 3\0" {
            return Err(
                "Manifest.db: not a SQLite database (if Manifest.plist is missing, the backup may be encrypted)"
                    .into(),
            );
        }
        Ok(path)
    }

    /// The kind of acquisition.
    pub fn kind(&self) -> IosKind {
        self.kind
    }

    /// The acquisition's root folder.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The evidence log of this run.
    pub fn evidence(&self) -> &EvidenceLog {
        &self.log
    }

    /// Caps in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Why Manifest.db cannot be used, if it cannot.
    pub fn manifest_problem(&self) -> Option<&str> {
        self.manifest.as_ref().err().map(String::as_str)
    }

    /// Opens Manifest.db.
    pub fn manifest_db(&self) -> Result<Database, EvidenceError> {
        let path = self
            .manifest
            .as_ref()
            .map_err(|m| EvidenceError::Malformed {
                path: self.root.path().join("Manifest.db"),
                message: m.clone(),
            })?;
        sqlite::open(&DbFiles::beside(path), &self.limits)
    }

    /// Streams Manifest.db rows matching a filter, in rowid order.
    pub fn manifest_rows(
        &self,
        filter: ManifestFilter<'_>,
        with_blob: bool,
        mut f: impl FnMut(ManifestRow),
    ) -> Result<RowsRead, EvidenceError> {
        let db = self.manifest_db()?;
        let cols = if with_blob {
            "fileID, domain, relativePath, flags, file, rowid"
        } else {
            "fileID, domain, relativePath, flags, NULL, rowid"
        };
        let (clause, arg) = match filter {
            ManifestFilter::All => ("", None),
            ManifestFilter::RelativePath(p) => (" WHERE relativePath = ?1", Some(p.to_owned())),
            ManifestFilter::RelativePathLike(p) => (
                " WHERE relativePath LIKE ?1 ESCAPE '\\'",
                Some(like_pattern(p)),
            ),
            ManifestFilter::Domain(d) => (" WHERE domain = ?1", Some(d.to_owned())),
        };
        let sql = format!("SELECT {cols} FROM Files{clause} ORDER BY rowid");
        let mut on_row = |r: &rusqlite::Row<'_>| {
            f(ManifestRow {
                file_id: crate::rows::text(r, 0).unwrap_or_default(),
                domain: crate::rows::text(r, 1).unwrap_or_default(),
                relative_path: crate::rows::text(r, 2).unwrap_or_default(),
                flags: r.get::<_, Option<i64>>(3).ok().flatten(),
                file: r.get::<_, Option<Vec<u8>>>(4).ok().flatten(),
                rowid: r.get::<_, i64>(5).unwrap_or_default(),
            });
        };
        Ok(match arg {
            Some(a) => sqlite::for_each_row(db.conn(), &sql, [a], &mut on_row),
            None => sqlite::for_each_row(db.conn(), &sql, [], &mut on_row),
        })
    }

    /// The on-disk blob of a fileID, if present and inside the backup.
    pub fn blob_path(&self, file_id: &str) -> Result<Option<PathBuf>, EvidenceError> {
        if file_id.len() < 3 || !file_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            // A fileID is hex; anything else (a hostile Manifest row) is never a path.
            return Ok(None);
        }
        let stored = format!("{}/{file_id}", file_id.get(..2).unwrap_or_default());
        let found = self.root.resolve(&stored)?;
        Ok(found.filter(|p| p.is_file()))
    }

    /// Finds every file matching a module's locations, in the order given (fixed backup files
    /// first, then Manifest patterns, each pattern's matches in rowid order). Duplicates are
    /// dropped.
    pub fn locate(&self, locations: &Locations) -> Result<Vec<Located>, EvidenceError> {
        if self.kind == IosKind::FileSystem {
            let mut out: Vec<Located> = Vec::new();
            for pattern in locations.fs {
                for rel in self.glob(pattern)? {
                    if out.iter().any(|l| l.stored == rel) {
                        continue;
                    }
                    if let Some(path) = self.root.resolve(&rel)?
                        && path.is_file()
                    {
                        out.push(self.located_fs(path, &rel));
                    }
                }
            }
            return Ok(out);
        }
        let mut out: Vec<Located> = Vec::new();
        for (domain, rel) in locations.backup {
            let id = backup_file_id(domain, rel);
            if let Some(path) = self.blob_path(&id)? {
                out.push(self.located(path, &id, domain, rel));
            }
        }
        for pattern in locations.backup_like {
            if self.manifest.is_err() {
                break;
            }
            let filter = if pattern.contains('*') {
                ManifestFilter::RelativePathLike(pattern)
            } else {
                ManifestFilter::RelativePath(pattern)
            };
            let mut rows = Vec::new();
            self.manifest_rows(filter, false, |r| rows.push(r))?;
            for r in rows {
                if out.iter().any(|l| l.file_id.as_deref() == Some(&r.file_id)) {
                    continue;
                }
                if let Some(path) = self.blob_path(&r.file_id)? {
                    out.push(self.located(path, &r.file_id, &r.domain, &r.relative_path));
                }
            }
        }
        Ok(out)
    }

    /// A file of a filesystem dump at a path relative to the root.
    pub fn located_fs(&self, path: PathBuf, rel: &str) -> Located {
        Located {
            path,
            stored: rel.to_owned(),
            logical: format!("/{rel}"),
            domain: None,
            relative_path: None,
            file_id: None,
        }
    }

    /// Expands a pattern relative to the root of a dump: `/`-separated components, where `*`
    /// inside a component matches any run of characters (not `/`). Entries are listed in name
    /// order; symbolic links are followed only when they stay inside the dump. Written here
    /// rather than with a glob crate because every step must be checked against the root.
    pub fn glob(&self, pattern: &str) -> Result<Vec<String>, EvidenceError> {
        let mut current: Vec<String> = vec![String::new()];
        let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let mut next = Vec::new();
            for base in &current {
                let join = |name: &str| {
                    if base.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{base}/{name}")
                    }
                };
                if !part.contains('*') {
                    let rel = join(part);
                    if self.exists_inside(&rel, last) {
                        next.push(rel);
                    }
                    continue;
                }
                let dir = match self.root.resolve(base) {
                    Ok(Some(d)) => d,
                    Ok(None) | Err(EvidenceError::Escapes { .. }) => continue,
                    Err(e) => return Err(e),
                };
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut names: Vec<String> = entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.file_name().to_str().map(str::to_owned))
                    .filter(|n| wildcard(part, n))
                    .collect();
                names.sort();
                for n in names {
                    let rel = join(&n);
                    if self.exists_inside(&rel, last) {
                        next.push(rel);
                    }
                }
            }
            current = next;
            if current.is_empty() {
                break;
            }
        }
        Ok(current)
    }

    /// Whether a relative path exists inside the dump (a folder, unless it is the last
    /// component).
    fn exists_inside(&self, rel: &str, last: bool) -> bool {
        match self.root.resolve(rel) {
            Ok(Some(p)) => last || p.is_dir(),
            _ => false,
        }
    }

    fn located(&self, path: PathBuf, id: &str, domain: &str, rel: &str) -> Located {
        Located {
            path,
            stored: format!("{}/{id}", id.get(..2).unwrap_or_default()),
            logical: format!("{domain}/{rel}"),
            domain: Some(domain.to_owned()),
            relative_path: Some(rel.to_owned()),
            file_id: Some(id.to_owned()),
        }
    }

    /// Registers a located file in the evidence log (hashing it) and returns its citation.
    pub fn register(&self, located: &Located) -> Result<Arc<EvidenceFile>, EvidenceError> {
        self.log
            .register(&located.path, &located.stored, &located.logical)
    }

    /// Opens a located SQLite database read-only, with its `-wal`/`-journal` when the backup
    /// has them (they are separate backup files, found by their own fileIDs).
    pub fn open_db(
        &self,
        located: &Located,
    ) -> Result<(Database, Arc<EvidenceFile>), EvidenceError> {
        let file = self.register(located)?;
        let mut files = DbFiles {
            main: located.path.clone(),
            wal: None,
            journal: None,
        };
        if self.kind == IosKind::FileSystem {
            let beside = DbFiles::beside(&located.path);
            for side in [&beside.wal, &beside.journal].into_iter().flatten() {
                let name = side
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let rel = match located.stored.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{name}"),
                    None => name,
                };
                if let Some(p) = self.root.resolve(&rel)? {
                    self.register(&self.located_fs(p, &rel))?;
                }
            }
            files.wal = beside.wal;
            files.journal = beside.journal;
        } else if let (Some(domain), Some(rel)) = (&located.domain, &located.relative_path) {
            for (suffix, slot) in [("-wal", &mut files.wal), ("-journal", &mut files.journal)] {
                let side_rel = format!("{rel}{suffix}");
                let id = backup_file_id(domain, &side_rel);
                if let Some(p) = self.blob_path(&id)?
                    && std::fs::metadata(&p).is_ok_and(|m| m.len() > 0)
                {
                    let side = self.located(p.clone(), &id, domain, &side_rel);
                    self.register(&side)?;
                    *slot = Some(p);
                }
            }
        }
        let db = sqlite::open(&files, &self.limits)?;
        if let Some((have, want)) = db.truncated() {
            self.log.note(bridle_model::Problem::file(
                bridle_model::ProblemKind::Partial,
                located.logical.clone(),
                format!(
                    "truncated: {have} bytes of the {want} its header declares; rows on the missing pages cannot be read"
                ),
            ));
        }
        Ok((db, file))
    }

    /// Reads a located plist.
    pub fn read_plist(
        &self,
        located: &Located,
    ) -> Result<(plist::Value, Arc<EvidenceFile>), EvidenceError> {
        let file = self.register(located)?;
        let value = plist_json::read_plist(&located.path, &self.limits)?;
        Ok((value, file))
    }

    /// A clear-text file at the backup's root (Info.plist, Status.plist).
    pub fn root_file(&self, name: &str) -> Result<Option<Located>, EvidenceError> {
        Ok(self.root.resolve(name)?.map(|path| Located {
            path,
            stored: name.to_owned(),
            logical: name.to_owned(),
            domain: None,
            relative_path: None,
            file_id: None,
        }))
    }
}

/// Matches a name against a pattern where `*` is any run of characters.
fn wildcard(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == name;
    };
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let pieces: Vec<&str> = parts.collect();
    let Some((last, middle)) = pieces.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Turns a `*` pattern into a LIKE pattern, escaping LIKE's own wildcards.
fn like_pattern(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        match c {
            '*' => out.push('%'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_ids_match_mvt_table() {
        assert_eq!(
            backup_file_id("HomeDomain", "Library/SMS/sms.db"),
            "3d0d7e5fb2ce288813306e4d4636395e047a3d28"
        );
        assert_eq!(
            backup_file_id(
                "AppDomainGroup-group.net.whatsapp.WhatsApp.shared",
                "LID.sqlite"
            ),
            "e794f6ffcc3c222535f47684a63d5178da3c4500"
        );
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", "anything"));
        assert!(wildcard("shutdown.*.log", "shutdown.0.log"));
        assert!(!wildcard("shutdown.*.log", "shutdown.log"));
        assert!(wildcard(
            "Analytics-Journal-*.ips",
            "Analytics-Journal-2024-01-01-000000.ips"
        ));
        assert!(wildcard("a*b*c", "axxbyyc"));
        assert!(!wildcard("a*b*c", "axxbyy"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "exact2"));
    }

    #[test]
    fn like_escapes() {
        assert_eq!(
            like_pattern("Library/Safari/Profiles/*/History.db"),
            "Library/Safari/Profiles/%/History.db"
        );
        assert_eq!(like_pattern("a_b%"), "a\\_b\\%");
    }
}
