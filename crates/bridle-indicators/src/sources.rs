//! Where indicators come from when the user does not say: `--iocs` paths, then
//! `BRIDLE_IOCS`, then the folder `bridle iocs update` fills.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The environment variable holding extra indicator sources (colon-separated on Unix).
pub const ENV_IOCS: &str = "BRIDLE_IOCS";

/// The indicator sources, in load order: the explicit paths, then each entry of the
/// `BRIDLE_IOCS` value (pass `std::env::var_os(ENV_IOCS)`; empty entries are ignored),
/// then `data_dir` when it exists. All three are used, like MVT's `-i`, download folder
/// and `MVT_STIX2`. Taking the environment value and the folder as arguments keeps this
/// function pure and testable.
pub fn resolve_sources(
    explicit: &[PathBuf],
    env_value: Option<&OsStr>,
    data_dir: Option<&Path>,
) -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = explicit.to_vec();
    if let Some(value) = env_value {
        sources.extend(std::env::split_paths(value).filter(|p| !p.as_os_str().is_empty()));
    }
    if let Some(dir) = data_dir
        && dir.is_dir()
    {
        sources.push(dir.to_owned());
    }
    sources
}

/// The folder `bridle iocs update` fills: `<user data dir>/bridle/indicators`
/// (`~/.local/share/bridle/indicators` on Linux). `None` when the system has no home.
pub fn default_data_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.data_dir().join("bridle").join("indicators"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_explicit_then_env_then_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let env = std::ffi::OsString::from("/a.stix2::/b");
        let got = resolve_sources(&[PathBuf::from("x.json")], Some(&env), Some(tmp.path()));
        assert_eq!(
            got,
            vec![
                PathBuf::from("x.json"),
                PathBuf::from("/a.stix2"),
                PathBuf::from("/b"),
                tmp.path().to_owned()
            ]
        );
        let missing = tmp.path().join("missing");
        assert!(resolve_sources(&[], None, Some(&missing)).is_empty());
    }

    #[test]
    fn data_dir_ends_in_bridle_indicators() {
        if let Some(dir) = default_data_dir() {
            assert!(dir.ends_with("bridle/indicators"), "{}", dir.display());
        }
    }
}
