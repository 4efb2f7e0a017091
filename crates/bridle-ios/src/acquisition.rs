use crate::sysdiagnose::SysdiagnoseName;
use crate::tree::FileNameIndex;
use bridle_evidence::sqlite::{self, Database, DbFiles, RowsRead};
use bridle_evidence::{EvidenceError, EvidenceLog, Limits, Root, plist_json};
use bridle_model::EvidenceFile;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// What kind of iOS acquisition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IosKind {
    /// An iTunes/Finder backup (hashed file names indexed by Manifest.db).
    Backup,
    /// A full filesystem dump: the device's tree, rooted where `private/var` is.
    FileSystem,
    /// An unpacked sysdiagnose archive: the folder `sysdiagnose_<date>_<zone>_<device>_<build>`.
    Sysdiagnose,
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
    /// Not a sysdiagnose folder (and no single sub-folder is one).
    #[error(
        "{path}: does not look like an unpacked sysdiagnose (no sysdiagnose.log, ps.txt, remotectl_dumpstate.txt, system_logs.logarchive or crashes_and_spins)"
    )]
    NotASysdiagnose {
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
    /// The password or key does not unlock the backup.
    #[error("{path}: {reason}")]
    Unlock {
        /// The backup folder.
        path: PathBuf,
        /// Why.
        reason: crate::encrypted::UnlockFailure,
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
    /// Where the readable bytes are: the file itself, or for an encrypted backup its
    /// decrypted copy in a private temporary folder.
    pub path: PathBuf,
    /// The file in the acquisition as it is on disk (what evidence citations hash): the same
    /// as `path` except in an encrypted backup, where it is the encrypted blob.
    pub evidence_path: PathBuf,
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
    /// Files (flags 1) in one domain whose relative path matches a pattern (`*` = any
    /// characters).
    FilesIn(&'a str, &'a str),
}

/// A read-only view of an iOS acquisition, shared by all modules of a run.
#[derive(Debug)]
pub struct Ios {
    kind: IosKind,
    root: Root,
    log: EvidenceLog,
    limits: Limits,
    pub(crate) manifest: Result<PathBuf, String>,
    fast: bool,
    /// Built on first use by whichever module asks first, then shared (DataUsage and
    /// netusage both search for process binaries).
    file_names: OnceLock<FileNameIndex>,
    sysdiagnose: Option<SysdiagnoseName>,
    /// The private folder an archive was unpacked into; removed when the view is dropped.
    unpacked: Option<std::sync::Arc<tempfile::TempDir>>,
    /// For an encrypted backup: the unlocked keys and the decrypted files.
    pub(crate) decryptor: Option<Arc<crate::encrypted::Decryptor>>,
}

impl Ios {
    /// Opens a backup folder (or the parent of exactly one backup folder).
    ///
    /// An encrypted backup is refused with [`OpenError::Encrypted`]. A missing or unreadable
    /// Manifest.db is not fatal: modules that find their files by fileID still run, and the
    /// ones that need the Manifest report the problem.
    pub fn open_backup(path: &Path, log: EvidenceLog, limits: Limits) -> Result<Ios, OpenError> {
        Self::open_backup_with(path, log, limits, None)
    }

    /// Opens a backup, unlocking it with `key` when it is encrypted. An encrypted backup
    /// without a key is [`OpenError::Encrypted`]; a wrong key is [`OpenError::Unlock`] with
    /// [`crate::encrypted::UnlockFailure::WrongPassword`].
    pub fn open_backup_with(
        path: &Path,
        log: EvidenceLog,
        limits: Limits,
        key: Option<crate::encrypted::BackupKey>,
    ) -> Result<Ios, OpenError> {
        let dir = find_backup_root(path)?;
        let root = Root::new(&dir)?;
        let manifest_plist = dir.join("Manifest.plist");
        let mut encrypted = false;
        if manifest_plist.is_file() {
            let plist = plist_json::read_plist(&manifest_plist, &limits)?;
            log.register(&manifest_plist, "Manifest.plist", "Manifest.plist")?;
            encrypted = matches!(
                plist_json::get(&plist, "IsEncrypted"),
                Some(plist::Value::Boolean(true))
            );
        }
        let (manifest, decryptor) = if encrypted {
            let Some(key) = key else {
                return Err(OpenError::Encrypted { path: dir });
            };
            let bytes =
                plist_json::read_capped(&manifest_plist, limits.max_plist_bytes, "a plist")?;
            let db = dir.join("Manifest.db");
            log.register(&db, "Manifest.db", "Manifest.db")?;
            let (d, plain) =
                crate::encrypted::Decryptor::unlock(&bytes, &db, key).map_err(|reason| {
                    OpenError::Unlock {
                        path: dir.clone(),
                        reason,
                    }
                })?;
            (Ok(plain), Some(Arc::new(d)))
        } else {
            (Self::check_manifest(&dir, &log), None)
        };
        Ok(Ios {
            kind: IosKind::Backup,
            root,
            log,
            limits,
            manifest,
            fast: false,
            file_names: OnceLock::new(),
            sysdiagnose: None,
            unpacked: None,
            decryptor,
        })
    }

    /// Whether this is an encrypted backup (read through its decrypted copies).
    pub fn is_encrypted(&self) -> bool {
        self.decryptor.is_some()
    }

    /// A backup file by fileID, domain and relative path, when its blob is in the backup
    /// (decrypted first in an encrypted backup).
    pub fn backup_file(
        &self,
        file_id: &str,
        domain: &str,
        rel: &str,
    ) -> Result<Option<Located>, EvidenceError> {
        match self.blob_path(file_id)? {
            Some(path) => self.located(path, file_id, domain, rel).map(Some),
            None => Ok(None),
        }
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
            fast: false,
            file_names: OnceLock::new(),
            sysdiagnose: None,
            unpacked: None,
            decryptor: None,
        })
    }

    /// Opens an unpacked sysdiagnose folder (or the folder holding exactly one). The device's
    /// UTC offset and build come from the folder's name, or from the archive name
    /// `sysdiagnose.log` records; [`Ios::with_sysdiagnose_name`] overrides them (for a
    /// renamed folder, or an archive presented as a tree).
    pub fn open_sysdiagnose(
        path: &Path,
        log: EvidenceLog,
        limits: Limits,
    ) -> Result<Ios, OpenError> {
        let dir = crate::sysdiagnose::find_sysdiagnose_root(path).ok_or_else(|| {
            OpenError::NotASysdiagnose {
                path: path.to_path_buf(),
            }
        })?;
        let root = Root::new(&dir)?;
        let sysdiagnose = crate::sysdiagnose::name_of(&dir);
        Ok(Ios {
            kind: IosKind::Sysdiagnose,
            root,
            log,
            limits,
            manifest: Err("a sysdiagnose has no Manifest.db".into()),
            fast: false,
            file_names: OnceLock::new(),
            sysdiagnose,
            unpacked: None,
            decryptor: None,
        })
    }

    /// Opens an iOS acquisition held in an archive (`.tar`, `.tar.gz`, `.zip`): a filesystem
    /// dump, a sysdiagnose as the phone writes it, or a zipped backup. The archive is indexed
    /// with the archive caps (member names validated, bombs and oversized members refused,
    /// links never followed out), then unpacked once into a private temporary folder that
    /// lives as long as the view: SQLite needs files, and a tar.gz cannot seek. Skipped
    /// members are reported as problems; the archive itself is cited with its SHA-256.
    pub fn open_archive(
        path: &Path,
        log: EvidenceLog,
        limits: Limits,
        archive_limits: bridle_evidence::archive::ArchiveLimits,
    ) -> Result<Ios, OpenError> {
        let name = path.file_name().map_or_else(
            || "archive".to_owned(),
            |n| n.to_string_lossy().into_owned(),
        );
        let arch = |e: bridle_evidence::archive::ArchiveError| {
            OpenError::Evidence(EvidenceError::Malformed {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        };
        log.register(path, &name, &name)?;
        let tree = bridle_evidence::archive::Tree::open_with(path, archive_limits).map_err(arch)?;
        for p in tree.problems() {
            log.note(p.clone());
        }
        let tmp = tempfile::Builder::new()
            .prefix("bridle-unpacked-")
            .tempdir()
            .map_err(|e| EvidenceError::Io {
                path: std::env::temp_dir(),
                source: e,
            })?;
        tree.unpack_to(tmp.path()).map_err(arch)?;
        let unpacked = Some(std::sync::Arc::new(tmp));
        let dir = unpacked
            .as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default();
        let mut ios = if find_dump_root(&dir).is_some() {
            Ios::open_fs(&dir, log, limits)?
        } else if crate::sysdiagnose::find_sysdiagnose_root(&dir).is_some() {
            let ios = Ios::open_sysdiagnose(&dir, log, limits)?;
            match (
                ios.sysdiagnose.is_none(),
                crate::sysdiagnose::parse_sysdiagnose_name(&name),
            ) {
                (true, Some(n)) => ios.with_sysdiagnose_name(n),
                _ => ios,
            }
        } else if find_backup_root(&dir).is_ok() {
            Ios::open_backup(&dir, log, limits)?
        } else {
            return Err(OpenError::NotADump {
                path: path.to_path_buf(),
            });
        };
        ios.unpacked = unpacked;
        Ok(ios)
    }

    /// The same view in MVT's `--fast` mode: the filesystem module skips its process-name
    /// check of path components and DataUsage/netusage skip the search for process binaries.
    #[must_use]
    pub fn with_fast(mut self, fast: bool) -> Self {
        self.fast = fast;
        self
    }

    /// Whether `--fast` was asked.
    pub fn fast(&self) -> bool {
        self.fast
    }

    /// The same view with the sysdiagnose's name given (the archive's file name when the
    /// archive is read as a tree, or a folder renamed by someone).
    #[must_use]
    pub fn with_sysdiagnose_name(mut self, name: SysdiagnoseName) -> Self {
        self.sysdiagnose = Some(name);
        self
    }

    /// What the sysdiagnose's name says (UTC offset, creation time, build), when known.
    pub fn sysdiagnose_name(&self) -> Option<&SysdiagnoseName> {
        self.sysdiagnose.as_ref()
    }

    /// The index of file names of a filesystem dump, built by one walk on first use and
    /// shared afterwards; `None` for other acquisitions (a backup or a sysdiagnose does not
    /// hold the device's binaries, so "binary not found" means nothing there).
    pub fn file_names(&self) -> Option<&FileNameIndex> {
        (self.kind == IosKind::FileSystem)
            .then(|| self.file_names.get_or_init(|| FileNameIndex::build(self)))
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
        if let ManifestFilter::FilesIn(domain, pattern) = filter {
            let sql = format!(
                "SELECT {cols} FROM Files WHERE domain = ?1 AND relativePath LIKE ?2 ESCAPE '\\' \
                 AND flags = 1 ORDER BY rowid"
            );
            let read = sqlite::for_each_row(
                db.conn(),
                &sql,
                [domain.to_owned(), like_pattern(pattern)],
                |r| f(manifest_row(r)),
            );
            return Ok(read);
        }
        let (clause, arg) = match filter {
            ManifestFilter::All => ("", None),
            ManifestFilter::RelativePath(p) => (" WHERE relativePath = ?1", Some(p.to_owned())),
            ManifestFilter::RelativePathLike(p) => (
                " WHERE relativePath LIKE ?1 ESCAPE '\\'",
                Some(like_pattern(p)),
            ),
            ManifestFilter::Domain(d) => (" WHERE domain = ?1", Some(d.to_owned())),
            ManifestFilter::FilesIn(..) => ("", None),
        };
        let sql = format!("SELECT {cols} FROM Files{clause} ORDER BY rowid");
        let mut on_row = |r: &rusqlite::Row<'_>| f(manifest_row(r));
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
        match self.kind {
            IosKind::FileSystem => return self.find(locations.fs),
            // A sysdiagnose holds none of the device's databases; its modules name their own
            // paths and call `find`.
            IosKind::Sysdiagnose => return Ok(Vec::new()),
            IosKind::Backup => {}
        }
        let mut out: Vec<Located> = Vec::new();
        for (domain, rel) in locations.backup {
            let id = backup_file_id(domain, rel);
            if let Some(path) = self.blob_path(&id)? {
                out.push(self.located(path, &id, domain, rel)?);
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
                    out.push(self.located(path, &r.file_id, &r.domain, &r.relative_path)?);
                }
            }
        }
        Ok(out)
    }

    /// Every file matching glob patterns relative to the root of a folder acquisition (a
    /// dump or a sysdiagnose), in pattern order, each pattern's matches in name order,
    /// without duplicates. Folders are not returned.
    pub fn find(&self, patterns: &[&str]) -> Result<Vec<Located>, EvidenceError> {
        let mut out: Vec<Located> = Vec::new();
        for pattern in patterns {
            for rel in self.glob(pattern)? {
                if out.iter().any(|l| l.stored == rel) {
                    continue;
                }
                match self.root.resolve(&rel) {
                    Ok(Some(path)) if path.is_file() => out.push(self.located_fs(path, &rel)),
                    // A link leaving the acquisition is not followed, not an error.
                    Ok(_) | Err(EvidenceError::Escapes { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(out)
    }

    /// A file of a folder acquisition at a path relative to the root. Its logical path is
    /// the device path (`/private/var/...`) in a dump, and `<sysdiagnose folder>/<path>` in
    /// a sysdiagnose (as the archive names it).
    pub fn located_fs(&self, path: PathBuf, rel: &str) -> Located {
        let logical = match self.kind {
            IosKind::Sysdiagnose => {
                let top = self
                    .sysdiagnose
                    .as_ref()
                    .map(|n| n.name.clone())
                    .or_else(|| {
                        self.root
                            .path()
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                    })
                    .unwrap_or_default();
                if top.is_empty() {
                    rel.to_owned()
                } else {
                    format!("{top}/{rel}")
                }
            }
            _ => format!("/{rel}"),
        };
        Located {
            evidence_path: path.clone(),
            path,
            stored: rel.to_owned(),
            logical,
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

    pub(crate) fn located(
        &self,
        path: PathBuf,
        id: &str,
        domain: &str,
        rel: &str,
    ) -> Result<Located, EvidenceError> {
        let readable = match (&self.decryptor, &self.manifest) {
            (Some(d), Ok(manifest)) => d.plaintext(manifest, id, &path)?,
            _ => path.clone(),
        };
        Ok(Located {
            path: readable,
            evidence_path: path,
            stored: format!("{}/{id}", id.get(..2).unwrap_or_default()),
            logical: format!("{domain}/{rel}"),
            domain: Some(domain.to_owned()),
            relative_path: Some(rel.to_owned()),
            file_id: Some(id.to_owned()),
        })
    }

    /// Registers a located file in the evidence log (hashing it) and returns its citation.
    pub fn register(&self, located: &Located) -> Result<Arc<EvidenceFile>, EvidenceError> {
        self.log
            .register(&located.evidence_path, &located.stored, &located.logical)
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
        if self.kind != IosKind::Backup {
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
                    let side = self.located(p, &id, domain, &side_rel)?;
                    self.register(&side)?;
                    *slot = Some(side.path);
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
            evidence_path: path.clone(),
            path,
            stored: name.to_owned(),
            logical: name.to_owned(),
            domain: None,
            relative_path: None,
            file_id: None,
        }))
    }
}

fn manifest_row(r: &rusqlite::Row<'_>) -> ManifestRow {
    ManifestRow {
        file_id: crate::rows::text(r, 0).unwrap_or_default(),
        domain: crate::rows::text(r, 1).unwrap_or_default(),
        relative_path: crate::rows::text(r, 2).unwrap_or_default(),
        flags: r.get::<_, Option<i64>>(3).ok().flatten(),
        file: r.get::<_, Option<Vec<u8>>>(4).ok().flatten(),
        rowid: r.get::<_, i64>(5).unwrap_or_default(),
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
