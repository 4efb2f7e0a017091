//! `dumpsys batterystats`: the daily package updates (with uninstalls and downgrades) and
//! the battery history events naming packages.

use crate::py;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Most daily update records kept (the section is read whole to find downgrades).
pub const MAX_DAILY_RECORDS: usize = 1_000_000;

/// One `Update pkg vers=N` line of a `Daily from A to B:` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyUpdate {
    /// `update`, or `downgrade` once compared with earlier days.
    pub action: &'static str,
    /// First 10 characters of the block's start (a date).
    pub from: String,
    /// First 10 characters of the block's end.
    pub to: String,
    /// Package name.
    pub package_name: String,
    /// Version code as written (`0` means uninstalled).
    pub vers: String,
    /// The earlier, higher version for a downgrade.
    pub previous_vers: Option<String>,
}

impl DailyUpdate {
    /// The record as MVT writes it.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("action".into(), json!(self.action));
        m.insert("from".into(), json!(self.from));
        m.insert("to".into(), json!(self.to));
        m.insert("package_name".into(), json!(self.package_name));
        m.insert("vers".into(), json!(self.vers));
        if let Some(p) = &self.previous_vers {
            m.insert("previous_vers".into(), json!(p));
        }
        m
    }

    /// MVT's timeline text.
    pub fn timeline_text(&self) -> String {
        if self.vers == "0" {
            format!(
                "Recorded uninstall of package {} (vers 0)",
                self.package_name
            )
        } else if self.action == "downgrade" {
            format!(
                "Recorded downgrade of package {} from vers {} to vers {}",
                self.package_name,
                self.previous_vers.as_deref().unwrap_or("unknown"),
                self.vers
            )
        } else {
            format!(
                "Recorded update of package {} with vers {}",
                self.package_name, self.vers
            )
        }
    }
}

/// The daily updates and, per record index, the MEDIUM alerts MVT raises while parsing.
#[derive(Debug, Default)]
pub struct Daily {
    /// Records, in the order of the dump.
    pub records: Vec<DailyUpdate>,
    /// (record index, message).
    pub alerts: Vec<(usize, String)>,
    /// Lines MVT would have crashed on (no ` to `, no `=`), skipped.
    pub bad_lines: u64,
    /// Records over [`MAX_DAILY_RECORDS`], dropped.
    pub dropped: u64,
}

/// Parses the daily updates and detects uninstalls and downgrades across days.
pub fn parse_daily<I, S>(lines: I) -> Daily
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out = Daily::default();
    let mut daily: Option<(String, String)> = None;
    let mut block_start = 0usize;
    for line in lines {
        let line = line.as_ref();
        if line.starts_with("  Daily from ") {
            block_start = out.records.len();
            let timeframe = py::slice(line, 13, None).trim();
            let timeframe = timeframe.trim_matches(':');
            match timeframe.split_once(" to ") {
                Some((f, t)) => {
                    daily = Some((
                        py::slice(f, 0, Some(10)).to_owned(),
                        py::slice(t, 0, Some(10)).to_owned(),
                    ));
                }
                None => {
                    out.bad_lines += 1;
                    daily = None;
                }
            }
            continue;
        }
        let Some((from, to)) = &daily else { continue };
        let trimmed = line.trim();
        if !trimmed.starts_with("Update ") {
            continue;
        }
        let rest = trimmed.replace("Update ", "");
        let Some((package_name, vers)) = rest.split_once(' ') else {
            out.bad_lines += 1;
            continue;
        };
        let Some((_, vers_nr)) = vers.split_once('=') else {
            out.bad_lines += 1;
            continue;
        };
        let seen = out
            .records
            .get(block_start..)
            .unwrap_or_default()
            .iter()
            .any(|u| u.package_name == package_name && u.vers == vers_nr);
        if seen {
            continue;
        }
        if out.records.len() >= MAX_DAILY_RECORDS {
            out.dropped += 1;
            continue;
        }
        out.records.push(DailyUpdate {
            action: "update",
            from: from.clone(),
            to: to.clone(),
            package_name: package_name.to_owned(),
            vers: vers_nr.to_owned(),
            previous_vers: None,
        });
    }
    detect_uninstalls_and_downgrades(&mut out);
    out
}

fn detect_uninstalls_and_downgrades(out: &mut Daily) {
    let mut order: Vec<usize> = (0..out.records.len()).collect();
    order.sort_by(|a, b| {
        let (x, y) = (&out.records[*a], &out.records[*b]);
        (&x.from, &x.to, &x.package_name).cmp(&(&y.from, &y.to, &y.package_name))
    });
    let mut versions: BTreeMap<String, i64> = BTreeMap::new();
    for i in order {
        let Some(r) = out.records.get_mut(i) else {
            continue;
        };
        if r.vers == "0" {
            out.alerts.push((
                i,
                format!("Detected uninstall of package {} (vers 0)", r.package_name),
            ));
            versions.remove(&r.package_name);
            continue;
        }
        let Ok(current) = r.vers.trim().parse::<i64>() else {
            continue;
        };
        if let Some(prev) = versions.get(&r.package_name).copied()
            && current < prev
        {
            r.action = "downgrade";
            r.previous_vers = Some(prev.to_string());
            out.alerts.push((
                i,
                format!(
                    "Detected downgrade of package {} from vers {prev} to vers {current}",
                    r.package_name
                ),
            ));
        }
        versions.insert(r.package_name.clone(), current);
    }
}

/// One battery history event naming a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Time since the history's start (`+47s645ms`), or an absolute `MM-DD hh:mm:ss.mmm`.
    pub time_elapsed: String,
    /// `start_job`, `end_job`, `wake`, `start_top`, `end_top`.
    pub event: &'static str,
    /// The uid (`u0a94`).
    pub uid: String,
    /// Package name.
    pub package_name: String,
    /// The job or alarm (empty for top events).
    pub service: String,
}

impl HistoryEvent {
    /// The record as MVT writes it.
    pub fn json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("time_elapsed".into(), json!(self.time_elapsed));
        m.insert("event".into(), json!(self.event));
        m.insert("uid".into(), json!(self.uid));
        m.insert("package_name".into(), json!(self.package_name));
        m.insert("service".into(), json!(self.service));
        m
    }
}

fn job(line: &str, marker: &str) -> Option<(String, String, String)> {
    let payload = line.split_once(marker)?.1;
    let (uid, service) = payload.split_once(':')?;
    let service = service.trim().trim_matches('"').to_owned();
    let package = service.split('/').next().unwrap_or_default().to_owned();
    Some((uid.to_owned(), package, service))
}

/// Parses the history lines (until the first blank line), calling `emit` per event.
pub fn parse_history<I, S>(lines: I, mut emit: impl FnMut(HistoryEvent))
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for line in lines {
        let line = line.as_ref();
        if line.starts_with("Battery History ") {
            continue;
        }
        if line.trim().is_empty() {
            break;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let Some(first) = parts.first() else { continue };
        let mut time_elapsed = (*first).to_owned();
        if let Some(second) = parts.get(1)
            && first.chars().count() == 5
            && first.chars().nth(2) == Some('-')
            && second.contains(':')
        {
            time_elapsed = format!("{first} {second}");
        }
        let (event, uid, package_name, service) = if py::find(line, "+job") > 0 {
            let Some((u, p, s)) = job(line, "+job=") else {
                continue;
            };
            ("start_job", u, p, s)
        } else if py::find(line, "-job") > 0 {
            let Some((u, p, s)) = job(line, "-job=") else {
                continue;
            };
            ("end_job", u, p, s)
        } else if py::find(line, "+running +wake_lock=") > 0 {
            let Some(payload) = line.split_once("+running +wake_lock=").map(|x| x.1) else {
                continue;
            };
            let Some((uid, _)) = payload.split_once(':') else {
                continue;
            };
            let start = py::find(line, "*walarm*:") + 9;
            let tail = py::slice(line, start, None);
            let service = tail.split(' ').next().unwrap_or_default();
            let service = service.trim_matches('"').trim().to_owned();
            if service.is_empty() || !service.contains('/') {
                continue;
            }
            let package = service.split('/').next().unwrap_or_default().to_owned();
            ("wake", uid.to_owned(), package, service)
        } else if py::find(line, "+top=") > 0 || py::find(line, "-top") > 0 {
            let (event, top) = if py::find(line, "+top=") > 0 {
                ("start_top", py::find(line, "+top="))
            } else {
                ("end_top", py::find(line, "-top="))
            };
            let colon = top + py::find(py::slice(line, top, None), ":");
            let uid = py::slice(line, top + 5, Some(colon)).to_owned();
            let package = py::slice(line, colon + 1, None)
                .trim_matches('"')
                .to_owned();
            (event, uid, package, String::new())
        } else {
            continue;
        };
        emit(HistoryEvent {
            time_elapsed,
            event,
            uid,
            package_name,
            service,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uninstall_and_downgrade() {
        let text = "  Daily from 2022-08-16-00-00-00 to 2022-08-17-00-00-00:\n      Update com.example.removed vers=0\n      Update com.example.app vers=10\n      Update com.example.app vers=10\n  Daily from 2022-08-17-00-00-00 to 2022-08-18-00-00-00:\n      Update com.example.app vers=9\n  Daily from bad\n      Update x vers=1\n";
        let d = parse_daily(text.lines());
        assert_eq!(d.records.len(), 3);
        assert_eq!(d.bad_lines, 1);
        assert_eq!(d.alerts.len(), 2);
        assert_eq!(
            d.alerts[0].1,
            "Detected uninstall of package com.example.removed (vers 0)"
        );
        assert_eq!(
            d.alerts[1].1,
            "Detected downgrade of package com.example.app from vers 10 to vers 9"
        );
        assert_eq!(d.records[2].previous_vers.as_deref(), Some("10"));
        assert_eq!(d.records[2].from, "2022-08-17");
        assert_eq!(
            d.records[2].timeline_text(),
            "Recorded downgrade of package com.example.app from vers 10 to vers 9"
        );
    }

    #[test]
    fn history_absolute_times() {
        let text = "07-15 20:27:39.431 (2) 100 +job=u0a123:\"com.example/.ExampleJob\"\n";
        let mut out = Vec::new();
        parse_history(text.lines(), |e| out.push(e));
        assert_eq!(out[0].time_elapsed, "07-15 20:27:39.431");
        assert_eq!(out[0].event, "start_job");
        assert_eq!(out[0].uid, "u0a123");
        assert_eq!(out[0].package_name, "com.example");
        assert_eq!(out[0].service, "com.example/.ExampleJob");
    }
}
