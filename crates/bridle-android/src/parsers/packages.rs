//! The `Packages:` list of `dumpsys package`.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Most lines kept for one package block (a package is parsed when its block ends).
pub const MAX_BLOCK_LINES: usize = 100_000;

/// A permission of a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagePermission {
    /// Permission name.
    pub name: String,
    /// Whether granted (`None` when not stated; declared permissions have no such field).
    pub granted: Option<bool>,
    /// `install`, `runtime` or `declared`.
    pub kind: &'static str,
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// Package name.
    pub package_name: String,
    /// `userId=`.
    pub uid: String,
    /// `versionName=`.
    pub version_name: String,
    /// `versionCode=` (the rest of the line).
    pub version_code: String,
    /// `timeStamp=` (device wall time, as written).
    pub timestamp: String,
    /// `firstInstallTime=` for user 0 (or the only user).
    pub first_install_time: String,
    /// `lastUpdateTime=`.
    pub last_update_time: String,
    /// `installerPackageName=`.
    pub installer: String,
    /// Whether `pkgFlags` has `SYSTEM`.
    pub system: bool,
    /// Install, runtime (user 0) and declared permissions.
    pub permissions: Vec<PackagePermission>,
    /// Requested permissions.
    pub requested_permissions: Vec<String>,
}

impl Package {
    /// The record as MVT writes it.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("package_name".into(), json!(self.package_name));
        m.insert("uid".into(), json!(self.uid));
        m.insert("version_name".into(), json!(self.version_name));
        m.insert("version_code".into(), json!(self.version_code));
        m.insert("timestamp".into(), json!(self.timestamp));
        m.insert("first_install_time".into(), json!(self.first_install_time));
        m.insert("last_update_time".into(), json!(self.last_update_time));
        m.insert("installer".into(), json!(self.installer));
        m.insert("system".into(), json!(self.system));
        let perms: Vec<Value> = self
            .permissions
            .iter()
            .map(|p| {
                let mut o = Map::new();
                o.insert("name".into(), json!(p.name));
                if p.kind != "declared" {
                    o.insert("granted".into(), json!(p.granted));
                }
                o.insert("type".into(), json!(p.kind));
                Value::Object(o)
            })
            .collect();
        m.insert("permissions".into(), Value::Array(perms));
        m.insert(
            "requested_permissions".into(),
            json!(self.requested_permissions),
        );
        m
    }
}

fn granted(line: &str) -> Option<bool> {
    let info = line.trim().split(':').nth(1)?;
    info.contains("granted=")
        .then(|| info.contains("granted=true"))
}

fn after_eq(line: &str) -> String {
    line.split('=').nth(1).unwrap_or_default().trim().to_owned()
}

fn after_first_eq(line: &str) -> String {
    line.split_once('=')
        .map(|x| x.1)
        .unwrap_or_default()
        .trim()
        .to_owned()
}

fn user_of(trimmed: &str) -> Option<Option<u64>> {
    let rest = trimmed.strip_prefix("User ")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.is_empty() || !rest.get(digits.len()..)?.starts_with(':') {
        return None;
    }
    Some(digits.parse().ok())
}

/// Parses one package's block of lines (the lines after `  Package [name]`).
pub fn parse_details(package_name: &str, lines: &[String]) -> Package {
    let mut p = Package {
        package_name: package_name.to_owned(),
        ..Package::default()
    };
    let (mut in_install, mut in_runtime, mut in_declared, mut in_requested) =
        (false, false, false, true);
    let mut user: Option<u64> = None;
    let mut first_install: Vec<(Option<u64>, String)> = Vec::new();
    let mut runtime: BTreeMap<Option<u64>, Vec<PackagePermission>> = BTreeMap::new();
    let mut runtime_order: Vec<Option<u64>> = Vec::new();
    for line in lines {
        let trimmed = line.trim();
        if let Some(u) = user_of(trimmed) {
            user = u;
        }
        if in_install {
            if line.starts_with("    ") && !line.starts_with("      ") {
                in_install = false;
            } else {
                p.permissions.push(PackagePermission {
                    name: trimmed.split(':').next().unwrap_or_default().to_owned(),
                    granted: granted(line),
                    kind: "install",
                });
            }
        }
        if in_runtime {
            if line.starts_with("        ") {
                if !runtime.contains_key(&user) {
                    runtime_order.push(user);
                }
                runtime.entry(user).or_default().push(PackagePermission {
                    name: trimmed.split(':').next().unwrap_or_default().to_owned(),
                    granted: granted(line),
                    kind: "runtime",
                });
            } else {
                in_runtime = false;
            }
        }
        if in_declared {
            if line.starts_with("      ") {
                p.permissions.push(PackagePermission {
                    name: trimmed.split(':').next().unwrap_or_default().to_owned(),
                    granted: None,
                    kind: "declared",
                });
            } else {
                in_declared = false;
            }
        }
        if in_requested {
            if line.starts_with("      ") {
                p.requested_permissions.push(trimmed.to_owned());
            } else {
                in_requested = false;
            }
        }
        if trimmed.starts_with("userId=") {
            p.uid = after_eq(line);
        } else if trimmed.starts_with("versionName=") {
            p.version_name = after_eq(line);
        } else if trimmed.starts_with("versionCode=") {
            p.version_code = after_first_eq(line);
        } else if trimmed.starts_with("timeStamp=") {
            p.timestamp = after_eq(line);
        } else if trimmed.starts_with("installerPackageName=") {
            p.installer = after_first_eq(line);
        } else if trimmed.starts_with("pkgFlags=") {
            p.system = after_first_eq(line)
                .split_whitespace()
                .any(|f| f == "SYSTEM");
        } else if trimmed.starts_with("firstInstallTime=") {
            let value = after_first_eq(line);
            match first_install.iter_mut().find(|(u, _)| *u == user) {
                Some(slot) => slot.1 = value,
                None => first_install.push((user, value)),
            }
        } else if trimmed.starts_with("lastUpdateTime=") {
            p.last_update_time = after_eq(line);
        } else if trimmed == "install permissions:" {
            in_install = true;
        } else if trimmed == "runtime permissions:" {
            in_runtime = true;
        } else if trimmed == "declared permissions:" {
            in_declared = true;
        } else if trimmed == "requested permissions:" {
            in_requested = true;
        }
    }
    let pick = |u: Option<u64>| {
        first_install
            .iter()
            .find(|(x, _)| *x == u)
            .map(|x| x.1.clone())
    };
    p.first_install_time = pick(Some(0))
        .or_else(|| pick(None))
        .or_else(|| first_install.first().map(|x| x.1.clone()))
        .unwrap_or_default();
    let chosen = if runtime.contains_key(&Some(0)) {
        Some(Some(0))
    } else if runtime.contains_key(&None) {
        Some(None)
    } else {
        runtime_order.first().copied()
    };
    if let Some(perms) = chosen.and_then(|k| runtime.remove(&k)) {
        p.permissions.extend(perms);
    }
    p
}

/// Parses the package section's `Packages:` list, calling `emit` per package as its block
/// ends. Returns how many lines were dropped over [`MAX_BLOCK_LINES`].
pub fn parse<I, S>(lines: I, mut emit: impl FnMut(Package)) -> u64
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut dropped = 0u64;
    let mut in_list = false;
    let mut current: Option<String> = None;
    let mut block: Vec<String> = Vec::new();
    for line in lines {
        let line = line.as_ref();
        if line.starts_with("Packages:") {
            in_list = true;
            continue;
        }
        if !in_list {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with("  Package [") {
            if let Some(name) = current.take() {
                emit(parse_details(&name, &block));
            }
            block.clear();
            // `  Package [name] ...`: the name is up to the first `]`.
            current = line
                .get(11..)
                .and_then(|rest| rest.split_once(']'))
                .map(|(n, _)| n.to_owned())
                .filter(|n| !n.is_empty());
            continue;
        }
        if current.is_none() {
            continue;
        }
        if block.len() < MAX_BLOCK_LINES {
            block.push(line.to_owned());
        } else {
            dropped += 1;
        }
    }
    if let Some(name) = current {
        emit(parse_details(&name, &block));
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_zero_wins() {
        let text = "Packages:\n  Package [com.x] (1):\n    userId=10001\n    pkgFlags=[ HAS_CODE ]\n    User 10: ceDataInode=1\n      firstInstallTime=2024-01-11 10:00:00\n      runtime permissions:\n        android.permission.MICROPHONE: granted=false\n    User 0: ceDataInode=2\n      firstInstallTime=2024-01-10 09:19:39\n      runtime permissions:\n        android.permission.CAMERA: granted=true\n\n";
        let mut out = Vec::new();
        parse(text.lines(), |p| out.push(p));
        assert_eq!(out.len(), 1);
        let p = &out[0];
        assert_eq!(p.first_install_time, "2024-01-10 09:19:39");
        assert!(!p.system);
        assert_eq!(p.permissions.len(), 1);
        assert_eq!(p.permissions[0].name, "android.permission.CAMERA");
        assert_eq!(p.permissions[0].granted, Some(true));
        let text = text.replace("User 0:", "User 7:");
        let mut out = Vec::new();
        parse(text.lines(), |p| out.push(p));
        assert_eq!(out[0].first_install_time, "2024-01-11 10:00:00");
        assert_eq!(out[0].permissions[0].name, "android.permission.MICROPHONE");
    }
}
