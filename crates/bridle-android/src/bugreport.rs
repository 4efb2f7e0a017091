//! Android bugreports: a zip (or its unzipped folder) holding the dumpstate text, `FS/`
//! copies of device files, and tombstones.

use crate::context::AcquisitionContext;
use crate::dumpstate::Dumpstate;
use crate::error::OpenError;
use crate::files::Files;
use crate::tz::DeviceTz;
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::{ArchiveLimits, Tree, TreeKind};
use bridle_model::ModuleError;
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Most bytes of `main_entry.txt` read.
const MAX_MAIN_ENTRY: u64 = 4096;

/// A bugreport, on its own or nested in an AndroidQF acquisition.
#[derive(Debug)]
pub struct Bugreport {
    files: Arc<Files>,
    context: Option<AcquisitionContext>,
    fallback_tz: DeviceTz,
    dumpstate: OnceLock<Result<Option<Arc<Dumpstate>>, String>>,
}

impl Bugreport {
    /// Opens a bugreport zip or folder.
    pub fn open(
        path: &Path,
        log: EvidenceLog,
        limits: ArchiveLimits,
    ) -> Result<Bugreport, OpenError> {
        let tree = Tree::open_with(path, limits)?;
        if tree.kind() != TreeKind::Folder {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            log.register(path, &name, &name)
                .map_err(|e| OpenError::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::other(e.to_string()),
                })?;
        }
        Ok(Bugreport::from_files(
            Arc::new(Files::new(tree, log, "")),
            None,
            DeviceTz::unknown(),
        ))
    }

    /// A bugreport over an already opened tree (a nested `bugreport.zip`), with the
    /// AndroidQF acquisition's context and time zone.
    pub fn from_files(
        files: Arc<Files>,
        context: Option<AcquisitionContext>,
        fallback_tz: DeviceTz,
    ) -> Bugreport {
        Bugreport {
            files,
            context,
            fallback_tz,
            dumpstate: OnceLock::new(),
        }
    }

    /// Its files.
    pub fn files(&self) -> &Arc<Files> {
        &self.files
    }

    /// The AndroidQF acquisition context, when the bugreport came with one.
    pub fn context(&self) -> Option<&AcquisitionContext> {
        self.context.as_ref()
    }

    /// The device's time zone: the dumpstate's, else the acquisition's.
    pub fn tz(&self) -> DeviceTz {
        match self.dumpstate() {
            Ok(Some(d)) => d.tz().clone(),
            _ => self.fallback_tz.clone(),
        }
    }

    /// The member holding the dumpstate, found as MVT does: the name in `main_entry.txt`,
    /// else the first `dumpState_*.log`, else the first `*/dumpsys.txt`.
    pub fn dumpstate_member(&self) -> Result<Option<String>, String> {
        let tree = self.files.tree();
        if let Some(main) = tree.glob("main_entry.txt").first() {
            let (bytes, _) = self
                .files
                .read(&main.name, MAX_MAIN_ENTRY)
                .map_err(|e| e.to_string())?;
            let named = String::from_utf8_lossy(&bytes).trim().to_owned();
            return Ok(tree
                .entry(&named)
                .filter(|e| e.is_file())
                .map(|e| e.name.clone()));
        }
        if let Some(e) = tree
            .glob("dumpState_*.log")
            .into_iter()
            .find(|e| e.is_file())
        {
            return Ok(Some(e.name.clone()));
        }
        Ok(tree
            .glob("*/dumpsys.txt")
            .into_iter()
            .find(|e| e.is_file())
            .map(|e| e.name.clone()))
    }

    /// The indexed dumpstate (indexed once, on first use).
    pub fn dumpstate(&self) -> Result<Option<Arc<Dumpstate>>, ModuleError> {
        self.dumpstate
            .get_or_init(|| {
                let Some(member) = self.dumpstate_member()? else {
                    return Ok(None);
                };
                Dumpstate::index(Arc::clone(&self.files), &member, &self.fallback_tz)
                    .map(|d| {
                        for p in d.problems() {
                            self.files.log().note(p.clone());
                        }
                        Some(Arc::new(d))
                    })
                    .map_err(|e| e.to_string())
            })
            .clone()
            .map_err(|reason| ModuleError::Unreadable {
                file: self.files.stored("(dumpstate)"),
                reason,
            })
    }
}
