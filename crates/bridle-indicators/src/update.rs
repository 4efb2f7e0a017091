//! `bridle iocs update`: download the indicator files an `indicators.yaml` index lists and
//! replace the local indicator folder atomically.
//!
//! The index format is mvt-indicators' (`indicators: [{name, type: github, github: {owner,
//! repo, branch, path}}]` or `{download_url}`), plus a `path` entry (a local file, relative
//! to the index) that is honoured only when the index itself is a local file, so a remote
//! index can never make bridle read local files.
//!
//! Every file is downloaded into a fresh temporary folder beside the destination and must
//! parse as a STIX bundle before anything is replaced. Then the old folder is renamed away,
//! the new one renamed into place, and the old one deleted; if any step fails the old set
//! stays where it was and the temporary folder is removed. This is the only code in bridle
//! that uses the network, and only when the user asks for it.

use crate::set::{self, IndicatorSet, LoadProblemKind};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The public mvt-indicators index.
pub const DEFAULT_INDEX_URL: &str =
    "https://raw.githubusercontent.com/mvt-project/mvt-indicators/main/indicators.yaml";
/// Where `type: github` entries are fetched from.
pub const GITHUB_RAW_BASE: &str = "https://raw.githubusercontent.com";
/// Largest index accepted, in bytes (the public one is about 7 KiB).
pub const MAX_INDEX_BYTES: u64 = 1024 * 1024;
/// Most entries in an index.
pub const MAX_INDEX_ENTRIES: usize = 1000;
/// Most HTTP redirects followed per request.
pub const MAX_REDIRECTS: u32 = 5;

/// Where the index is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexSource {
    /// A local `indicators.yaml`.
    Path(PathBuf),
    /// An `http://` or `https://` URL.
    Url(String),
}

impl IndexSource {
    /// Read a `--index` argument: a URL when it starts with `http://` or `https://`,
    /// otherwise a path.
    pub fn parse(text: &str) -> IndexSource {
        if is_http(text) {
            IndexSource::Url(text.to_owned())
        } else {
            IndexSource::Path(PathBuf::from(text))
        }
    }

    fn describe(&self) -> String {
        match self {
            IndexSource::Path(p) => p.display().to_string(),
            IndexSource::Url(u) => u.clone(),
        }
    }
}

impl Default for IndexSource {
    fn default() -> Self {
        IndexSource::Url(DEFAULT_INDEX_URL.to_owned())
    }
}

fn is_http(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// Knobs for [`update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOptions {
    /// Time limit for each HTTP request, connection to last byte.
    pub timeout: Duration,
    /// Largest indicator file accepted, in bytes.
    pub max_file_bytes: u64,
    /// Base URL for `type: github` entries (tests point it at a local server).
    pub github_raw_base: String,
    /// Use the `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` environment variables.
    pub proxy_from_env: bool,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            timeout: Duration::from_secs(60),
            max_file_bytes: set::MAX_FILE_BYTES,
            github_raw_base: GITHUB_RAW_BASE.to_owned(),
            proxy_from_env: true,
        }
    }
}

/// One file installed by an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedFile {
    /// File name in the destination folder.
    pub file_name: String,
    /// The index entry's `name`, if any.
    pub title: Option<String>,
    /// Where it came from (URL or local path).
    pub source: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Indicators it loads.
    pub indicators: usize,
}

/// What an update installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateReport {
    /// The destination folder.
    pub dest: PathBuf,
    /// The files now in it, in index order.
    pub files: Vec<UpdatedFile>,
}

/// Why an update failed. In every case the previous indicator folder is left as it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// A local file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A download failed (connection, timeout, HTTP status).
    #[error("cannot download {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A download or file is over its size limit.
    #[error("{what} is larger than {limit} bytes")]
    TooLarge {
        /// URL or path.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The index cannot be read as an index.
    #[error("index {index}: {reason}")]
    Index {
        /// The index location.
        index: String,
        /// Why.
        reason: String,
    },
    /// An index entry cannot be used.
    #[error("index entry #{entry} ({name}): {reason}")]
    Entry {
        /// Position in the index (0-based).
        entry: usize,
        /// Its name, or "unnamed".
        name: String,
        /// Why.
        reason: String,
    },
    /// A downloaded file is not a STIX bundle.
    #[error("{source_name} is not a usable STIX bundle: {problem}")]
    NotBundle {
        /// URL or path.
        source_name: String,
        /// Why.
        problem: LoadProblemKind,
    },
    /// Writing the new set failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

#[derive(Deserialize)]
struct IndexFile {
    indicators: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    github: Option<GithubEntry>,
    download_url: Option<String>,
    path: Option<String>,
}

#[derive(Deserialize)]
struct GithubEntry {
    owner: String,
    repo: String,
    branch: Option<String>,
    path: String,
}

enum Location {
    Url(String),
    Path(PathBuf),
}

impl Location {
    fn describe(&self) -> String {
        match self {
            Location::Url(u) => u.clone(),
            Location::Path(p) => p.display().to_string(),
        }
    }
}

/// Download every file the index lists into `dest`, replacing its previous content
/// atomically. `dest` and its parent folders are created when missing.
pub fn update(
    index: &IndexSource,
    dest: &Path,
    opts: &UpdateOptions,
) -> Result<UpdateReport, UpdateError> {
    let agent = agent(opts);
    let index_bytes = match index {
        IndexSource::Path(p) => read_local(p, MAX_INDEX_BYTES)?,
        IndexSource::Url(u) => download(&agent, u, MAX_INDEX_BYTES)?,
    };
    let entries = parse_index(index, &index_bytes, opts)?;

    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|source| UpdateError::Write {
        path: parent.clone(),
        source,
    })?;
    let staging = tempfile::Builder::new()
        .prefix(".bridle-indicators-update-")
        .tempdir_in(&parent)
        .map_err(|source| UpdateError::Write {
            path: parent.clone(),
            source,
        })?;

    let mut files = Vec::with_capacity(entries.len());
    let mut used_names: Vec<String> = Vec::new();
    for (title, location) in entries {
        let source_name = location.describe();
        let bytes = match &location {
            Location::Url(u) => download(&agent, u, opts.max_file_bytes)?,
            Location::Path(p) => read_local(p, opts.max_file_bytes)?,
        };
        let file_name = unique_name(&file_name_for(&location), &used_names);
        used_names.push(file_name.clone());
        let report = IndicatorSet::from_bytes(&file_name, &bytes);
        let fatal = |k: &LoadProblemKind| {
            matches!(
                k,
                LoadProblemKind::NotJson(_) | LoadProblemKind::NotBundle(_)
            )
        };
        if let Some(problem) = report.problems.iter().find(|p| fatal(&p.kind)) {
            return Err(UpdateError::NotBundle {
                source_name,
                problem: problem.kind.clone(),
            });
        }
        let target = staging.path().join(&file_name);
        fs::write(&target, &bytes).map_err(|source| UpdateError::Write {
            path: target.clone(),
            source,
        })?;
        files.push(UpdatedFile {
            file_name,
            title,
            source: source_name,
            sha256: hex::encode(Sha256::digest(&bytes)),
            size: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
            indicators: report.set.len(),
        });
    }

    install(staging, dest)?;
    Ok(UpdateReport {
        dest: dest.to_owned(),
        files,
    })
}

fn agent(opts: &UpdateOptions) -> ureq::Agent {
    let mut config = ureq::Agent::config_builder()
        .timeout_global(Some(opts.timeout))
        .max_redirects(MAX_REDIRECTS)
        .http_status_as_error(true)
        .user_agent(concat!("bridle/", env!("CARGO_PKG_VERSION")));
    if !opts.proxy_from_env {
        config = config.proxy(None);
    }
    ureq::Agent::new_with_config(config.build())
}

fn download(agent: &ureq::Agent, url: &str, limit: u64) -> Result<Vec<u8>, UpdateError> {
    let http = |reason: String| UpdateError::Http {
        url: url.to_owned(),
        reason,
    };
    let mut response = agent.get(url).call().map_err(|e| http(e.to_string()))?;
    response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => UpdateError::TooLarge {
                what: url.to_owned(),
                limit,
            },
            other => http(other.to_string()),
        })
}

fn read_local(path: &Path, limit: u64) -> Result<Vec<u8>, UpdateError> {
    set::read_capped(path, limit).map_err(|kind| match kind {
        LoadProblemKind::TooLarge { limit } => UpdateError::TooLarge {
            what: path.display().to_string(),
            limit,
        },
        other => UpdateError::Read {
            path: path.to_owned(),
            source: io::Error::other(other.to_string()),
        },
    })
}

fn parse_index(
    index: &IndexSource,
    bytes: &[u8],
    opts: &UpdateOptions,
) -> Result<Vec<(Option<String>, Location)>, UpdateError> {
    let index_error = |reason: String| UpdateError::Index {
        index: index.describe(),
        reason,
    };
    let parsed: IndexFile =
        serde_yaml_ng::from_slice(bytes).map_err(|e| index_error(e.to_string()))?;
    if parsed.indicators.len() > MAX_INDEX_ENTRIES {
        return Err(index_error(format!(
            "more than {MAX_INDEX_ENTRIES} entries"
        )));
    }
    if parsed.indicators.is_empty() {
        return Err(index_error("it lists no indicator files".into()));
    }
    let base = opts.github_raw_base.trim_end_matches('/');
    let mut out = Vec::with_capacity(parsed.indicators.len());
    for (position, entry) in parsed.indicators.into_iter().enumerate() {
        let entry_error = |reason: &str| UpdateError::Entry {
            entry: position,
            name: entry.name.clone().unwrap_or_else(|| "unnamed".into()),
            reason: reason.to_owned(),
        };
        let is_github = entry
            .kind
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("github"));
        let location = if let Some(gh) = entry.github.as_ref().filter(|_| is_github) {
            let branch = gh.branch.as_deref().unwrap_or("main");
            let parts = [gh.owner.as_str(), gh.repo.as_str(), branch];
            if parts
                .iter()
                .any(|p| p.is_empty() || p.contains('/') || !is_plain(p))
                || gh.path.is_empty()
                || !is_plain(&gh.path)
            {
                return Err(entry_error(
                    "github owner, repo, branch or path is not usable",
                ));
            }
            let path = gh.path.trim_start_matches('/');
            Location::Url(format!("{base}/{}/{}/{branch}/{path}", gh.owner, gh.repo))
        } else if is_github {
            return Err(entry_error("type github without a github section"));
        } else if let Some(url) = &entry.download_url {
            if !is_http(url) || !is_plain(url) {
                return Err(entry_error("download_url must be an http(s) URL"));
            }
            Location::Url(url.clone())
        } else if let Some(path) = &entry.path {
            let IndexSource::Path(index_path) = index else {
                return Err(entry_error("local paths are only allowed in a local index"));
            };
            let dir = index_path.parent().unwrap_or(Path::new("."));
            Location::Path(dir.join(path))
        } else {
            return Err(entry_error("no github section, download_url or path"));
        };
        out.push((entry.name.clone(), location));
    }
    Ok(out)
}

/// Printable ASCII without spaces: what a URL component in an index should be.
fn is_plain(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_graphic())
}

/// A safe file name for a downloaded file: the last path component, query removed,
/// characters outside `[A-Za-z0-9._-]` replaced, ending in `.stix2` or `.json`.
fn file_name_for(location: &Location) -> String {
    let raw = match location {
        Location::Url(u) => {
            let no_query = u.split(['?', '#']).next().unwrap_or(u);
            no_query.rsplit('/').next().unwrap_or("").to_owned()
        }
        Location::Path(p) => p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let mut name: String = raw
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_start_matches('.').to_owned();
    if name.is_empty() {
        name = "indicators".into();
    }
    let lower = name.to_ascii_lowercase();
    if !lower.ends_with(".stix2") && !lower.ends_with(".json") {
        name.push_str(".stix2");
    }
    name
}

fn unique_name(name: &str, used: &[String]) -> String {
    let taken = |n: &str| used.iter().any(|u| u.eq_ignore_ascii_case(n));
    if !taken(name) {
        return name.to_owned();
    }
    let (stem, ext) = name.rsplit_once('.').unwrap_or((name, "stix2"));
    (2..=used.len().saturating_add(2))
        .map(|n| format!("{stem}-{n}.{ext}"))
        .find(|candidate| !taken(candidate))
        .unwrap_or_else(|| format!("{stem}-{}.{ext}", used.len().saturating_add(3)))
}

/// Swap the staged folder into place. The window in which `dest` does not exist is two
/// renames on the same file system.
fn install(staging: tempfile::TempDir, dest: &Path) -> Result<(), UpdateError> {
    let write_error = |path: &Path, source| UpdateError::Write {
        path: path.to_owned(),
        source,
    };
    match fs::symlink_metadata(dest) {
        Ok(meta) if !meta.is_dir() => {
            return Err(write_error(
                dest,
                io::Error::other("the destination exists and is not a folder"),
            ));
        }
        Ok(_) => {
            // Keep the old set under a unique name beside it until the new one is in place.
            let parent = dest.parent().unwrap_or(Path::new("."));
            let holder = tempfile::Builder::new()
                .prefix(".bridle-indicators-old-")
                .tempdir_in(parent)
                .map_err(|e| write_error(parent, e))?;
            let old = holder.path().join("indicators");
            fs::rename(dest, &old).map_err(|e| write_error(dest, e))?;
            if let Err(e) = fs::rename(staging.path(), dest) {
                // Put the old set back; the staging folder is removed when dropped.
                let _ = fs::rename(&old, dest);
                return Err(write_error(dest, e));
            }
            // The new set is in place: the holder (with the old set) is removed on drop.
            drop(holder);
            let _ = staging.keep();
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::rename(staging.path(), dest).map_err(|e| write_error(dest, e))?;
            let _ = staging.keep();
        }
        Err(e) => return Err(write_error(dest, e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_source_parse() {
        assert_eq!(
            IndexSource::parse("https://x.org/i.yaml"),
            IndexSource::Url("https://x.org/i.yaml".into())
        );
        assert_eq!(
            IndexSource::parse("HTTP://x.org/i.yaml"),
            IndexSource::Url("HTTP://x.org/i.yaml".into())
        );
        assert_eq!(
            IndexSource::parse("indicators.yaml"),
            IndexSource::Path("indicators.yaml".into())
        );
    }

    #[test]
    fn file_names_are_safe_and_unique() {
        let url = |u: &str| Location::Url(u.into());
        assert_eq!(
            file_name_for(&url("https://h/a/pegasus.stix2")),
            "pegasus.stix2"
        );
        assert_eq!(file_name_for(&url("https://h/a/x.json?raw=1")), "x.json");
        assert_eq!(file_name_for(&url("https://h/a/..")), "indicators.stix2");
        assert_eq!(file_name_for(&url("https://h/a/b c")), "b_c.stix2");
        let used = vec!["a.stix2".to_owned(), "a-2.stix2".to_owned()];
        assert_eq!(unique_name("a.stix2", &used), "a-3.stix2");
        assert_eq!(unique_name("b.stix2", &used), "b.stix2");
    }

    #[test]
    fn remote_index_cannot_name_local_files() {
        let yaml = b"indicators:\n  - name: x\n    path: /etc/passwd\n";
        let index = IndexSource::Url("http://127.0.0.1:1/i.yaml".into());
        let err = parse_index(&index, yaml, &UpdateOptions::default())
            .err()
            .unwrap();
        assert!(matches!(err, UpdateError::Entry { .. }), "{err}");
    }

    #[test]
    fn github_entries_become_raw_urls() {
        let yaml = b"indicators:\n  - type: github\n    name: P\n    github:\n      owner: o\n      repo: r\n      path: d/f.stix2\n  - type: github\n    github: {owner: o, repo: r, branch: master, path: g.stix2}\n  - download_url: https://example.org/h.json\n";
        let opts = UpdateOptions {
            github_raw_base: "http://127.0.0.1:9/".into(),
            ..UpdateOptions::default()
        };
        let got = parse_index(&IndexSource::Path("i.yaml".into()), yaml, &opts).unwrap();
        let urls: Vec<String> = got.iter().map(|(_, l)| l.describe()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:9/o/r/main/d/f.stix2",
                "http://127.0.0.1:9/o/r/master/g.stix2",
                "https://example.org/h.json"
            ]
        );
        assert_eq!(got[0].0.as_deref(), Some("P"));
    }
}
