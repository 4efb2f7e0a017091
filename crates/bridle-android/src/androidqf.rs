//! AndroidQF acquisitions: a folder or zip (optionally age-encrypted) with `packages.json`,
//! `getprop.txt`, `ps.txt`, `files.json`, `settings_*.txt`, `dumpsys.txt`... and, nested,
//! a `bugreport.zip`, a `backup.ab` and `intrusion_logs/`.

use crate::backup::Backup;
use crate::bugreport::Bugreport;
use crate::context::AcquisitionContext;
use crate::dumpstate::Dumpstate;
use crate::error::OpenError;
use crate::files::Files;
use crate::intrusion::IntrusionLogs;
use crate::parsers::simple::getprop_line;
use crate::tz::DeviceTz;
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::{ArchiveLimits, Tree, TreeKind};
use bridle_model::{ModuleError, ProblemKind};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use zeroize::Zeroizing;

/// Most bytes of getprop.txt read to find the time zone.
const MAX_GETPROP: u64 = 16 << 20;

/// How to open an acquisition.
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// Caps on the archives.
    pub limits: ArchiveLimits,
    /// The age identity file for an encrypted AndroidQF acquisition.
    pub age_identity: Option<PathBuf>,
    /// The password of an encrypted `.ab`.
    pub backup_password: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("limits", &self.limits)
            .field("age_identity", &self.age_identity)
            .field(
                "backup_password",
                &self.backup_password.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

type Lazy<T> = OnceLock<Result<Option<Arc<T>>, String>>;

/// An AndroidQF acquisition.
pub struct AndroidQf {
    files: Arc<Files>,
    tz: DeviceTz,
    context: AcquisitionContext,
    password: Option<Zeroizing<String>>,
    bugreport: Lazy<Bugreport>,
    backup: Lazy<Backup>,
    dumpsys: Lazy<Dumpstate>,
    intrusion: Lazy<IntrusionLogs>,
}

impl std::fmt::Debug for AndroidQf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AndroidQf")
            .field("files", &self.files)
            .field("tz", &self.tz)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

fn unreadable(what: &str, reason: String) -> ModuleError {
    ModuleError::Unreadable {
        file: what.to_owned(),
        reason,
    }
}

impl AndroidQf {
    /// Opens an AndroidQF folder, zip, or age-encrypted zip.
    pub fn open(
        path: &Path,
        log: EvidenceLog,
        options: &OpenOptions,
    ) -> Result<AndroidQf, OpenError> {
        let io = |e: std::io::Error| OpenError::Io {
            path: path.to_path_buf(),
            source: e,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let tree = if meta.is_dir() {
            Tree::open_with(path, options.limits)?
        } else {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            log.register(path, &name, &name)
                .map_err(|e| io(std::io::Error::other(e.to_string())))?;
            let mut head = [0u8; 64];
            let n = std::fs::File::open(path)
                .and_then(|mut f| f.read(&mut head))
                .map_err(io)?;
            if crate::age_file::is_age(head.get(..n).unwrap_or_default()) {
                let Some(identity) = &options.age_identity else {
                    return Err(OpenError::AgeIdentityNeeded {
                        path: path.to_path_buf(),
                    });
                };
                let temp = crate::age_file::decrypt_to_temp(
                    path,
                    identity,
                    options.limits.max_total_size,
                )?;
                Tree::from_temp(format!("{name} (decrypted)"), temp, options.limits)?
            } else {
                Tree::open_with(path, options.limits)?
            }
        };
        if tree.kind() == TreeKind::Tar || tree.kind() == TreeKind::TarGz {
            return Err(OpenError::NotRecognised {
                path: path.to_path_buf(),
                reason: "a tar archive, not an AndroidQF folder or zip".into(),
            });
        }
        Ok(AndroidQf::from_files(
            Arc::new(Files::new(tree, log, "")),
            options.backup_password.clone(),
        ))
    }

    /// An AndroidQF acquisition over an opened tree.
    pub fn from_files(files: Arc<Files>, password: Option<Zeroizing<String>>) -> AndroidQf {
        let tz = device_tz(&files);
        let context = AcquisitionContext::read(&files);
        AndroidQf {
            files,
            tz,
            context,
            password,
            bugreport: OnceLock::new(),
            backup: OnceLock::new(),
            dumpsys: OnceLock::new(),
            intrusion: OnceLock::new(),
        }
    }

    /// Its files.
    pub fn files(&self) -> &Arc<Files> {
        &self.files
    }

    /// The device's time zone (`persist.sys.timezone` in getprop.txt).
    pub fn tz(&self) -> &DeviceTz {
        &self.tz
    }

    /// What acquisition.json says.
    pub fn context(&self) -> &AcquisitionContext {
        &self.context
    }

    /// The first member whose name ends with `suffix` (MVT's `endswith`), by name.
    fn ending_with(&self, suffix: &str) -> Option<String> {
        self.files
            .tree()
            .files()
            .find(|e| e.name.ends_with(suffix))
            .map(|e| e.name.clone())
    }

    /// The nested `bugreport.zip`, opened once.
    pub fn bugreport(&self) -> Result<Option<Arc<Bugreport>>, ModuleError> {
        self.bugreport
            .get_or_init(|| {
                let Some(name) = self.ending_with("bugreport.zip") else {
                    return Ok(None);
                };
                let tree = self
                    .files
                    .tree()
                    .open_nested(&name)
                    .map_err(|e| e.to_string())?;
                let files = Arc::new(Files::new(
                    tree,
                    self.files.log().clone(),
                    format!("{}!/", self.files.stored(&name)),
                ));
                Ok(Some(Arc::new(Bugreport::from_files(
                    files,
                    Some(self.context.clone()),
                    self.tz.clone(),
                ))))
            })
            .clone()
            .map_err(|r| unreadable("bugreport.zip", r))
    }

    /// The nested `backup.ab`.
    pub fn backup(&self) -> Result<Option<Arc<Backup>>, ModuleError> {
        self.backup
            .get_or_init(|| {
                Ok(self.ending_with("backup.ab").map(|name| {
                    Arc::new(Backup::from_member(
                        Arc::clone(&self.files),
                        &name,
                        self.password.clone(),
                    ))
                }))
            })
            .clone()
            .map_err(|r| unreadable("backup.ab", r))
    }

    /// AndroidQF's `dumpsys.txt`, indexed by section (MVT collects it and never reads it).
    pub fn dumpsys(&self) -> Result<Option<Arc<Dumpstate>>, ModuleError> {
        self.dumpsys
            .get_or_init(|| {
                let Some(entry) = self.files.find("dumpsys.txt") else {
                    return Ok(None);
                };
                let name = entry.name.clone();
                Dumpstate::index(Arc::clone(&self.files), &name, &self.tz)
                    .map(|d| {
                        for p in d.problems() {
                            self.files.log().note(p.clone());
                        }
                        Some(Arc::new(d))
                    })
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|r| unreadable("dumpsys.txt", r))
    }

    /// The logs under `intrusion_logs/`.
    pub fn intrusion_logs(&self) -> Result<Option<Arc<IntrusionLogs>>, ModuleError> {
        self.intrusion
            .get_or_init(|| {
                let members: Vec<String> = self
                    .files
                    .under("intrusion_logs")
                    .into_iter()
                    .map(|e| e.name.clone())
                    .collect();
                let logs =
                    IntrusionLogs::from_members(Arc::clone(&self.files), members, self.tz.clone());
                Ok((!logs.is_empty()).then(|| Arc::new(logs)))
            })
            .clone()
            .map_err(|r| unreadable("intrusion_logs", r))
    }
}

/// `persist.sys.timezone` from the first getprop.txt.
fn device_tz(files: &Files) -> DeviceTz {
    let Some(entry) = files.find("getprop.txt") else {
        return DeviceTz::unknown();
    };
    let name = entry.name.clone();
    let Ok((bytes, _)) = files.read(&name, MAX_GETPROP) else {
        return DeviceTz::unknown();
    };
    let tz = crate::text::lines(&bytes)
        .filter_map(|l| getprop_line(&l.text))
        .find(|p| p.name == "persist.sys.timezone")
        .map_or_else(DeviceTz::unknown, |p| DeviceTz::from_name(&p.value));
    if tz.is_unresolved() {
        files.log().note(files.problem(
            ProblemKind::Partial,
            &name,
            format!(
                "persist.sys.timezone `{}` is not a known time zone; device wall times are read as UTC",
                tz.name().unwrap_or_default()
            ),
        ));
    }
    tz
}
