//! Small line formats: getprop, ps, settings files, mounts.

use crate::py;
use serde_json::{Map, Value, json};
use std::sync::LazyLock;

static GETPROP: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"\[(.+?)\]: \[(.+?)\]").ok());

/// One Android system property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Property name.
    pub name: String,
    /// Its value (never empty: MVT's pattern needs at least one character).
    pub value: String,
}

/// Parses one `getprop` line (`[name]: [value]`), as MVT's regex does.
pub fn getprop_line(line: &str) -> Option<Prop> {
    let line = line.trim();
    if line.is_empty() {
        return None;
    }
    let caps = GETPROP.as_ref()?.captures(line)?;
    Some(Prop {
        name: caps.get(1)?.as_str().to_owned(),
        value: caps.get(2)?.as_str().to_owned(),
    })
}

/// One `ps` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proc {
    /// The record as MVT writes it (including its `aprocress` typo).
    pub json: Map<String, Value>,
    /// The process name, brackets stripped.
    pub name: String,
}

/// Parses one `ps` row after the header, as MVT does (a missing WCHAN, an optional SELinux
/// label first). `Err` explains a row MVT would have crashed on.
pub fn ps_line(line: &str) -> Result<Option<Proc>, String> {
    let mut proc: Vec<&str> = line.split_whitespace().collect();
    if proc.is_empty() {
        return Ok(None);
    }
    if proc.len() == 8 {
        proc.insert(5, "");
    }
    let mut label = "";
    if proc.first().is_some_and(|p| p.starts_with("u:r")) {
        label = proc.remove(0);
    }
    if proc.len() < 9 {
        proc.insert(5.min(proc.len()), "");
    }
    if proc.len() < 9 {
        return Err(format!("{} columns, 9 expected", proc.len()));
    }
    let col = |i: usize| proc.get(i).copied().unwrap_or_default();
    let int = |i: usize| -> Result<i64, String> {
        col(i)
            .parse::<i64>()
            .map_err(|_| format!("column {} is not a number: `{}`", i + 1, col(i)))
    };
    let name = py::strip_chars(col(8), "[]").to_owned();
    let mut json = Map::new();
    json.insert("user".into(), json!(col(0)));
    json.insert("pid".into(), json!(int(1)?));
    json.insert("ppid".into(), json!(int(2)?));
    json.insert("virtual_memory_size".into(), json!(int(3)?));
    json.insert("resident_set_size".into(), json!(int(4)?));
    json.insert("wchan".into(), json!(col(5)));
    json.insert("aprocress".into(), json!(col(6)));
    json.insert("stat".into(), json!(col(7)));
    json.insert("proc_name".into(), json!(name));
    json.insert("label".into(), json!(label));
    Ok(Some(Proc { json, name }))
}

/// One `key=value` line of a settings file (`None` for lines without `=`).
pub fn setting_line(line: &str) -> Option<(String, String)> {
    let line = line.trim();
    let (k, v) = line.split_once('=')?;
    Some((k.to_owned(), v.to_owned()))
}

/// A setting that weakens the device's protection when it differs from its safe value.
#[derive(Debug, Clone, Copy)]
pub struct DangerousSetting {
    /// Setting key.
    pub key: &'static str,
    /// The safe value.
    pub safe_value: &'static str,
    /// What a different value means.
    pub description: &'static str,
}

/// MVT's list of dangerous settings.
pub const DANGEROUS_SETTINGS: [DangerousSetting; 10] = [
    DangerousSetting {
        key: "verifier_verify_adb_installs",
        safe_value: "1",
        description: "disabled Google Play Services apps verification",
    },
    DangerousSetting {
        key: "package_verifier_enable",
        safe_value: "1",
        description: "disabled Google Play Protect",
    },
    DangerousSetting {
        key: "package_verifier_state",
        safe_value: "1",
        description: "disabled APK package verification",
    },
    DangerousSetting {
        key: "package_verifier_user_consent",
        safe_value: "1",
        description: "disabled Google Play Protect",
    },
    DangerousSetting {
        key: "upload_apk_enable",
        safe_value: "1",
        description: "disabled Google Play Protect",
    },
    DangerousSetting {
        key: "adb_install_need_confirm",
        safe_value: "1",
        description: "disabled confirmation of adb apps installation",
    },
    DangerousSetting {
        key: "send_security_reports",
        safe_value: "1",
        description: "disabled sharing of security reports",
    },
    DangerousSetting {
        key: "samsung_errorlog_agree",
        safe_value: "1",
        description: "disabled sharing of crash logs with manufacturer",
    },
    DangerousSetting {
        key: "send_action_app_error",
        safe_value: "1",
        description: "disabled applications errors reports",
    },
    DangerousSetting {
        key: "accessibility_enabled",
        safe_value: "0",
        description: "enabled accessibility services",
    },
];

/// The dangerous-setting entry a key/value pair trips, if any.
pub fn dangerous_setting(key: &str, value: &str) -> Option<&'static DangerousSetting> {
    DANGEROUS_SETTINGS
        .iter()
        .find(|d| d.key == key && d.safe_value != value)
}

const SYSTEM_MOUNT_POINTS: [&str; 4] = ["/system", "/vendor", "/product", "/system_ext"];
const SUSPICIOUS_MOUNT_OPTIONS: [&str; 4] = ["rw", "remount", "noatime", "nodiratime"];
const NOATIME_ALLOWED: [&str; 5] = [
    "/system_dlkm",
    "/system_ext",
    "/product",
    "/vendor",
    "/vendor_dlkm",
];

/// One mount, from a `device on mount_point type fs (options)` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Device.
    pub device: String,
    /// Mount point.
    pub mount_point: String,
    /// File system type.
    pub filesystem_type: String,
    /// Options as written.
    pub mount_options: String,
    /// Options split on `,`.
    pub options: Vec<String>,
    /// Whether the mount point is a system partition (`/system...`, `/vendor...`).
    pub is_system_partition: bool,
    /// Whether it is mounted read-write.
    pub is_read_write: bool,
}

impl Mount {
    /// MVT's record.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("device".into(), json!(self.device));
        m.insert("mount_point".into(), json!(self.mount_point));
        m.insert("filesystem_type".into(), json!(self.filesystem_type));
        m.insert("mount_options".into(), json!(self.mount_options));
        m.insert("options_list".into(), json!(self.options));
        m.insert(
            "is_system_partition".into(),
            json!(self.is_system_partition),
        );
        m.insert("is_read_write".into(), json!(self.is_read_write));
        m
    }

    /// MVT's mount heuristics: (level is HIGH?, message) pairs.
    pub fn heuristics(&self) -> Vec<(bool, String)> {
        let mut out = Vec::new();
        if self.is_system_partition && self.is_read_write {
            if self.mount_point == "/system" {
                out.push((
                    true,
                    "Root detected /system partition is mounted as read-write (rw)".to_owned(),
                ));
            } else {
                out.push((
                    true,
                    format!(
                        "System partition {} is mounted as read-write (rw). This may indicate system modifications.",
                        self.mount_point
                    ),
                ));
            }
        }
        let suspicious: Vec<&str> = self
            .options
            .iter()
            .map(String::as_str)
            .filter(|o| SUSPICIOUS_MOUNT_OPTIONS.contains(o))
            .collect();
        if !suspicious.is_empty()
            && self.is_system_partition
            && !(self.mount_options.contains("noatime")
                && NOATIME_ALLOWED.contains(&self.mount_point.as_str()))
        {
            out.push((
                false,
                format!(
                    "Suspicious mount options found for {}: {}",
                    self.mount_point,
                    suspicious.join(", ")
                ),
            ));
        }
        out
    }
}

/// Parses one mount line; other formats are skipped (as MVT does).
pub fn mount_line(line: &str) -> Option<Mount> {
    let line = line.trim();
    if line.is_empty() || !(line.contains(" on ") && line.contains(" type ")) {
        return None;
    }
    let (device, rest) = line.split_once(" on ")?;
    let (mount_part, fs_part) = rest.split_once(" type ")?;
    let device = device.trim();
    let mount_point = mount_part.trim();
    let (filesystem_type, mount_options) = if fs_part.contains('(') && fs_part.ends_with(')') {
        let fs = fs_part.trim();
        let paren = fs.find('(')?;
        (
            fs.get(..paren)?.trim(),
            fs.get(paren + 1..fs.len().saturating_sub(1))?.trim(),
        )
    } else {
        (fs_part.trim(), "")
    };
    if device.is_empty() || mount_point.is_empty() || filesystem_type.is_empty() {
        return None;
    }
    let options: Vec<String> = mount_options
        .split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    let is_system_partition = SYSTEM_MOUNT_POINTS
        .iter()
        .any(|p| mount_point.starts_with(p));
    let is_read_write = options.iter().any(|o| o == "rw");
    Some(Mount {
        device: device.to_owned(),
        mount_point: mount_point.to_owned(),
        filesystem_type: filesystem_type.to_owned(),
        mount_options: mount_options.to_owned(),
        options,
        is_system_partition,
        is_read_write,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getprop() {
        assert_eq!(
            getprop_line("[ro.build.version.sdk]: [30]"),
            Some(Prop {
                name: "ro.build.version.sdk".into(),
                value: "30".into()
            })
        );
        assert_eq!(getprop_line("[empty]: []"), None);
        assert_eq!(getprop_line("garbage"), None);
    }

    #[test]
    fn ps_rows() {
        let p = ps_line("root             1     0   57912   2084 0                   0 S init")
            .unwrap()
            .unwrap();
        assert_eq!(p.name, "init");
        assert_eq!(p.json["pid"], 1);
        assert_eq!(p.json["wchan"], "0");
        let p = ps_line("u:r:init:s0 root 1 0 1 2 SyS_epoll_wait 0 S [init]")
            .unwrap()
            .unwrap();
        assert_eq!(p.json["label"], "u:r:init:s0");
        assert_eq!(p.name, "init");
        let p = ps_line("root 2 0 0 0 0 S kthreadd").unwrap().unwrap();
        assert_eq!(p.json["wchan"], "");
        assert!(ps_line("root x 0 0 0 0 0 S init").is_err());
        assert!(ps_line("a b").is_err());
        assert_eq!(ps_line("   ").unwrap(), None);
    }

    #[test]
    fn mounts() {
        let m = mount_line("/dev/block/dm-0 on /system type ext4 (rw,seclabel,relatime)").unwrap();
        assert!(m.is_system_partition && m.is_read_write);
        let h = m.heuristics();
        assert_eq!(h.len(), 2);
        assert_eq!(
            h[0],
            (
                true,
                "Root detected /system partition is mounted as read-write (rw)".into()
            )
        );
        assert_eq!(
            h[1],
            (
                false,
                "Suspicious mount options found for /system: rw".into()
            )
        );
        let m = mount_line("/dev/block/dm-3 on /vendor type ext4 (ro,seclabel,noatime)").unwrap();
        assert!(m.heuristics().is_empty());
        let m = mount_line("/dev/block/dm-4 on /system_dlkm type ext4 (ro,noatime)").unwrap();
        assert!(m.heuristics().is_empty());
        let m = mount_line("/dev/block/dm-5 on /system type ext4 (ro,noatime)").unwrap();
        assert_eq!(m.heuristics().len(), 1);
        assert!(mount_line("/dev/sda /system ext4 ro 0 0").is_none());
        let m = mount_line("tmpfs on /dev type tmpfs").unwrap();
        assert_eq!(m.mount_options, "");
    }
}
