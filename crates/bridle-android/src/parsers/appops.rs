//! `dumpsys appops`: per package, the app-ops it holds and when each was used or refused.

use crate::py;
use crate::tz::DeviceTz;
use bridle_model::Timestamp;
use serde_json::{Map, Value, json};

/// One recorded use (or refusal) of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpEntry {
    /// `Access` or `Reject`.
    pub access: String,
    /// The process state in brackets (`fg-s`, `bg-tpd`...).
    pub kind: String,
    /// When, as the device wrote it (local wall time).
    pub raw_time: Option<String>,
    /// When, in UTC.
    pub time: Option<Timestamp>,
}

/// One operation of a package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permission {
    /// Operation name (`REQUEST_INSTALL_PACKAGES`).
    pub name: String,
    /// Its mode (`allow`, `ignore`...), when given.
    pub access: Option<String>,
    /// Uses and refusals.
    pub entries: Vec<OpEntry>,
}

/// A package's app-ops.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Package {
    /// Package name.
    pub package_name: String,
    /// Uid (as written: `0`, `u0a103`).
    pub uid: Option<String>,
    /// Its operations.
    pub permissions: Vec<Permission>,
}

impl OpEntry {
    fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("access".into(), json!(self.access));
        m.insert("type".into(), json!(self.kind));
        if let Some(t) = self.time {
            m.insert("timestamp".into(), json!(t.to_mvt()));
        }
        m
    }
}

impl Permission {
    /// The permission as MVT writes it.
    pub fn json(&self) -> Value {
        let mut m = Map::new();
        m.insert("name".into(), json!(self.name));
        m.insert(
            "entries".into(),
            Value::Array(
                self.entries
                    .iter()
                    .map(|e| Value::Object(e.json()))
                    .collect(),
            ),
        );
        if let Some(a) = &self.access {
            m.insert("access".into(), json!(a));
        }
        Value::Object(m)
    }
}

impl Package {
    /// The record as MVT writes it.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("package_name".into(), json!(self.package_name));
        m.insert(
            "permissions".into(),
            Value::Array(self.permissions.iter().map(Permission::json).collect()),
        );
        m.insert("uid".into(), json!(self.uid));
        m
    }
}

/// Most operations kept per package and entries per operation (a hostile dump could list
/// millions under one package, which is held whole until the next package starts).
pub const MAX_PERMISSIONS: usize = 10_000;
/// See [`MAX_PERMISSIONS`].
pub const MAX_ENTRIES: usize = 10_000;

/// Parses the section, calling `emit` for each package as soon as it is complete. Returns
/// how many operations or entries were dropped over the caps.
pub fn parse<I, S>(lines: I, tz: &DeviceTz, mut emit: impl FnMut(Package)) -> u64
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut dropped = 0u64;
    let mut package: Option<Package> = None;
    let mut perm: Option<Permission> = None;
    let mut entry: Option<OpEntry> = None;
    let mut uid: Option<String> = None;
    let mut in_packages = false;

    let close_entry =
        |perm: &mut Option<Permission>, entry: &mut Option<OpEntry>, dropped: &mut u64| {
            if let Some(e) = entry.take()
                && let Some(p) = perm.as_mut()
            {
                if p.entries.len() < MAX_ENTRIES {
                    p.entries.push(e);
                } else {
                    *dropped += 1;
                }
            }
        };
    let close_perm =
        |package: &mut Option<Package>, perm: &mut Option<Permission>, dropped: &mut u64| {
            if let Some(p) = perm.take()
                && let Some(pkg) = package.as_mut()
            {
                if pkg.permissions.len() < MAX_PERMISSIONS {
                    pkg.permissions.push(p);
                } else {
                    *dropped += 1;
                }
            }
        };

    for line in lines {
        let line = line.as_ref();
        if line.starts_with("  Uid 0:") {
            in_packages = true;
        }
        if !in_packages {
            continue;
        }
        if line.starts_with("  Uid ") {
            uid = Some(py::slice(line, 6, Some(-1)).to_owned());
            close_entry(&mut perm, &mut entry, &mut dropped);
            if package.is_some() {
                close_perm(&mut package, &mut perm, &mut dropped);
                if let Some(p) = package.take() {
                    emit(p);
                }
            }
            perm = None;
            continue;
        }
        if line.starts_with("    Package ") {
            close_entry(&mut perm, &mut entry, &mut dropped);
            if package.is_some() {
                close_perm(&mut package, &mut perm, &mut dropped);
                if let Some(p) = package.take() {
                    emit(p);
                }
            }
            perm = None;
            package = Some(Package {
                package_name: py::slice(line, 12, Some(-1)).to_owned(),
                uid: uid.clone(),
                permissions: Vec::new(),
            });
            continue;
        }
        if package.is_some()
            && line.starts_with("      ")
            && line.chars().nth(6).is_some_and(|c| c != ' ')
        {
            close_entry(&mut perm, &mut entry, &mut dropped);
            close_perm(&mut package, &mut perm, &mut dropped);
            let mut words = line.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            let access = words.next().map(|w| py::slice(w, 1, Some(-2)).to_owned());
            perm = Some(Permission {
                name,
                access,
                entries: Vec::new(),
            });
            continue;
        }
        if line.starts_with("          ") {
            let access = line.split(':').next().unwrap_or_default().trim();
            if access == "Access" || access == "Reject" {
                close_entry(&mut perm, &mut entry, &mut dropped);
                let open = py::find(line, "[");
                let close = py::find(line, "]");
                let kind = py::slice(line, open + 1, Some(close)).to_owned();
                let paren = py::find(line, "(");
                let raw = py::slice(line, close + 1, Some(paren)).trim().to_owned();
                let time = crate::tz::parse_civil(&raw)
                    .filter(|_| raw.contains('.'))
                    .and_then(|dt| tz.wall_to_utc(dt));
                entry = Some(OpEntry {
                    access: access.to_owned(),
                    kind,
                    raw_time: time.map(|_| raw),
                    time,
                });
            }
        }
        if line.trim().is_empty() {
            break;
        }
    }
    close_entry(&mut perm, &mut entry, &mut dropped);
    close_perm(&mut package, &mut perm, &mut dropped);
    if let Some(p) = package {
        emit(p);
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_permissions_entries() {
        let text = "  Uid 0:\n    state=cch\n    Package com.a:\n      MANAGE_IPSEC_TUNNELS (allow):\n  Uid u0a1:\n    Package com.b:\n      WRITE_SMS (ignore):\n          Reject: [fg-s]2021-05-19 22:02:52.054 (-314d)\n          Access: [bg] bad date (x)\n          Other: [x] 2021-05-19 22:02:52.054 (y)\n      WAKE_LOCK (allow):\n\n    Package com.c:\n";
        let mut out = Vec::new();
        parse(text.lines(), &DeviceTz::unknown(), |p| out.push(p));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].package_name, "com.a");
        assert_eq!(out[0].uid.as_deref(), Some("0"));
        assert_eq!(out[0].permissions[0].access.as_deref(), Some("allow"));
        let b = &out[1];
        assert_eq!(b.uid.as_deref(), Some("u0a1"));
        assert_eq!(b.permissions.len(), 2);
        let e = &b.permissions[0].entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].kind, "fg-s");
        assert_eq!(e[0].time.unwrap().to_mvt(), "2021-05-19 22:02:52.054000");
        assert!(e[1].time.is_none());
        assert_eq!(
            b.json()["permissions"][0]["entries"][1].get("timestamp"),
            None
        );
    }
}
