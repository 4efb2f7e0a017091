//! The loaded indicator set: files, indicators, conjunctive clauses, and the problems met
//! while loading.

use crate::kind::IndicatorKind;
use crate::normalize;
use crate::pattern::{self, MAX_DNF_CLAUSES, PatternError};
use crate::stix;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest indicator file read, in bytes. The largest public feed is about 2 MiB.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Most indicator files loaded in one set.
pub const MAX_FILES: usize = 10_000;
/// Deepest folder level searched below a source folder.
pub const MAX_FOLDER_DEPTH: usize = 16;

/// Position of an [`Indicator`] in its [`IndicatorSet`] (load order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndicatorId(pub(crate) usize);

impl IndicatorId {
    /// The position in [`IndicatorSet::indicators`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// Position of a [`Clause`] in its [`IndicatorSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClauseId(pub(crate) usize);

impl ClauseId {
    /// The position in [`IndicatorSet::clauses`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// One comparison of one STIX indicator: a value of one kind to look for.
///
/// A pattern with `OR` gives several indicators with the same `stix_id`; a conjunctive
/// clause (`AND`) gives one indicator per comparison, all pointing at the same [`Clause`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    /// The STIX `indicator--…` id.
    pub stix_id: String,
    /// The whole STIX pattern it came from.
    pub pattern: String,
    /// What kind of value it is.
    pub kind: IndicatorKind,
    /// The value as written in the pattern (escapes resolved).
    pub value: String,
    /// The value in the form the matcher compares (`docs/matching.md`).
    pub normalized: String,
    /// Malware, report or collection names, most specific first; never empty (an indicator
    /// attached to nothing gets its file's base name, like MVT's default collection).
    pub names: Arc<[String]>,
    /// Position of its file in [`IndicatorSet::files`].
    pub file: usize,
    /// The conjunctive clause it is part of, when its pattern needs several comparisons
    /// to hold in the same record.
    pub clause: Option<ClauseId>,
}

impl Indicator {
    /// The primary name (the first of [`Self::names`]).
    pub fn name(&self) -> &str {
        self.names.first().map_or("", String::as_str)
    }

    /// The bucket name ([`IndicatorKind::bucket`]).
    pub fn bucket(&self) -> &'static str {
        self.kind.bucket()
    }
}

/// A conjunction of comparisons that must all be matched by observables of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// The STIX indicator it came from.
    pub stix_id: String,
    /// Its comparisons, each an [`Indicator`].
    pub members: Vec<IndicatorId>,
}

/// A loaded indicator file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorFile {
    /// The path as given or found.
    pub path: PathBuf,
    /// Base name (what alerts cite as `stix2_file_name`).
    pub name: String,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Indicators (comparisons) loaded from it.
    pub indicators: usize,
    /// STIX indicator objects used.
    pub stix_indicators: usize,
    /// STIX indicator objects skipped (each has a [`LoadProblem`]).
    pub skipped: usize,
}

/// What went wrong with a file or an indicator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadProblemKind {
    /// The file or folder could not be read.
    #[error("cannot read: {0}")]
    Read(String),
    /// The file is over [`MAX_FILE_BYTES`].
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// More than [`MAX_FILES`] files.
    #[error("more than {limit} indicator files; the rest were not loaded")]
    TooManyFiles {
        /// The limit.
        limit: usize,
    },
    /// Not JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not a STIX bundle.
    #[error("not a STIX bundle: {0}")]
    NotBundle(String),
    /// More objects than [`stix::MAX_OBJECTS`]; the rest were ignored.
    #[error("more than {limit} objects; the rest were ignored")]
    TooManyObjects {
        /// The limit.
        limit: usize,
    },
    /// An indicator object without an `id`.
    #[error("indicator #{ordinal} has no id")]
    MissingId {
        /// Position among the file's objects.
        ordinal: usize,
    },
    /// An indicator without a `pattern`.
    #[error("indicator has no pattern")]
    MissingPattern,
    /// `pattern_type` other than `stix`.
    #[error("pattern_type {0:?} is not supported (only \"stix\")")]
    UnsupportedPatternType(String),
    /// The indicator is marked `revoked`.
    #[error("indicator is revoked")]
    Revoked,
    /// The pattern cannot be parsed or used.
    #[error("pattern {pattern:?}: {error}")]
    Pattern {
        /// The pattern text.
        pattern: String,
        /// Why.
        error: PatternError,
    },
    /// A comparison on an object path bridle does not match.
    #[error("unsupported key {key} in pattern {pattern:?}")]
    UnsupportedKey {
        /// The object path.
        key: String,
        /// The pattern text.
        pattern: String,
    },
    /// A value that cannot be of its kind (a bad IP, a hash of the wrong length...).
    #[error("invalid value {value:?} for {key}: {reason}")]
    InvalidValue {
        /// The object path.
        key: String,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

/// A problem met while loading: the load goes on without the file or indicator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// The file (or folder) concerned.
    pub path: PathBuf,
    /// The STIX id of the indicator concerned, for indicator-level problems.
    pub stix_id: Option<String>,
    /// What went wrong.
    pub kind: LoadProblemKind,
}

impl fmt::Display for LoadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(id) = &self.stix_id {
            write!(f, ": {id}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for LoadProblem {}

/// The result of loading: the set, and everything that could not be used.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// What was loaded.
    pub set: IndicatorSet,
    /// What was skipped, and why, in load order.
    pub problems: Vec<LoadProblem>,
}

/// Indicators loaded from STIX 2.1 files, in a stable order: files in the order given
/// (folders sorted by name), then objects in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndicatorSet {
    pub(crate) files: Vec<IndicatorFile>,
    pub(crate) indicators: Vec<Indicator>,
    pub(crate) clauses: Vec<Clause>,
}

/// Per-file counts for listings (`bridle iocs list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary<'a> {
    /// The file.
    pub file: &'a IndicatorFile,
    /// Indicator counts by bucket, in [`IndicatorKind::BUCKETS`] order, non-zero only.
    pub counts: Vec<(&'static str, usize)>,
    /// The malware / report / collection names its indicators belong to, sorted, unique.
    pub names: Vec<String>,
}

impl IndicatorSet {
    /// Load indicator files and folders. A source is a file (any extension) or a folder,
    /// searched recursively for files ending in `.stix2` or `.json` (any case), in name
    /// order. The same file reached twice is loaded once. Never fails: whatever cannot be
    /// used is in [`LoadReport::problems`].
    pub fn load(sources: &[PathBuf]) -> LoadReport {
        let mut loader = Loader::default();
        for source in sources {
            loader.source(source);
        }
        loader.finish()
    }

    /// Load one bundle from bytes already in memory; `path` names it in the set and in
    /// problems.
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: &[u8]) -> LoadReport {
        let mut loader = Loader::default();
        loader.bytes(&path.into(), bytes.to_vec());
        loader.finish()
    }

    /// The loaded files.
    pub fn files(&self) -> &[IndicatorFile] {
        &self.files
    }

    /// All indicators, in load order.
    pub fn indicators(&self) -> &[Indicator] {
        &self.indicators
    }

    /// The conjunctive clauses.
    pub fn clauses(&self) -> &[Clause] {
        &self.clauses
    }

    /// One indicator.
    pub fn indicator(&self, id: IndicatorId) -> Option<&Indicator> {
        self.indicators.get(id.0)
    }

    /// The file an indicator came from.
    pub fn file_of(&self, id: IndicatorId) -> Option<&IndicatorFile> {
        self.indicator(id).and_then(|i| self.files.get(i.file))
    }

    /// The id of the indicator at `index` in [`Self::indicators`], if there is one.
    pub fn id(&self, index: usize) -> Option<IndicatorId> {
        (index < self.indicators.len()).then_some(IndicatorId(index))
    }

    /// What an alert needs to cite a match of `observable` on an indicator by `rule`.
    /// `None` when the id does not belong to this set.
    pub fn indicator_ref(
        &self,
        id: IndicatorId,
        observable: &bridle_model::Observable,
        rule: crate::MatchRule,
    ) -> Option<bridle_model::IndicatorRef> {
        let indicator = self.indicator(id)?;
        let file = self.files.get(indicator.file)?;
        Some(bridle_model::IndicatorRef {
            value: indicator.value.clone(),
            bucket: indicator.bucket().to_owned(),
            name: indicator.name().to_owned(),
            stix2_file_name: file.name.clone(),
            stix2_file_sha256: file.sha256.clone(),
            stix_id: indicator.stix_id.clone(),
            pattern: indicator.pattern.clone(),
            observable_kind: observable.kind,
            observable_value: observable.value.clone(),
            observable_field: observable.field.to_string(),
            match_rule: rule.as_str().to_owned(),
            also_in: Vec::new(),
        })
    }

    /// One clause.
    pub fn clause(&self, id: ClauseId) -> Option<&Clause> {
        self.clauses.get(id.0)
    }

    /// Number of indicators (comparisons).
    pub fn len(&self) -> usize {
        self.indicators.len()
    }

    /// Whether no indicator was loaded.
    pub fn is_empty(&self) -> bool {
        self.indicators.is_empty()
    }

    /// Indicator counts by bucket over the whole set, in [`IndicatorKind::BUCKETS`] order,
    /// non-zero only.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        bucket_counts(self.indicators.iter())
    }

    /// Per-file counts by bucket and names, in file order.
    pub fn summaries(&self) -> Vec<FileSummary<'_>> {
        self.files
            .iter()
            .enumerate()
            .map(|(index, file)| {
                let of_file = || self.indicators.iter().filter(move |i| i.file == index);
                let mut names: Vec<String> =
                    of_file().flat_map(|i| i.names.iter().cloned()).collect();
                names.sort();
                names.dedup();
                FileSummary {
                    file,
                    counts: bucket_counts(of_file()),
                    names,
                }
            })
            .collect()
    }
}

fn bucket_counts<'a>(
    indicators: impl Iterator<Item = &'a Indicator>,
) -> Vec<(&'static str, usize)> {
    let mut counts = [0usize; IndicatorKind::BUCKETS.len()];
    for indicator in indicators {
        if let Some(pos) = IndicatorKind::BUCKETS
            .iter()
            .position(|b| *b == indicator.bucket())
            && let Some(slot) = counts.get_mut(pos)
        {
            *slot = slot.saturating_add(1);
        }
    }
    IndicatorKind::BUCKETS
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(b, n)| (*b, n))
        .collect()
}

/// Normalise an indicator value of a kind, or say why it cannot be one.
pub(crate) fn normalize_value(kind: IndicatorKind, raw: &str) -> Result<String, &'static str> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("empty value");
    }
    if value.len() > normalize::MAX_VALUE_BYTES {
        return Err("value too long");
    }
    let hex = |len: usize, what: &'static str| normalize::hex_digest(value, len).ok_or(what);
    let cert = |len: usize, what: &'static str| {
        normalize::cert_digest(value)
            .filter(|d| d.len() == len)
            .ok_or(what)
    };
    match kind {
        IndicatorKind::Domain => {
            // `*.evil.com` means the subdomains of evil.com, which a domain indicator
            // matches anyway.
            let host = value.strip_prefix("*.").unwrap_or(value);
            match normalize::host(host, true) {
                Some(normalize::Host::Name(n)) => Ok(n),
                Some(normalize::Host::Ip(ip)) => Ok(ip.to_string()),
                None => Err("not a valid host name"),
            }
        }
        IndicatorKind::Ipv4 | IndicatorKind::Ipv6 => match normalize::ip_range(value) {
            Some((ip, len)) if u32::from(len) == max_prefix(ip) => Ok(ip.to_string()),
            Some((ip, len)) => Ok(format!("{ip}/{len}")),
            None => Err("not an IP address or CIDR range"),
        },
        IndicatorKind::Url => normalize::url(value)
            .normalized
            .ok_or("not a usable URL (no host, or a bad port)"),
        IndicatorKind::Email => normalize::email(value).ok_or("not an e-mail address"),
        IndicatorKind::Process | IndicatorKind::FileName => Ok(value.to_owned()),
        IndicatorKind::FilePath => normalize::file_path(value).ok_or("empty or root path"),
        IndicatorKind::FileMd5 => hex(32, "not an MD5 digest (32 hex digits)"),
        IndicatorKind::FileSha1 => hex(40, "not a SHA-1 digest (40 hex digits)"),
        IndicatorKind::FileSha256 => hex(64, "not a SHA-256 digest (64 hex digits)"),
        IndicatorKind::CertMd5 => cert(32, "not an MD5 digest (32 hex digits)"),
        IndicatorKind::CertSha1 => cert(40, "not a SHA-1 digest (40 hex digits)"),
        IndicatorKind::CertSha256 => cert(64, "not a SHA-256 digest (64 hex digits)"),
        IndicatorKind::AppId | IndicatorKind::ProfileId | IndicatorKind::AndroidProperty => {
            normalize::folded(value).ok_or("empty value")
        }
    }
}

fn max_prefix(ip: std::net::IpAddr) -> u32 {
    if ip.is_ipv4() { 32 } else { 128 }
}

// ---------------------------------------------------------------------------------------

#[derive(Default)]
struct Loader {
    set: IndicatorSet,
    problems: Vec<LoadProblem>,
    seen_paths: HashSet<PathBuf>,
    too_many_reported: bool,
    /// Files found and problems met since the last [`Loader::flush`], in order.
    pending: Vec<Pending>,
    /// The sizes of the pending files, as the file system reports them.
    pending_bytes: u64,
}

/// What the walk met, kept in order until the files are read and parsed.
enum Pending {
    Problem(LoadProblem),
    /// A file to read.
    Path(PathBuf),
    /// Bytes given directly ([`IndicatorSet::from_bytes`]).
    Bytes(PathBuf, Vec<u8>),
}

/// At most this many bytes of files are found before they are read and parsed (in
/// parallel) and merged (in order).
const BATCH_BYTES: u64 = 64 * 1024 * 1024;

/// A resolved comparison: kind, raw value, normalised value.
type Resolved = (IndicatorKind, String, String);

/// One bundle parsed on its own, before it gets its place in the set.
struct ParsedFile {
    file: IndicatorFile,
    /// Indicators, each alone or with the other members of its clause (`file` and `clause`
    /// are filled in when merged).
    entries: Vec<Entry>,
    /// Problems, in the order a sequential load meets them.
    problems: Vec<LoadProblem>,
}

enum Entry {
    Single(Indicator),
    Clause(String, Vec<Indicator>),
}

impl Loader {
    fn finish(mut self) -> LoadReport {
        self.flush();
        LoadReport {
            set: self.set,
            problems: self.problems,
        }
    }

    fn problem(&mut self, path: &Path, stix_id: Option<&str>, kind: LoadProblemKind) {
        let problem = LoadProblem {
            path: path.to_owned(),
            stix_id: stix_id.map(str::to_owned),
            kind,
        };
        if self.pending.is_empty() {
            self.problems.push(problem);
        } else {
            self.pending.push(Pending::Problem(problem));
        }
    }

    fn source(&mut self, source: &Path) {
        match fs::metadata(source) {
            Err(e) => self.problem(source, None, LoadProblemKind::Read(e.to_string())),
            Ok(meta) if meta.is_dir() => self.folder(source),
            Ok(_) => self.file(source),
        }
    }

    fn folder(&mut self, folder: &Path) {
        let walker = walkdir::WalkDir::new(folder)
            .follow_links(false)
            .max_depth(MAX_FOLDER_DEPTH)
            .sort_by_file_name();
        for entry in walker {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(folder).to_owned();
                    self.problem(&path, None, LoadProblemKind::Read(e.to_string()));
                    continue;
                }
            };
            let is_file = entry.file_type().is_file()
                || (entry.file_type().is_symlink()
                    && fs::metadata(entry.path()).is_ok_and(|m| m.is_file()));
            if is_file && has_indicator_extension(entry.path()) {
                self.file(entry.path());
            }
        }
    }

    fn file(&mut self, path: &Path) {
        let identity = fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        if !self.seen_paths.insert(identity) {
            return;
        }
        // Read later, on the parsing threads: reading overlaps parsing, and a file's bytes
        // are held only while it is parsed. `read_capped` checks the cap on the bytes read.
        let size = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        self.pending.push(Pending::Path(path.to_owned()));
        self.added(size);
    }

    fn bytes(&mut self, path: &Path, bytes: Vec<u8>) {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.pending.push(Pending::Bytes(path.to_owned(), bytes));
        self.added(size);
    }

    fn added(&mut self, size: u64) {
        self.pending_bytes = self.pending_bytes.saturating_add(size.min(MAX_FILE_BYTES));
        if self.pending_bytes >= BATCH_BYTES {
            self.flush();
        }
    }

    /// Reads and parses the pending files in parallel (public indicator sets are a dozen
    /// files of up to a few megabytes: loading them is most of the time of a small check),
    /// then merges them and the problems met between them in the order the walk found them,
    /// so that the set, its indices and the problems are the same as a sequential load's.
    fn flush(&mut self) {
        use rayon::prelude::*;
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        let mut parsed: Vec<Option<Result<ParsedFile, LoadProblemKind>>> = pending
            .par_iter()
            .map(|p| match p {
                Pending::Path(path) => Some(
                    read_capped(path, MAX_FILE_BYTES).and_then(|bytes| parse_file(path, &bytes)),
                ),
                Pending::Bytes(path, bytes) => Some(parse_file(path, bytes)),
                Pending::Problem(_) => None,
            })
            .collect();
        for (p, parsed) in pending.into_iter().zip(parsed.iter_mut()) {
            match (p, parsed.take()) {
                (Pending::Problem(problem), _) => self.problems.push(problem),
                (Pending::Path(path) | Pending::Bytes(path, _), Some(result)) => {
                    self.merge(&path, result);
                }
                (Pending::Path(..) | Pending::Bytes(..), None) => {}
            }
        }
    }

    fn merge(&mut self, path: &Path, parsed: Result<ParsedFile, LoadProblemKind>) {
        if self.set.files.len() >= MAX_FILES {
            if !self.too_many_reported {
                self.too_many_reported = true;
                self.problem(
                    path,
                    None,
                    LoadProblemKind::TooManyFiles { limit: MAX_FILES },
                );
            }
            return;
        }
        let parsed = match parsed {
            Ok(p) => p,
            Err(kind) => {
                self.problem(path, None, kind);
                return;
            }
        };
        self.problems.extend(parsed.problems);
        let file_index = self.set.files.len();
        for entry in parsed.entries {
            match entry {
                Entry::Single(mut indicator) => {
                    indicator.file = file_index;
                    self.set.indicators.push(indicator);
                }
                Entry::Clause(stix_id, indicators) => {
                    let clause_id = ClauseId(self.set.clauses.len());
                    let mut members = Vec::with_capacity(indicators.len());
                    for mut indicator in indicators {
                        indicator.file = file_index;
                        indicator.clause = Some(clause_id);
                        members.push(IndicatorId(self.set.indicators.len()));
                        self.set.indicators.push(indicator);
                    }
                    self.set.clauses.push(Clause { stix_id, members });
                }
            }
        }
        self.set.files.push(parsed.file);
    }
}

/// Parses one bundle into its indicators and problems, on its own (see [`Loader::flush`]).
fn parse_file(path: &Path, bytes: &[u8]) -> Result<ParsedFile, LoadProblemKind> {
    // The digest on another thread when one is free: a large file's hashing then overlaps
    // its parsing instead of following it.
    let (sha256, bundle) = rayon::join(
        || hex::encode(Sha256::digest(bytes)),
        || stix::Bundle::parse(bytes),
    );
    let bundle = bundle?;
    let mut problems = Vec::new();
    let mut problem = |stix_id: Option<&str>, kind| {
        problems.push(LoadProblem {
            path: path.to_owned(),
            stix_id: stix_id.map(str::to_owned),
            kind,
        });
    };
    if bundle.truncated {
        problem(
            None,
            LoadProblemKind::TooManyObjects {
                limit: stix::MAX_OBJECTS,
            },
        );
    }
    let base_name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |n| n.to_string_lossy())
        .into_owned();
    let mut links = stix::Links::collect(&bundle.objects);
    let mut file = IndicatorFile {
        path: path.to_owned(),
        name: base_name.clone(),
        sha256,
        size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        indicators: 0,
        stix_indicators: 0,
        skipped: 0,
    };
    let mut entries = Vec::new();
    let mut seen_single: foldhash::HashSet<(IndicatorKind, String, &str)> =
        foldhash::HashSet::default();
    let mut seen_multi: HashSet<(String, Vec<(IndicatorKind, String)>)> = HashSet::new();
    for object in &bundle.objects {
        if object.str("type") != Some("indicator") {
            continue;
        }
        let stix_id = object.str("id");
        let clauses = match stix_id
            .ok_or(LoadProblemKind::MissingId {
                ordinal: object.ordinal,
            })
            .and_then(|_| resolve_indicator(object))
        {
            Ok(c) => c,
            Err(kind) => {
                file.skipped += 1;
                problem(stix_id, kind);
                continue;
            }
        };
        let stix_id = stix_id.unwrap_or_default();
        let pattern = object.str("pattern").unwrap_or_default();
        let names = links.names_of(stix_id, &base_name);
        file.stix_indicators += 1;
        for clause in clauses {
            let make = |(kind, value, normalized): Resolved| Indicator {
                stix_id: stix_id.to_owned(),
                pattern: pattern.to_owned(),
                kind,
                value,
                normalized,
                names: Arc::clone(&names),
                file: 0,
                clause: None,
            };
            if clause.len() == 1 {
                let Some(only) = clause.into_iter().next() else {
                    continue;
                };
                if seen_single.insert((only.0, only.2.clone(), stix_id)) {
                    entries.push(Entry::Single(make(only)));
                    file.indicators += 1;
                }
                continue;
            }
            let mut signature: Vec<(IndicatorKind, String)> =
                clause.iter().map(|(k, _, n)| (*k, n.clone())).collect();
            signature.sort();
            if !seen_multi.insert((stix_id.to_owned(), signature)) {
                continue;
            }
            file.indicators += clause.len();
            entries.push(Entry::Clause(
                stix_id.to_owned(),
                clause.into_iter().map(make).collect(),
            ));
        }
    }
    Ok(ParsedFile {
        file,
        entries,
        problems,
    })
}

/// Turn one indicator object into conjunctive clauses of resolved comparisons: duplicates
/// inside a clause removed, duplicate clauses removed, and clauses implied by a smaller one
/// dropped (`a OR (a AND b)` is `a`).
fn resolve_indicator(object: &stix::StixObject<'_>) -> Result<Vec<Vec<Resolved>>, LoadProblemKind> {
    if object.revoked == Some(true) {
        return Err(LoadProblemKind::Revoked);
    }
    if let Some(kind) = object.str("pattern_type")
        && !kind.eq_ignore_ascii_case("stix")
    {
        return Err(LoadProblemKind::UnsupportedPatternType(kind.to_owned()));
    }
    let text = object
        .str("pattern")
        .ok_or(LoadProblemKind::MissingPattern)?;
    let pattern_error = |error| LoadProblemKind::Pattern {
        pattern: text.to_owned(),
        error,
    };
    let parsed = pattern::parse(text).map_err(pattern_error)?;
    let dnf = parsed.to_dnf(MAX_DNF_CLAUSES).map_err(pattern_error)?;
    let mut clauses: Vec<Vec<Resolved>> = Vec::with_capacity(dnf.len());
    for clause in dnf {
        let mut resolved: Vec<Resolved> = Vec::with_capacity(clause.len());
        for comparison in clause {
            let kind = IndicatorKind::from_key(&comparison.object_type, &comparison.path)
                .ok_or_else(|| LoadProblemKind::UnsupportedKey {
                    key: comparison.key(),
                    pattern: text.to_owned(),
                })?;
            let normalized = normalize_value(kind, &comparison.value).map_err(|reason| {
                LoadProblemKind::InvalidValue {
                    key: comparison.key(),
                    value: comparison.value.clone(),
                    reason,
                }
            })?;
            if !resolved
                .iter()
                .any(|(k, _, n)| *k == kind && *n == normalized)
            {
                resolved.push((kind, comparison.value.clone(), normalized));
            }
        }
        clauses.push(resolved);
    }
    // Most patterns are one comparison: nothing to absorb.
    if clauses.len() < 2 {
        return Ok(clauses);
    }
    // Absorption: drop a clause when another clause is a subset of it (the earlier one wins
    // among equals). At most MAX_DNF_CLAUSES² comparisons of clauses of bounded size.
    let keys: Vec<HashSet<(IndicatorKind, &str)>> = clauses
        .iter()
        .map(|c| c.iter().map(|(k, _, n)| (*k, n.as_str())).collect())
        .collect();
    let keep: Vec<bool> = (0..keys.len())
        .map(|j| {
            !keys.iter().enumerate().any(|(i, smaller)| {
                i != j
                    && keys.get(j).is_some_and(|kj| {
                        smaller.is_subset(kj) && (smaller.len() < kj.len() || i < j)
                    })
            })
        })
        .collect();
    Ok(clauses
        .into_iter()
        .zip(keep)
        .filter_map(|(c, k)| k.then_some(c))
        .collect())
}

fn has_indicator_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("stix2") || e.eq_ignore_ascii_case("json"))
}

/// Read a whole file, refusing one over `limit` bytes (checked on the bytes read, not only
/// on the size the file system reports).
pub(crate) fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, LoadProblemKind> {
    let file = fs::File::open(path).map_err(|e| LoadProblemKind::Read(e.to_string()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if len > limit {
        return Err(LoadProblemKind::TooLarge { limit });
    }
    // The exact size up front: growing by doubling would hold up to twice the file.
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| LoadProblemKind::Read(e.to_string()))?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(LoadProblemKind::TooLarge { limit });
    }
    Ok(bytes)
}
