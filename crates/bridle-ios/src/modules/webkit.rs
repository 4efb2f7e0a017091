//! WebKit website-data folders (LocalStorage, IndexedDB, SafariViewService): one entry per
//! web origin, named `https_<host>_<port>` (files or folders). MVT's `WebkitBase` turns each
//! name that starts with `http` into a URL (`http_` → `http://`, `https_` → `https://`, then
//! the part before the next `_`) and dates it with the modification time of the folder that
//! holds it (not of the entry).

use super::entry_source;
use crate::{Ios, Located};
use bridle_evidence::plist_json::escape_bytes;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record, Sink,
    TimelineEvent, Timestamp,
};

/// Most entries listed in one folder.
pub const MAX_ENTRIES_PER_FOLDER: usize = 1_000_000;

/// A module's timeline event name and description of an entry from its folder and URL
/// (`None`: MVT gives the module no timeline).
pub(crate) type Describe = Option<(&'static str, fn(&str, &str) -> String)>;

/// The URL MVT derives from an entry name, or `None` for names that are not origins.
pub fn origin_url(name: &str) -> Option<String> {
    if !name.starts_with("http") {
        return None;
    }
    // Python's str.replace replaces every occurrence, in this order.
    let name = name
        .replace("http_", "http://")
        .replace("https_", "https://");
    Some(name.split('_').next().unwrap_or_default().to_owned())
}

fn mtime(path: &std::path::Path) -> Option<Timestamp> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let us = modified
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_micros()).ok())?;
    Timestamp::from_unix_micros(us)
}

/// Lists the origin entries of every folder matching `patterns`.
pub(crate) fn run(
    ios: &Ios,
    sink: &mut dyn Sink,
    patterns: &[&str],
    describe: Describe,
) -> Result<ModuleOutcome, ModuleError> {
    let mut folders: Vec<String> = Vec::new();
    for p in patterns {
        for rel in ios
            .glob(p)
            .map_err(|e| super::unreadable("WebKit WebsiteData", &e))?
        {
            if !folders.contains(&rel) {
                folders.push(rel);
            }
        }
    }
    let mut listed = 0usize;
    for folder in &folders {
        let Ok(Some(path)) = ios.root().resolve(folder) else {
            continue;
        };
        if !path.is_dir() {
            continue;
        }
        listed += 1;
        let located: Located = ios.located_fs(path.clone(), folder);
        let isodate = mtime(&path);
        let entries = match std::fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        let mut names: Vec<String> = Vec::new();
        let mut over = 0u64;
        for entry in entries.flatten() {
            if names.len() >= MAX_ENTRIES_PER_FOLDER {
                over += 1;
                continue;
            }
            names.push(escape_bytes(entry.file_name().as_encoded_bytes()));
        }
        names.sort();
        if over > 0 {
            sink.problem(Problem::file(
                ProblemKind::Skipped,
                located.logical.clone(),
                format!("{over} entries past the first {MAX_ENTRIES_PER_FOLDER} were not read"),
            ));
        }
        for name in names {
            let Some(url) = origin_url(&name) else {
                continue;
            };
            let mut r = Record::new(entry_source(folder, &name));
            r.set("folder", folder.as_str())
                .set("url", url.as_str())
                .set("isodate", super::iso(isodate))
                .set("name", name.as_str());
            if let Some((event, describe)) = describe {
                r.event(TimelineEvent::new(isodate, event, describe(folder, &url)));
            }
            r.observe(Observable::new(ObservableKind::Url, url, "url"));
            sink.record(r);
        }
    }
    if listed == 0 {
        return Ok(ModuleOutcome::NotFound(format!(
            "no folder matching {}",
            patterns.join(", ")
        )));
    }
    Ok(ModuleOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_like_mvt() {
        assert_eq!(
            origin_url("https_eatsaged.net_0.localstorage").as_deref(),
            Some("https://eatsaged.net")
        );
        assert_eq!(
            origin_url("http_192.0.2.1_8080").as_deref(),
            Some("http://192.0.2.1")
        );
        assert_eq!(origin_url("Databases.db"), None);
        // A second `http_` inside the name is replaced too, as Python does.
        assert_eq!(
            origin_url("https_a.http_b_0").as_deref(),
            Some("https://a.http://b")
        );
    }
}
