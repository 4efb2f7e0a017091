//! The smaller dumpsys sections: accessibility, activities and receivers (both from
//! `package`), dbinfo and platform_compat.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// An accessibility service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessibilityService {
    /// Package name.
    pub package_name: String,
    /// Service (the old format keeps `pkg/cls`, the Android 14 format only `cls`).
    pub service: String,
}

static ENABLED_SERVICE: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| regex::Regex::new(r"\{([^{]+?)\}").ok());

/// Parses `dumpsys accessibility` (both formats) in one pass: the old format's
/// `installed services:` list up to its `}`, and every Android 14 `Enabled services:{{...}}`
/// line, emitted after the old list's services as MVT's two loops order them.
pub fn parse_accessibility<I, S>(lines: I, mut emit: impl FnMut(AccessibilityService))
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut in_services = false;
    let mut old_done = false;
    let mut enabled: Vec<AccessibilityService> = Vec::new();
    for line in lines {
        let line = line.as_ref();
        let trimmed = line.trim();
        if trimmed.starts_with("Enabled services:")
            && let Some(re) = ENABLED_SERVICE.as_ref()
        {
            for cap in re.captures_iter(line) {
                let inner = cap.get(1).map_or("", |m| m.as_str());
                let (pkg, svc) = inner.split_once('/').unwrap_or((inner, ""));
                // Kept until the end: MVT lists the old format's services first.
                if enabled.len() < 100_000 {
                    enabled.push(AccessibilityService {
                        package_name: pkg.to_owned(),
                        service: svc.to_owned(),
                    });
                }
            }
        }
        if old_done {
            continue;
        }
        if trimmed.starts_with("installed services:") {
            in_services = true;
            continue;
        }
        if !in_services {
            continue;
        }
        if trimmed == "}" {
            old_done = true;
            continue;
        }
        let Some(service) = line.split(':').nth(1) else {
            continue;
        };
        let service = service.trim();
        emit(AccessibilityService {
            package_name: service.split('/').next().unwrap_or_default().to_owned(),
            service: service.to_owned(),
        });
    }
    for s in enabled {
        emit(s);
    }
}

/// An activity handling an intent (`Activity Resolver Table`, non-data actions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// The intent action.
    pub intent: String,
    /// Package name.
    pub package_name: String,
    /// `pkg/activity`.
    pub activity: String,
}

/// Parses the package section's `Activity Resolver Table` non-data actions.
pub fn parse_activities<I, S>(lines: I, mut emit: impl FnMut(Activity))
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut in_table = false;
    let mut in_non_data = false;
    let mut intent: Option<String> = None;
    for line in lines {
        let line = line.as_ref();
        if line.starts_with("Activity Resolver Table:") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if line.starts_with("  Non-Data Actions:") {
            in_non_data = true;
            continue;
        }
        if !in_non_data {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with("      ") && !line.starts_with("        ") && line.contains(':') {
            intent = Some(line.trim().replace(':', ""));
            continue;
        }
        let Some(current) = &intent else { continue };
        if !line.starts_with("        ") {
            intent = None;
            continue;
        }
        let Some(activity) = line.trim().split(' ').nth(1) else {
            continue;
        };
        emit(Activity {
            intent: current.clone(),
            package_name: activity.split('/').next().unwrap_or_default().to_owned(),
            activity: activity.to_owned(),
        });
    }
}

/// A broadcast receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receiver {
    /// Package name.
    pub package_name: String,
    /// `pkg/receiver`.
    pub receiver: String,
}

/// Most receivers kept (the section becomes one record).
pub const MAX_RECEIVERS: usize = 1_000_000;

/// Parses the package section's `Receiver Resolver Table` non-data actions: receivers by
/// intent, in the order intents appear (MVT's dict order).
pub fn parse_receivers<I, S>(lines: I) -> Vec<(String, Vec<Receiver>)>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<(String, Vec<Receiver>)> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = 0usize;
    let mut in_table = false;
    let mut in_non_data = false;
    let mut intent: Option<String> = None;
    let slot = |out: &mut Vec<(String, Vec<Receiver>)>,
                index: &mut BTreeMap<String, usize>,
                name: &str,
                reset: bool| {
        match index.get(name) {
            Some(&i) => {
                if reset && let Some(e) = out.get_mut(i) {
                    e.1.clear();
                }
            }
            None => {
                index.insert(name.to_owned(), out.len());
                out.push((name.to_owned(), Vec::new()));
            }
        }
    };
    for line in lines {
        let line = line.as_ref();
        if line.starts_with("Receiver Resolver Table:") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if line.starts_with("  Non-Data Actions:") {
            in_non_data = true;
            continue;
        }
        if !in_non_data {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with("      ") && !line.starts_with("        ") && line.contains(':') {
            let name = line.trim().replace(':', "");
            slot(&mut out, &mut index, &name, true);
            intent = Some(name);
            continue;
        }
        let parts: Vec<&str> = line.trim().split(' ').collect();
        if parts.len() < 2 {
            if let Some(p) = parts.first()
                && let Some(name) = p.strip_suffix(':')
            {
                slot(&mut out, &mut index, name, false);
                intent = Some(name.to_owned());
            }
            continue;
        }
        let Some(current) = &intent else { continue };
        if !line.starts_with("        ") {
            intent = None;
            continue;
        }
        let Some(receiver) = parts.get(1) else {
            continue;
        };
        if count >= MAX_RECEIVERS {
            continue;
        }
        count += 1;
        if let Some(e) = index.get(current).and_then(|i| out.get_mut(*i)) {
            e.1.push(Receiver {
                package_name: receiver.split('/').next().unwrap_or_default().to_owned(),
                receiver: (*receiver).to_owned(),
            });
        }
    }
    out
}

/// Receivers of these intents can intercept SMS and calls (MVT logs them).
pub const SENSITIVE_INTENTS: [(&str, &str); 5] = [
    (
        "android.provider.Telephony.NEW_OUTGOING_SMS",
        "intercept outgoing SMS messages",
    ),
    (
        "android.provider.Telephony.SMS_RECEIVED",
        "intercept incoming SMS messages",
    ),
    (
        "android.intent.action.DATA_SMS_RECEIVED",
        "intercept incoming data SMS message",
    ),
    (
        "android.intent.action.PHONE_STATE",
        "monitor telephony state/incoming calls",
    ),
    (
        "android.intent.action.NEW_OUTGOING_CALL",
        "monitor outgoing calls",
    ),
];

static DBINFO_OP: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(
        r#"^.*\[((?:[0-9]{4}-)?[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3})\]\s*(?:\[Pid:\((\d+)\)\])?([\w-]+).*?sql="(.+?)""#,
    )
    .ok()
});

/// A recently executed database operation (`dumpsys dbinfo`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbOperation {
    /// The time as written (local wall time; the year may be missing).
    pub isodate: String,
    /// The operation (`executeForCursorWindow`).
    pub action: String,
    /// The SQL.
    pub sql: String,
    /// The database path.
    pub path: String,
    /// The pid, when written.
    pub pid: Option<String>,
}

impl DbOperation {
    /// The record as MVT writes it.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("isodate".into(), json!(self.isodate));
        m.insert("action".into(), json!(self.action));
        m.insert("sql".into(), json!(self.sql));
        m.insert("path".into(), json!(self.path));
        if let Some(p) = &self.pid {
            m.insert("pid".into(), json!(p));
        }
        m
    }
}

/// Parses `dumpsys dbinfo`.
pub fn parse_dbinfo<I, S>(lines: I, mut emit: impl FnMut(DbOperation))
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut pool: Option<String> = None;
    let mut in_ops = false;
    for line in lines {
        let line = line.as_ref();
        if let Some(p) = line.strip_prefix("Connection pool for ") {
            pool = Some(p.trim_end_matches(':').to_owned());
        }
        let Some(path) = &pool else { continue };
        if line.trim() == "Most recently executed operations:" {
            in_ops = true;
            continue;
        }
        if !in_ops {
            continue;
        }
        if !line.starts_with("        ") {
            in_ops = false;
            pool = None;
            continue;
        }
        let Some(caps) = DBINFO_OP.as_ref().and_then(|re| re.captures(line)) else {
            continue;
        };
        let group = |i: usize| caps.get(i).map(|m| m.as_str().to_owned());
        emit(DbOperation {
            isodate: group(1).unwrap_or_default(),
            action: group(3).unwrap_or_default(),
            sql: group(4).unwrap_or_default(),
            path: path.clone(),
            pid: group(2),
        });
    }
}

/// Parses `dumpsys platform_compat`: packages named in the `DOWNSCALED` change's raw
/// overrides (apps that were installed and have been removed).
pub fn parse_platform_compat<I, S>(lines: I, mut emit: impl FnMut(String))
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for line in lines {
        let line = line.as_ref();
        if !line.starts_with("ChangeId(168419799; name=DOWNSCALED;") {
            continue;
        }
        let Some((_, rest)) = line.split_once("rawOverrides={") else {
            continue;
        };
        let field = rest.split_once("};").map_or(rest, |x| x.0);
        for entry in field.split(", ") {
            emit(
                entry
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receivers_tolerate_misindented_actions() {
        let text = "Receiver Resolver Table:\n  Non-Data Actions:\n      a.b.C:\n        1234 com.x/.R filter\n               d.e.F:\n        5678 com.y/.S filter\n\n";
        let r = parse_receivers(text.lines());
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].0, "d.e.F");
        assert_eq!(r[1].1[0].package_name, "com.y");
    }

    #[test]
    fn dbinfo_month_day_form() {
        let text = "Connection pool for /data/x.db:\n  Most recently executed operations:\n        0: [07-15 20:27:39.431] executeForCursorWindow took 1ms - succeeded, sql=\"SELECT 1\", path=/data/x.db\n";
        let mut out = Vec::new();
        parse_dbinfo(text.lines(), |o| out.push(o));
        assert_eq!(out.len(), 1);
        let j = out[0].json();
        assert_eq!(j["isodate"], "07-15 20:27:39.431");
        assert_eq!(j["action"], "executeForCursorWindow");
        assert_eq!(j["sql"], "SELECT 1");
        assert_eq!(j["path"], "/data/x.db");
        assert!(j.get("pid").is_none());
    }
}
