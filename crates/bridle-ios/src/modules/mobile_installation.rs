//! App installations and removals from installd's log
//! (`logs/MobileInstallation/mobile_installation.log.*` in a sysdiagnose).
//!
//! Lines look like `Mon Apr  7 06:13:34 2025 [234] <notice> (0x16b48f000) -[MIInstaller
//! performInstallationWithError:]: Install Successful for (Customer:org.example.app); …`, in
//! the device's local time with no offset: the sysdiagnose's name gives the offset (without
//! one, the time is read as UTC and the record says so). The events kept:
//!
//! | message | event |
//! | --- | --- |
//! | `Install Successful for (<type>:<bundle id>)` | `app_installed` |
//! | `Uninstalling identifier <bundle id>` | `app_uninstalled` |
//! | `Made container live for <bundle id> at <path>` | `container_created` |
//! | `Destroying container <bundle id> … at <path>` | `container_destroyed` |
//!
//! The bundle id is offered as an app id, the container path as a file path.

use super::found::Tally;
use crate::text::{Lines, MAX_LINE_BYTES, is_binary};
use crate::{Ios, IosKind, SysdiagnoseName};
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    MobileInstallation,
    "mobile_installation",
    "MobileInstallation",
    "App installations and removals (mobile_installation.log)"
);

const PATTERNS: &[&str] = &["logs/MobileInstallation/mobile_installation.log*"];
/// Most events kept per log.
pub const MAX_EVENTS: usize = 1_000_000;

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallEvent {
    /// Line number.
    pub line: u64,
    /// The local time as written, normalised to `YYYY-mm-dd HH:MM:SS`.
    pub local_time: Option<String>,
    /// Event name (`app_installed`, …).
    pub event: &'static str,
    /// The bundle id.
    pub bundle_id: String,
    /// The install type (`Customer`, `Placeholder`, `System`…), for installs.
    pub install_type: Option<String>,
    /// The container path, for container events.
    pub path: Option<String>,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The local time at the start of a line: `Mon Apr  7 06:13:34 2025` (installd) or
/// `2024-10-05 04:59:42`.
fn line_time(text: &str) -> Option<jiff::civil::DateTime> {
    let words: Vec<&str> = text.split_whitespace().take(5).collect();
    if let [_, month, day, clock, year] = words.as_slice()
        && let Some(m) = MONTHS.iter().position(|x| x == month)
    {
        let mut c = clock.split(':');
        let (h, mi, s) = (
            c.next()?.parse::<i8>().ok()?,
            c.next()?.parse::<i8>().ok()?,
            c.next()?.parse::<i8>().ok()?,
        );
        return jiff::civil::DateTime::new(
            year.parse().ok()?,
            i8::try_from(m + 1).ok()?,
            day.parse().ok()?,
            h,
            mi,
            s,
            0,
        )
        .ok();
    }
    let head = text.get(..19)?;
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", head).ok()
}

/// The word after `marker`, trimmed of `;`, `)` and `,`.
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let at = text.find(marker)? + marker.len();
    let w = text.get(at..)?.split_whitespace().next()?;
    let w = w.trim_end_matches([';', ')', ',']);
    (!w.is_empty()).then_some(w)
}

/// The path after the last ` at ` of a line.
fn path_after_at(text: &str) -> Option<String> {
    let at = text.rfind(" at ")? + 4;
    let p = text.get(at..)?.trim();
    p.starts_with('/').then(|| p.to_owned())
}

/// Parses one line.
pub fn parse_line(number: u64, text: &str) -> Option<InstallEvent> {
    let (event, bundle, install_type, path) =
        if let Some(at) = text.find("Install Successful for (") {
            let inner = text.get(at + "Install Successful for (".len()..)?;
            let inner = inner.get(..inner.find(')')?)?;
            let (kind, bundle) = match inner.split_once(':') {
                Some((k, b)) => (Some(k.trim().to_owned()), b.trim()),
                None => (None, inner.trim()),
            };
            ("app_installed", bundle.to_owned(), kind, None)
        } else if let Some(b) = word_after(text, "Uninstalling identifier ") {
            ("app_uninstalled", b.to_owned(), None, None)
        } else if let Some(b) = word_after(text, "Made container live for ") {
            ("container_created", b.to_owned(), None, path_after_at(text))
        } else if let Some(b) = word_after(text, "Destroying container ") {
            (
                "container_destroyed",
                b.to_owned(),
                None,
                path_after_at(text),
            )
        } else {
            return None;
        };
    if bundle.is_empty() {
        return None;
    }
    Some(InstallEvent {
        line: number,
        local_time: line_time(text).map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()),
        event,
        bundle_id: bundle,
        install_type,
        path,
    })
}

fn utc(local: Option<&str>, name: Option<&SysdiagnoseName>) -> Option<Timestamp> {
    let dt = jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", local?).ok()?;
    match name {
        Some(n) => n.local_to_utc(dt),
        None => {
            let ts = jiff::tz::TimeZone::UTC.to_timestamp(dt).ok()?;
            Timestamp::from_unix_micros(ts.as_microsecond())
        }
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::Sysdiagnose {
        return Ok(ModuleOutcome::NotFound("not a sysdiagnose".into()));
    }
    let found = ios
        .find(PATTERNS)
        .map_err(|e| super::unreadable("logs/MobileInstallation", &e))?;
    if found.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no mobile_installation.log in this sysdiagnose".into(),
        ));
    }
    let name = ios.sysdiagnose_name();
    let mut tally = Tally::default();
    for located in &found {
        let file = match ios.register(located) {
            Ok(f) => f,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        let opened = match std::fs::File::open(&located.path) {
            Ok(f) => f,
            Err(e) => {
                tally.failed(
                    sink,
                    located,
                    &bridle_evidence::EvidenceError::Io {
                        path: located.path.clone(),
                        source: e,
                    },
                );
                continue;
            }
        };
        tally.ok();
        let mut lines = Lines::new(
            std::io::BufReader::new(opened),
            MAX_LINE_BYTES,
            ios.limits().max_text_bytes,
        );
        let (mut binary, mut kept, mut over) = (0u64, 0usize, 0u64);
        loop {
            let line = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => break,
                Err(e) => {
                    sink.problem(Problem::file(
                        ProblemKind::Partial,
                        located.logical.clone(),
                        e.to_string(),
                    ));
                    break;
                }
            };
            if is_binary(line.bytes) {
                binary += 1;
                continue;
            }
            let text = String::from_utf8_lossy(line.bytes);
            let Some(ev) = parse_line(line.number, &text) else {
                continue;
            };
            if kept >= MAX_EVENTS {
                over += 1;
                continue;
            }
            kept += 1;
            let time = utc(ev.local_time.as_deref(), name);
            let mut r = Record::new(Source::row(&file, "mobile_installation.log", ev.line));
            r.set("isodate", super::iso(time))
                .set(
                    "local_time",
                    ev.local_time.as_deref().map_or(Json::Null, Json::from),
                )
                .set(
                    "utc_offset",
                    name.map_or(Json::from("assumed +0000"), |n| {
                        Json::from(n.utc_offset.as_str())
                    }),
                )
                .set("event", ev.event)
                .set("bundle_id", ev.bundle_id.as_str())
                .set(
                    "install_type",
                    ev.install_type.as_deref().map_or(Json::Null, Json::from),
                )
                .set("path", ev.path.as_deref().map_or(Json::Null, Json::from));
            let text = match ev.event {
                "app_installed" => format!(
                    "App {} installed ({})",
                    ev.bundle_id,
                    ev.install_type.as_deref().unwrap_or("unknown type")
                ),
                "app_uninstalled" => format!("App {} uninstalled", ev.bundle_id),
                "container_created" => format!(
                    "Container of {} created at {}",
                    ev.bundle_id,
                    ev.path.as_deref().unwrap_or("?")
                ),
                _ => format!(
                    "Container of {} destroyed at {}",
                    ev.bundle_id,
                    ev.path.as_deref().unwrap_or("?")
                ),
            };
            r.event(TimelineEvent::new(time, ev.event, text));
            r.observe(Observable::new(
                ObservableKind::AppId,
                ev.bundle_id.as_str(),
                "bundle_id",
            ));
            if let Some(p) = &ev.path {
                r.observe(Observable::new(
                    ObservableKind::FilePath,
                    p.as_str(),
                    "path",
                ));
            }
            sink.record(r);
        }
        let mut notes = Vec::new();
        if binary > 0 {
            notes.push(format!("{binary} lines are not text and were skipped"));
        }
        if lines.overlong() > 0 {
            notes.push(format!(
                "{} lines longer than {MAX_LINE_BYTES} bytes were cut",
                lines.overlong()
            ));
        }
        if over > 0 {
            notes.push(format!(
                "{over} events past the first {MAX_EVENTS} were skipped"
            ));
        }
        if !notes.is_empty() {
            sink.problem(Problem::file(
                ProblemKind::Partial,
                located.logical.clone(),
                notes.join("; "),
            ));
        }
    }
    tally.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installd_lines() {
        let e = parse_line(3, "Mon Apr  7 06:13:52 2025 [234] <notice> (0x16b48f000) -[MIInstaller performInstallationWithError:]: Install Successful for (Customer:org.whispersystems.signal); Staging: 0.03s").unwrap();
        assert_eq!(e.event, "app_installed");
        assert_eq!(e.bundle_id, "org.whispersystems.signal");
        assert_eq!(e.install_type.as_deref(), Some("Customer"));
        assert_eq!(e.local_time.as_deref(), Some("2025-04-07 06:13:52"));
        let e = parse_line(4, "Mon Apr  7 07:40:47 2025 [446] <err> (0x16fc9b000) -[MIUninstaller _uninstallBundleWithIdentity:linkedToChildren:waitForDeletion:uninstallReason:temporaryReference:wasLastReference:error:]: Destroying container org.whispersystems.signal with persona (null) at /private/var/containers/Bundle/Application/1EC20F02-263B-4299-AE05-3F5D7A7744E9").unwrap();
        assert_eq!(e.event, "container_destroyed");
        assert_eq!(
            e.path.as_deref(),
            Some("/private/var/containers/Bundle/Application/1EC20F02-263B-4299-AE05-3F5D7A7744E9")
        );
        assert_eq!(
            parse_line(5, "Mon Apr  7 07:40:47 2025 [446] <notice> (0x1) -[MIUninstaller x]: Uninstalling identifier com.example.app").unwrap().bundle_id,
            "com.example.app"
        );
        assert!(parse_line(6, "2024-10-05 04:59:42 installd: Installing app 0FD2").is_none());
        assert!(parse_line(7, "Install Successful for (").is_none());
    }
}
