//! Sysdiagnose folders: recognising one, and what its name says.
//!
//! A sysdiagnose is written by the phone as `sysdiagnose_YYYY.MM.DD_HH-MM-SS±ZZZZ_<platform>_
//! <model>_<build>.tar.gz` holding one folder of the same name (without `.tar.gz`). The name
//! is the only place that gives the device's UTC offset at the time it was taken, which the
//! text logs inside need: their timestamps are local and carry no offset. See
//! `docs/sysdiagnose.md` for the layout the modules rely on.

use crate::text::Lines;
use bridle_model::Timestamp;
use std::path::{Path, PathBuf};

/// Files and folders whose presence marks a sysdiagnose folder.
const MARKERS: [(&str, bool); 5] = [
    ("sysdiagnose.log", false),
    ("ps.txt", false),
    ("remotectl_dumpstate.txt", false),
    ("system_logs.logarchive", true),
    ("crashes_and_spins", true),
];

/// Lines of `sysdiagnose.log` searched for the archive name.
const MAX_LOG_LINES: u64 = 10_000;

/// What a sysdiagnose's name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysdiagnoseName {
    /// The name as found (folder or archive name, without `.tar.gz`).
    pub name: String,
    /// Local creation time, `YYYY-mm-dd HH:MM:SS`.
    pub local_time: String,
    /// UTC offset as written, `±HHMM`.
    pub utc_offset: String,
    /// The same offset in seconds east of UTC.
    pub offset_seconds: i32,
    /// Creation time in UTC.
    pub created: Option<Timestamp>,
    /// What follows the time: `<platform>_<model>` (`iPhone-OS_iPhone`).
    pub device: Option<String>,
    /// The OS build (`22A3370`), the last `_`-separated part.
    pub build: Option<String>,
}

impl SysdiagnoseName {
    /// Converts a local wall-clock time of this device (as the text logs write it) to UTC.
    pub fn local_to_utc(&self, local: jiff::civil::DateTime) -> Option<Timestamp> {
        let offset = jiff::tz::Offset::from_seconds(self.offset_seconds).ok()?;
        let ts = offset.to_timestamp(local).ok()?;
        Timestamp::from_unix_micros(ts.as_microsecond())
    }
}

fn digits(s: &str, n: usize) -> Option<i32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses `sysdiagnose_YYYY.MM.DD_HH-MM-SS±ZZZZ[_rest]` (with or without `IN_PROGRESS_`,
/// `.tar.gz`, `.tmp`, or a leading folder path).
pub fn parse_sysdiagnose_name(text: &str) -> Option<SysdiagnoseName> {
    let base = text.rsplit(['/', '\\']).next().unwrap_or(text);
    let base = base.strip_prefix("IN_PROGRESS_").unwrap_or(base);
    let base = base
        .strip_suffix(".tar.gz")
        .or_else(|| base.strip_suffix(".tgz"))
        .or_else(|| base.strip_suffix(".tmp"))
        .unwrap_or(base);
    let rest = base.strip_prefix("sysdiagnose_")?;
    let date = rest.get(..10)?;
    let time = rest.get(11..19)?;
    if rest.get(10..11)? != "_" {
        return None;
    }
    let sign = rest.get(19..20)?;
    let zone = rest.get(20..24)?;
    let mut d = date.split('.');
    let (y, mo, da) = (
        digits(d.next()?, 4)?,
        digits(d.next()?, 2)?,
        digits(d.next()?, 2)?,
    );
    let mut t = time.split('-');
    let (h, mi, s) = (
        digits(t.next()?, 2)?,
        digits(t.next()?, 2)?,
        digits(t.next()?, 2)?,
    );
    let (zh, zm) = (digits(zone.get(..2)?, 2)?, digits(zone.get(2..)?, 2)?);
    let magnitude = zh.checked_mul(3600)?.checked_add(zm.checked_mul(60)?)?;
    let offset_seconds = match sign {
        "+" => magnitude,
        "-" => -magnitude,
        _ => return None,
    };
    let civil = jiff::civil::DateTime::new(
        i16::try_from(y).ok()?,
        i8::try_from(mo).ok()?,
        i8::try_from(da).ok()?,
        i8::try_from(h).ok()?,
        i8::try_from(mi).ok()?,
        i8::try_from(s).ok()?,
        0,
    )
    .ok()?;
    let tail = rest.get(24..).unwrap_or_default();
    let tail = tail.strip_prefix('_').unwrap_or(tail);
    let (device, build) = match tail.rsplit_once('_') {
        Some((dev, build)) if !build.is_empty() => (Some(dev.to_owned()), Some(build.to_owned())),
        _ if !tail.is_empty() => (None, Some(tail.to_owned())),
        _ => (None, None),
    };
    let mut name = SysdiagnoseName {
        name: base.to_owned(),
        local_time: format!("{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}"),
        utc_offset: format!("{sign}{zone}"),
        offset_seconds,
        created: None,
        device,
        build,
    };
    name.created = name.local_to_utc(civil);
    Some(name)
}

fn marker_count(dir: &Path) -> usize {
    MARKERS
        .iter()
        .filter(|(name, is_dir)| {
            // symlink_metadata: a marker that is a link does not count.
            std::fs::symlink_metadata(dir.join(name))
                .is_ok_and(|m| if *is_dir { m.is_dir() } else { m.is_file() })
        })
        .count()
}

fn is_sysdiagnose_folder(dir: &Path) -> bool {
    let named = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("sysdiagnose_"));
    let markers = marker_count(dir);
    markers >= 2 || (named && markers >= 1)
}

/// Finds the root of an unpacked sysdiagnose: `path` itself when it holds the sysdiagnose's
/// files (at least two of `sysdiagnose.log`, `ps.txt`, `remotectl_dumpstate.txt`,
/// `system_logs.logarchive/`, `crashes_and_spins/`, or one of them in a folder named
/// `sysdiagnose_…`), or its only sub-folder that does (an archive unpacked into a folder).
/// Links are not followed.
pub fn find_sysdiagnose_root(path: &Path) -> Option<PathBuf> {
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    if is_sysdiagnose_folder(path) {
        return Some(path.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .filter(|p| is_sysdiagnose_folder(p))
        .collect();
    (found.len() == 1).then(|| found.swap_remove(0))
}

/// The sysdiagnose's name: the folder's own name when it has the phone's form, else the
/// archive name `sysdiagnose.log` records (`Archive: …/sysdiagnose_….tar.gz`, or the
/// `IN_PROGRESS_sysdiagnose_…` output folder), as MVT reads it.
pub(crate) fn name_of(root: &Path) -> Option<SysdiagnoseName> {
    if let Some(n) = root
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_sysdiagnose_name)
    {
        return Some(n);
    }
    let file = std::fs::File::open(root.join("sysdiagnose.log")).ok()?;
    let mut lines = Lines::new(
        std::io::BufReader::new(file),
        crate::text::MAX_LINE_BYTES,
        64 << 20,
    );
    while let Ok(Some(line)) = lines.next_line() {
        if line.number > MAX_LOG_LINES {
            break;
        }
        let text = String::from_utf8_lossy(line.bytes);
        for token in text.split(|c: char| c.is_whitespace() || c == ',') {
            if token.contains("sysdiagnose_")
                && let Some(at) = token.find("sysdiagnose_")
                && let Some(n) = token.get(at..).and_then(parse_sysdiagnose_name)
            {
                return Some(n);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_phone_name() {
        let n = parse_sysdiagnose_name(
            "sysdiagnose_2024.10.16_06-04-26-0500_iPhone-OS_iPhone_22A3370.tar.gz",
        )
        .unwrap();
        assert_eq!(n.local_time, "2024-10-16 06:04:26");
        assert_eq!(n.utc_offset, "-0500");
        assert_eq!(n.offset_seconds, -5 * 3600);
        assert_eq!(n.created.unwrap().to_mvt(), "2024-10-16 11:04:26.000000");
        assert_eq!(n.device.as_deref(), Some("iPhone-OS_iPhone"));
        assert_eq!(n.build.as_deref(), Some("22A3370"));
        let n = parse_sysdiagnose_name(
            "/x/IN_PROGRESS_sysdiagnose_2019.02.13_10-23-45+0530_iPhone_OS_iPhone_16D57.tmp",
        )
        .unwrap();
        assert_eq!(n.offset_seconds, 5 * 3600 + 30 * 60);
        assert_eq!(n.device.as_deref(), Some("iPhone_OS_iPhone"));
        assert_eq!(
            parse_sysdiagnose_name("sysdiagnose_2024.10.16_06-04-26+0000").map(|n| n.build),
            Some(None)
        );
    }

    #[test]
    fn refuses_malformed_names() {
        for bad in [
            "sysdiagnose_",
            "sysdiagnose_2024.13.16_06-04-26-0500_x",
            "sysdiagnose_2024.10.16_06-04-26*0500_x",
            "sysdiagnose_2024.10.16-06-04-26-0500",
            "sysdiagnose_2024.1é.16_06-04-26-0500",
            "other_2024.10.16_06-04-26-0500",
        ] {
            assert_eq!(parse_sysdiagnose_name(bad), None, "{bad}");
        }
    }
}
