//! shutdown.log: the processes still running when the phone was shut down.
//!
//! logd appends to this log at every shutdown: a delay header `After 0.63s, these clients are
//! still here:`, one indented `remaining client pid: N (/path/to/binary/<UUID>)` line per
//! process that has not exited yet, the header and clients again while the wait goes on, and
//! `SIGTERM: [<unix time>] All buffers flushed` when the shutdown goes ahead. Pegasus ran
//! from `/private/var/db/com.apple.xpc.roleaccountd.staging/`, Predator and Reign from
//! `/private/var/tmp/`, and such processes lingered, so they show up here (Kaspersky,
//! "A lightweight method to detect potential iOS malware", 2024; `reference/exploit-detectors.md`
//! §7).
//!
//! Records are MVT's (`ShutdownLog`): one per client per shutdown, with the delay accumulated
//! and the number of delay blocks seen when the client was listed. Observables: the client
//! path as a file path (with and without its trailing binary UUID) and each of its
//! components as a process name (MVT's component check). Heuristics MVT does not have, always
//! run:
//!
//! * a client running from under `/private/var/db/` or `/private/var/tmp/` (the diagnostics
//!   folder itself excepted) → HIGH, saying in how many shutdowns the same path appears;
//! * a shutdown preceded by three or more delay blocks → LOW, supporting evidence only (a
//!   benign busy shutdown does it too: the public iQuiz log has one).
//!
//! The same module reads a sysdiagnose's `system_logs.logarchive/Extra/shutdown.log`.

use super::found::Tally;
use crate::text::{Lines, MAX_LINE_BYTES, is_binary};
use crate::{Ios, IosKind, Located, Locations};
use bridle_model::{
    EvidenceFile, Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind,
    Problem, ProblemKind, Record, Sink, Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::sync::Arc;

ios_module!(
    ShutdownLog,
    "shutdown_log",
    "ShutdownLog",
    "Processes running at each shutdown (shutdown.log), with iShutdown's path and delay heuristics"
);

/// Where a filesystem dump keeps the log and its rotations (MVT reads both).
const FS_PATHS: &[&str] = &[
    "private/var/db/diagnostics/shutdown.log",
    "private/var/db/diagnostics/shutdown.*.log",
];

/// Where a sysdiagnose keeps it.
pub const SYSDIAGNOSE_PATHS: &[&str] = &[
    "system_logs.logarchive/Extra/shutdown.log",
    "system_logs.logarchive/Extra/shutdown.*.log",
];

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: FS_PATHS,
};

/// Most client lines kept over all files (the output is sorted by date, so they are held).
/// A real log has a few thousand.
pub const MAX_CLIENTS: usize = 1_000_000;
/// Most shutdowns kept per file (a real log has a few hundred; the rest of a hostile one is
/// skipped and counted).
pub const MAX_SHUTDOWNS: usize = 1_000_000;
/// Delay blocks before one shutdown from which the delay heuristic fires (iShutdown's
/// threshold).
pub const DELAY_BLOCKS_THRESHOLD: u64 = 3;

/// The folders spyware ran from, as the client path spells them, and the name the alert
/// gives. `/var` is `/private/var` on iOS; both spellings are accepted.
const SUSPICIOUS_DIRS: [(&str, &str); 4] = [
    ("/private/var/db/", "/private/var/db/"),
    ("/var/db/", "/private/var/db/"),
    ("/private/var/tmp/", "/private/var/tmp/"),
    ("/var/tmp/", "/private/var/tmp/"),
];
/// logd's own folder, under `/private/var/db/` but not a staging place.
const DIAGNOSTICS_DIRS: [&str; 2] = ["/private/var/db/diagnostics/", "/var/db/diagnostics/"];

/// One `remaining client pid:` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Client {
    /// Line number in its file (1-based).
    pub line: u64,
    /// The pid, as written.
    pub pid: String,
    /// The path between the parentheses, with its binary UUID.
    pub client: String,
    /// Seconds of delay accumulated when the client was listed.
    pub delay: f64,
    /// Delay blocks seen before the client was listed (including its own).
    pub times_delayed: u64,
    /// The shutdown it belongs to (index into [`ShutdownLogParse::shutdowns`]), `None` when
    /// no `SIGTERM` line follows it.
    pub shutdown: Option<usize>,
}

/// One shutdown: the `SIGTERM` line that ends a group of delay blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Shutdown {
    /// Line number of the `SIGTERM` line.
    pub line: u64,
    /// Its time (`None` when it cannot be read, or is 0).
    pub time: Option<Timestamp>,
    /// Delay blocks (`After …s, these clients are still here:`) before it.
    pub delay_blocks: u64,
}

/// A parsed shutdown.log.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ShutdownLogParse {
    /// Client lines in file order.
    pub clients: Vec<Client>,
    /// Shutdowns in file order.
    pub shutdowns: Vec<Shutdown>,
    /// Lines that are not text (a NUL byte or invalid UTF-8), skipped.
    pub binary_lines: u64,
    /// Lines longer than [`MAX_LINE_BYTES`], skipped.
    pub overlong_lines: u64,
    /// Client lines over [`MAX_CLIENTS`], skipped.
    pub clients_skipped: u64,
    /// `SIGTERM` lines over [`MAX_SHUTDOWNS`], skipped (with the clients before them).
    pub shutdowns_skipped: u64,
    /// Whether reading stopped at the byte cap.
    pub stopped_at_cap: bool,
}

/// The `pid` and path of a `remaining client pid: N (path)` line (already trimmed).
fn client_parts(rest: &str) -> (String, String) {
    let (pid, client) = match rest.find('(') {
        Some(open) => {
            let inner = rest.get(open + 1..).unwrap_or_default();
            // The path may itself hold parentheses; the line closes with the last one.
            let client = inner
                .rfind(')')
                .map_or(inner, |close| inner.get(..close).unwrap_or_default());
            (rest.get(..open).unwrap_or_default(), client)
        }
        None => (rest, ""),
    };
    (pid.trim().to_owned(), client.to_owned())
}

/// The seconds of an `After 0.63s, these clients are still here:` line.
fn delay_of(line: &str) -> Option<f64> {
    let token = line.split(' ').nth(1)?;
    let number = token.trim_end_matches(',').trim_end_matches('s');
    number.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The time of a `SIGTERM: [1525131983] …` line, or of MVT's variant `… @1525131983`.
fn sigterm_time(line: &str) -> Option<Timestamp> {
    let bracketed = line
        .find('[')
        .and_then(|open| {
            let after = line.get(open + 1..)?;
            after.get(..after.find(']')?)
        })
        .and_then(|s| s.trim().parse::<i64>().ok());
    let seconds = bracketed.or_else(|| {
        let at = line.find(" @")?;
        let digits = line.get(at + 2..at + 12)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse::<i64>().ok())
            .flatten()
    })?;
    // MVT turns 0 into "no date".
    (seconds != 0)
        .then(|| Timestamp::from_unix_seconds(seconds))
        .flatten()
}

/// Parses a shutdown.log as MVT does, bounded: at most `max_bytes` are read, lines over
/// [`MAX_LINE_BYTES`] and binary lines are skipped and counted.
pub fn parse_shutdown_log(
    reader: impl BufRead,
    max_bytes: u64,
) -> std::io::Result<ShutdownLogParse> {
    let mut out = ShutdownLogParse::default();
    let mut lines = Lines::new(reader, MAX_LINE_BYTES, max_bytes);
    let mut pending_from = 0usize;
    let mut delay = 0.0f64;
    let mut times_delayed = 0u64;
    while let Some(line) = lines.next_line()? {
        if line.cut {
            continue;
        }
        if is_binary(line.bytes) {
            out.binary_lines += 1;
            continue;
        }
        let Ok(text) = std::str::from_utf8(line.bytes) else {
            continue;
        };
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("remaining client pid:") {
            if out.clients.len() >= MAX_CLIENTS {
                out.clients_skipped += 1;
                continue;
            }
            let (pid, client) = client_parts(rest);
            out.clients.push(Client {
                line: line.number,
                pid,
                client,
                delay,
                times_delayed,
                shutdown: None,
            });
        } else if text.starts_with("After ") {
            if let Some(d) = delay_of(text) {
                delay += d;
            }
            times_delayed += 1;
        } else if text.starts_with("SIGTERM: ") {
            if out.shutdowns.len() >= MAX_SHUTDOWNS {
                out.shutdowns_skipped += 1;
                out.clients.truncate(pending_from);
                delay = 0.0;
                times_delayed = 0;
                continue;
            }
            let index = out.shutdowns.len();
            out.shutdowns.push(Shutdown {
                line: line.number,
                time: sigterm_time(text),
                delay_blocks: times_delayed,
            });
            for c in out.clients.get_mut(pending_from..).unwrap_or_default() {
                c.shutdown = Some(index);
            }
            pending_from = out.clients.len();
            delay = 0.0;
            times_delayed = 0;
        }
    }
    out.overlong_lines = lines.overlong();
    out.stopped_at_cap = lines.stopped_at_cap();
    Ok(out)
}

/// The folder a client runs from when it is one spyware used, as the alert names it.
pub fn suspicious_dir(path: &str) -> Option<&'static str> {
    if DIAGNOSTICS_DIRS.iter().any(|d| path.starts_with(d)) {
        return None;
    }
    SUSPICIOUS_DIRS
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix) && path.len() > prefix.len())
        .map(|(_, name)| *name)
}

/// Whether a path component is a binary UUID as logd appends them
/// (`8-4-4-4-12` hexadecimal digits).
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A client path without its trailing binary UUID: the executable's own path.
pub fn without_uuid(client: &str) -> &str {
    match client.rsplit_once('/') {
        Some((head, last)) if is_uuid(last) && !head.is_empty() => head,
        _ => client,
    }
}

use super::iso;

/// A client with the file it was read from.
struct Found {
    file: Arc<EvidenceFile>,
    client: Client,
    time: Option<Timestamp>,
    /// Key of its shutdown: (file index, shutdown index).
    shutdown: Option<(usize, usize)>,
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let found = match ios.kind() {
        IosKind::Sysdiagnose => ios.find(SYSDIAGNOSE_PATHS),
        _ => ios.locate(&LOCATIONS),
    }
    .map_err(|e| super::unreadable("shutdown.log", &e))?;
    if found.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no shutdown.log in this acquisition".into(),
        ));
    }
    let mut tally = Tally::default();
    let mut all: Vec<Found> = Vec::new();
    let mut shutdowns: BTreeMap<(usize, usize), Shutdown> = BTreeMap::new();
    for (file_index, located) in found.iter().enumerate() {
        let Some((file, parsed)) = read_one(ios, located, sink, &mut tally) else {
            continue;
        };
        for c in parsed.clients {
            if all.len() >= MAX_CLIENTS {
                break;
            }
            let key = c.shutdown.map(|s| (file_index, s));
            let time = c
                .shutdown
                .and_then(|s| parsed.shutdowns.get(s))
                .and_then(|s| s.time);
            all.push(Found {
                file: Arc::clone(&file),
                client: c,
                time,
                shutdown: key,
            });
        }
        for (i, s) in parsed.shutdowns.into_iter().enumerate() {
            shutdowns.insert((file_index, i), s);
        }
    }
    // MVT sorts the records by date (a stable sort, "" first).
    all.sort_by_key(|f| f.time);

    // How many shutdowns list each suspicious executable: a process that survives reboots.
    let mut listed_in: BTreeMap<&str, BTreeSet<(usize, usize)>> = BTreeMap::new();
    for f in &all {
        if let Some(key) = f.shutdown
            && suspicious_dir(&f.client.client).is_some()
        {
            listed_in
                .entry(without_uuid(&f.client.client))
                .or_default()
                .insert(key);
        }
    }
    let listed_in: BTreeMap<String, usize> = listed_in
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.len()))
        .collect();

    let mut delay_alerted: BTreeSet<(usize, usize)> = BTreeSet::new();
    for f in all {
        let mut r = record(&f, &listed_in);
        if let Some(key) = f.shutdown
            && let Some(s) = shutdowns.get(&key)
            && s.delay_blocks >= DELAY_BLOCKS_THRESHOLD
            && delay_alerted.insert(key)
        {
            r.alert(delay_alert(s));
        }
        sink.record(r);
    }
    // Shutdowns with enough delay blocks but no client line left to carry the alert.
    for (key, s) in &shutdowns {
        if s.delay_blocks >= DELAY_BLOCKS_THRESHOLD && !delay_alerted.contains(key) {
            sink.alert(delay_alert(s));
        }
    }
    tally.finish()
}

fn delay_alert(s: &Shutdown) -> Heuristic {
    Heuristic::new(
        Level::Low,
        format!(
            "The shutdown at {} waited {} times for processes that would not exit ({} or more \
             delays, iShutdown's rule): supporting evidence of a lingering process, not a \
             detection on its own",
            iso(s.time),
            s.delay_blocks,
            DELAY_BLOCKS_THRESHOLD
        ),
    )
    .at(s.time)
}

/// Reads one log, reporting what could not be parsed.
fn read_one(
    ios: &Ios,
    located: &Located,
    sink: &mut dyn Sink,
    tally: &mut Tally,
) -> Option<(Arc<EvidenceFile>, ShutdownLogParse)> {
    let file = match ios.register(located) {
        Ok(f) => f,
        Err(e) => {
            tally.failed(sink, located, &e);
            return None;
        }
    };
    let parsed = match std::fs::File::open(&located.path)
        .and_then(|f| parse_shutdown_log(std::io::BufReader::new(f), ios.limits().max_text_bytes))
    {
        Ok(p) => p,
        Err(e) => {
            tally.failed(
                sink,
                located,
                &bridle_evidence::EvidenceError::Io {
                    path: located.path.clone(),
                    source: e,
                },
            );
            return None;
        }
    };
    tally.ok();
    let mut notes = Vec::new();
    if parsed.binary_lines > 0 {
        notes.push(format!(
            "{} lines are not text (binary data) and were skipped",
            parsed.binary_lines
        ));
    }
    if parsed.overlong_lines > 0 {
        notes.push(format!(
            "{} lines longer than {MAX_LINE_BYTES} bytes were skipped",
            parsed.overlong_lines
        ));
    }
    if parsed.clients_skipped > 0 {
        notes.push(format!(
            "{} client lines past the first {MAX_CLIENTS} were skipped",
            parsed.clients_skipped
        ));
    }
    if parsed.shutdowns_skipped > 0 {
        notes.push(format!(
            "{} shutdowns past the first {MAX_SHUTDOWNS} were skipped",
            parsed.shutdowns_skipped
        ));
    }
    if parsed.stopped_at_cap {
        notes.push(format!(
            "reading stopped after {} bytes",
            ios.limits().max_text_bytes
        ));
    }
    let unterminated = parsed
        .clients
        .iter()
        .filter(|c| c.shutdown.is_none())
        .count();
    if unterminated > 0 {
        notes.push(format!(
            "{unterminated} clients follow the last SIGTERM line (an interrupted shutdown or \
             a cut log) and are listed without a date"
        ));
    }
    if !notes.is_empty() {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            located.logical.clone(),
            notes.join("; "),
        ));
    }
    Some((file, parsed))
}

fn record(f: &Found, listed_in: &BTreeMap<String, usize>) -> Record {
    let c = &f.client;
    let mut r = Record::new(Source::row(&f.file, "shutdown.log", c.line));
    r.set("isodate", iso(f.time))
        .set("pid", c.pid.as_str())
        .set("client", c.client.as_str())
        .set(
            "delay",
            serde_json::Number::from_f64(c.delay).map_or(Json::Null, Json::Number),
        )
        .set("times_delayed", c.times_delayed);
    r.event(TimelineEvent::new(
        f.time,
        "shutdown",
        format!(
            "Client {} with PID {} was running when the device was shut down",
            c.client, c.pid
        ),
    ));
    let exe = without_uuid(&c.client);
    r.observe(Observable::new(
        ObservableKind::FilePath,
        c.client.as_str(),
        "client",
    ));
    if exe != c.client {
        r.observe(Observable::new(ObservableKind::FilePath, exe, "client"));
    }
    let mut seen = BTreeSet::new();
    for part in c.client.split('/') {
        if !part.is_empty() && seen.insert(part) {
            r.observe(Observable::new(ObservableKind::Process, part, "client"));
        }
    }
    if let Some(dir) = suspicious_dir(&c.client) {
        let times = listed_in.get(exe).copied().unwrap_or(0);
        let sticky = if times > 1 {
            format!(", listed in {times} shutdowns")
        } else {
            String::new()
        };
        r.alert(
            Heuristic::new(
                Level::High,
                format!(
                    "Process {exe} (PID {}) was running from {dir} when the device was shut \
                     down{sticky}: Pegasus ran from /private/var/db/, Predator and Reign from \
                     /private/var/tmp/",
                    c.pid
                ),
            )
            .at(f.time),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "After 0.63s, these clients are still here:\n\
        \t\tremaining client pid: 1123 (/private/var/db/com.apple.xpc.roleaccountd.staging/bh/E55D9A31-C0F3-5517-BB0A-838CDD0C3D6D)\n\
        \t\tremaining client pid: 88 (/usr/libexec/locationd/AAE63798-380F-3516-AAB4-FE8C9E370A97)\n\
        After 1.50s, these clients are still here:\n\
        \t\tremaining client pid: 88 (/usr/libexec/locationd/AAE63798-380F-3516-AAB4-FE8C9E370A97)\n\
        SIGTERM: [1525131983] All buffers flushed\n\
        \t\tremaining client pid: 7 (/System/Library/Software Update.app (x)/SU/AAE63798-380F-3516-AAB4-FE8C9E370A97)\n\
        SIGTERM: @1525210853 flushed\n";

    #[test]
    fn parses_like_mvt() {
        let p = parse_shutdown_log(SAMPLE.as_bytes(), u64::MAX).unwrap();
        assert_eq!(p.shutdowns.len(), 2);
        assert_eq!(p.shutdowns[0].delay_blocks, 2);
        assert_eq!(p.clients.len(), 4);
        let c = &p.clients[0];
        assert_eq!(c.pid, "1123");
        assert!(
            c.client
                .ends_with("/bh/E55D9A31-C0F3-5517-BB0A-838CDD0C3D6D")
        );
        assert_eq!((c.delay, c.times_delayed), (0.63, 1));
        assert_eq!(p.clients[2].delay, 0.63 + 1.5);
        assert_eq!(p.clients[2].times_delayed, 2);
        assert_eq!(
            p.clients[3].client,
            "/System/Library/Software Update.app (x)/SU/AAE63798-380F-3516-AAB4-FE8C9E370A97"
        );
        assert_eq!(p.clients[3].shutdown, Some(1));
        assert_eq!(
            p.shutdowns[1].time.unwrap().to_mvt(),
            "2018-05-01 21:40:53.000000"
        );
    }

    #[test]
    fn suspicious_folders() {
        assert_eq!(
            suspicious_dir("/private/var/db/com.apple.xpc.roleaccountd.staging/bh/X"),
            Some("/private/var/db/")
        );
        assert_eq!(suspicious_dir("/var/tmp/x"), Some("/private/var/tmp/"));
        assert_eq!(suspicious_dir("/private/var/db/diagnostics/x"), None);
        assert_eq!(suspicious_dir("/private/var/db/"), None);
        assert_eq!(suspicious_dir("/usr/libexec/locationd"), None);
        assert_eq!(
            without_uuid("/usr/libexec/locationd/AAE63798-380F-3516-AAB4-FE8C9E370A97"),
            "/usr/libexec/locationd"
        );
        assert_eq!(without_uuid("/kernel"), "/kernel");
    }

    #[test]
    fn junk_is_skipped_and_counted() {
        let mut input = b"\x00\x01\xffjunk\n".to_vec();
        input.extend(std::iter::repeat_n(b'A', MAX_LINE_BYTES + 10));
        input.extend_from_slice(b"\nAfter xs, these clients are still here:\n");
        input.extend_from_slice(b"remaining client pid: 5 (/x\nSIGTERM: [oops] x\n");
        let p = parse_shutdown_log(&input[..], u64::MAX).unwrap();
        assert_eq!(p.binary_lines, 1);
        assert_eq!(p.overlong_lines, 1);
        assert_eq!(p.clients.len(), 1);
        assert_eq!(p.clients[0].client, "/x");
        assert_eq!(p.shutdowns[0].time, None);
        assert_eq!(p.shutdowns[0].delay_blocks, 1);
    }
}
