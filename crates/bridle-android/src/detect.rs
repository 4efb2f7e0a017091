//! Telling Android acquisition kinds apart by their content.

use bridle_evidence::archive::{ArchiveLimits, Entry, Tree, fnmatch};
use std::io::Read;
use std::path::Path;

/// The kinds of Android acquisition bridle reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AndroidKind {
    /// An AndroidQF folder or zip.
    AndroidQf,
    /// An AndroidQF zip encrypted with age (`.zip.age`).
    AndroidQfAge,
    /// A bugreport zip or folder.
    Bugreport,
    /// An `adb backup` file (`.ab`).
    Backup,
    /// An unpacked backup folder (holding `apps/`).
    BackupFolder,
    /// A folder or zip of intrusion logs.
    IntrusionLogs,
}

impl AndroidKind {
    /// A short name (`android_androidqf`...), for `info.json`.
    pub fn as_str(self) -> &'static str {
        match self {
            AndroidKind::AndroidQf => "android_androidqf",
            AndroidKind::AndroidQfAge => "android_androidqf_age",
            AndroidKind::Bugreport => "android_bugreport",
            AndroidKind::Backup => "android_backup",
            AndroidKind::BackupFolder => "android_backup_folder",
            AndroidKind::IntrusionLogs => "android_intrusion_logs",
        }
    }
}

/// Files only AndroidQF writes (any one at the root or one folder down marks it).
const AQF_MARKERS: [&str; 6] = [
    "packages.json",
    "root_binaries.json",
    "files.json",
    "acquisition.json",
    "getprop.txt",
    "ps.txt",
];

/// Small limits for a quick look.
fn peek_limits() -> ArchiveLimits {
    ArchiveLimits {
        max_folder_depth: 3,
        ..ArchiveLimits::default()
    }
}

fn depth(name: &str) -> usize {
    name.matches('/').count()
}

fn base(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

fn classify(tree: &Tree) -> Option<AndroidKind> {
    let shallow = |e: &&Entry| depth(&e.name) <= 1;
    if tree
        .files()
        .filter(shallow)
        .any(|e| AQF_MARKERS.contains(&base(&e.name)))
    {
        return Some(AndroidKind::AndroidQf);
    }
    if tree.entry("main_entry.txt").is_some()
        || tree
            .files()
            .any(|e| depth(&e.name) == 0 && fnmatch("dumpState_*.log", &e.name))
        || tree
            .files()
            .any(|e| depth(&e.name) == 0 && fnmatch("dumpstate-*.txt", &e.name))
    {
        return Some(AndroidKind::Bugreport);
    }
    if tree.entry("apps").is_some_and(Entry::is_dir) {
        return Some(AndroidKind::BackupFolder);
    }
    let logs = tree
        .files()
        .filter(|e| e.name.to_ascii_lowercase().ends_with(".txt"));
    for e in logs.take(8) {
        let Ok(mut r) = tree.open_file(&e.name) else {
            continue;
        };
        let mut head = vec![0u8; 4096];
        let n = r.read(&mut head).unwrap_or(0);
        let text = String::from_utf8_lossy(head.get(..n).unwrap_or_default()).into_owned();
        let first = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        if crate::intrusion::KNOWN_EVENT_TYPES
            .iter()
            .any(|t| first.starts_with(&format!("{{\"{t}\"")))
        {
            return Some(AndroidKind::IntrusionLogs);
        }
    }
    if tree.files().any(|e| e.name.contains("intrusion_logs/")) {
        return Some(AndroidKind::IntrusionLogs);
    }
    None
}

/// What kind of Android acquisition `path` is, if any: by the first bytes of a file (`.ab`
/// header, age header, zip), and by the names inside a folder or zip.
pub fn detect(path: &Path) -> Option<AndroidKind> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        let mut head = [0u8; 64];
        let n = std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .ok()?;
        let head = head.get(..n)?;
        if head.starts_with(crate::backup::AB_MAGIC) {
            return Some(AndroidKind::Backup);
        }
        if crate::age_file::is_age(head) {
            return Some(AndroidKind::AndroidQfAge);
        }
        if !head.starts_with(b"PK") {
            return None;
        }
    }
    let tree = Tree::open_with(path, peek_limits()).ok()?;
    classify(&tree)
}
