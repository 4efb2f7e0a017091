//! The process listings of a sysdiagnose: `ps.txt` (`ps axwww -o user,uid,prsna,pid,ppid,
//! flags,%cpu,%mem,pri,ni,vsz,rss,wchan,tt,stat,start,time,command`) and `ps_thread.txt`
//! (the same rows, each followed by one row per further thread, as `ps -M` writes them).
//!
//! One record per process of `ps.txt`, with the number of threads `ps_thread.txt` lists for
//! it, plus one record per process that only `ps_thread.txt` lists (the two are taken a few
//! seconds apart). The executable's path is offered as a process name and as a file path.
//! A process running from under `/private/var/db/` or `/private/var/tmp/` is HIGH: Pegasus
//! and Predator processes ran from there, no iOS daemon does.
//!
//! Columns are found by the header line; a listing without one is read with the iOS 16+
//! columns. Rows are bounded ([`MAX_PROCESSES`]) and lines too (binary junk is skipped).

use super::found::Tally;
use super::shutdown_log::suspicious_dir;
use crate::text::{Lines, MAX_LINE_BYTES, is_binary};
use crate::{Ios, IosKind, Located};
use bridle_model::{
    EvidenceFile, Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind,
    Problem, ProblemKind, Record, Sink, Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

ios_module!(
    Ps,
    "ps",
    "PS",
    "Processes running when the sysdiagnose was taken (ps.txt, ps_thread.txt)"
);

/// Most processes kept from one listing.
pub const MAX_PROCESSES: usize = 200_000;
/// The iOS 16+ header, used when a listing has none.
const DEFAULT_COLUMNS: [&str; 18] = [
    "USER", "UID", "PRSNA", "PID", "PPID", "F", "%CPU", "%MEM", "PRI", "NI", "VSZ", "RSS", "WCHAN",
    "TT", "STAT", "STARTED", "TIME", "COMMAND",
];

/// One process row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsRow {
    /// Line number (1-based).
    pub line: u64,
    /// The columns before COMMAND, by header name.
    pub columns: Vec<(String, String)>,
    /// The command line.
    pub command: String,
    /// Thread rows that follow it (ps_thread.txt).
    pub extra_threads: u64,
}

impl PsRow {
    /// A column by header name.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.columns
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The pid.
    pub fn pid(&self) -> Option<i64> {
        self.get("PID").and_then(|p| p.parse().ok())
    }
}

/// A parsed listing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PsListing {
    /// Process rows in file order.
    pub rows: Vec<PsRow>,
    /// Lines that are not text, skipped.
    pub binary_lines: u64,
    /// Lines over the line cap, skipped.
    pub overlong_lines: u64,
    /// Process rows past [`MAX_PROCESSES`], skipped.
    pub skipped: u64,
}

/// Splits `n` whitespace-separated fields off the start of a line; the rest (trimmed) is
/// the last column.
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    while fields.len() < n {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        fields.push(rest.get(..end)?);
        rest = rest.get(end..)?.trim_start();
    }
    Some((fields, rest.trim_end()))
}

/// Parses a ps listing. Thread rows (too few columns, no command) are counted against the
/// process row before them.
pub fn parse_ps(reader: impl std::io::BufRead, max_bytes: u64) -> std::io::Result<PsListing> {
    let mut out = PsListing::default();
    let mut lines = Lines::new(reader, MAX_LINE_BYTES, max_bytes);
    let mut columns: Vec<String> = DEFAULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
    let mut last_was_process = false;
    while let Some(line) = lines.next_line()? {
        if line.cut {
            continue;
        }
        if is_binary(line.bytes) {
            out.binary_lines += 1;
            last_was_process = false;
            continue;
        }
        let Ok(text) = std::str::from_utf8(line.bytes) else {
            continue;
        };
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.first() == Some(&"USER") && words.contains(&"PID") {
            columns = words.iter().map(|w| (*w).to_owned()).collect();
            last_was_process = false;
            continue;
        }
        let fixed = columns.len().saturating_sub(1);
        let row = split_fields(text, fixed).filter(|(f, command)| {
            !command.is_empty()
                && columns
                    .iter()
                    .position(|c| c == "PID")
                    .and_then(|i| f.get(i))
                    .is_some_and(|p| p.parse::<i64>().is_ok())
        });
        match row {
            Some((fields, command)) => {
                if out.rows.len() >= MAX_PROCESSES {
                    out.skipped += 1;
                    last_was_process = false;
                    continue;
                }
                out.rows.push(PsRow {
                    line: line.number,
                    columns: columns
                        .iter()
                        .zip(fields)
                        .map(|(c, f)| (c.clone(), f.to_owned()))
                        .collect(),
                    command: command.to_owned(),
                    extra_threads: 0,
                });
                last_was_process = true;
            }
            None => {
                // A thread row of the process above (ps -M), or anything else.
                if last_was_process
                    && !words.is_empty()
                    && let Some(p) = out.rows.last_mut()
                {
                    p.extra_threads += 1;
                }
            }
        }
    }
    out.overlong_lines = lines.overlong();
    Ok(out)
}

/// The executable's path in a command line: the first word, extended over the spaces of an
/// app bundle's name (`/var/containers/…/My App.app/My App`); arguments (`-x`, `(System)`,
/// another absolute path, a word without `/`) end it.
pub fn executable(command: &str) -> &str {
    let tokens: Vec<&str> = command.split(' ').collect();
    let mut used = 1usize;
    while let Some(next) = tokens.get(used) {
        if next.starts_with(['-', '(', '/']) || next.is_empty() {
            break;
        }
        let path_len: usize = tokens.iter().take(used).map(|t| t.len() + 1).sum::<usize>() - 1;
        let path = command.get(..path_len).unwrap_or(command);
        let inside_bundle_name = next.contains('/');
        let bundle_exe_with_space = {
            let mut parts = path.rsplit('/');
            let last = parts.next().unwrap_or_default();
            parts.next().is_some_and(|bundle| {
                let stem = bundle
                    .strip_suffix(".app")
                    .or_else(|| bundle.strip_suffix(".appex"))
                    .unwrap_or_default();
                stem.len() > last.len()
                    && stem.starts_with(last)
                    && stem.get(last.len()..).is_some_and(|r| r.starts_with(' '))
            })
        };
        if inside_bundle_name || bundle_exe_with_space {
            used += 1;
        } else {
            break;
        }
    }
    let len: usize = tokens.iter().take(used).map(|t| t.len() + 1).sum::<usize>();
    command.get(..len.saturating_sub(1)).unwrap_or(command)
}

fn read_listing(
    ios: &Ios,
    located: &Located,
    sink: &mut dyn Sink,
    tally: &mut Tally,
) -> Option<(Arc<EvidenceFile>, PsListing)> {
    let file = match ios.register(located) {
        Ok(f) => f,
        Err(e) => {
            tally.failed(sink, located, &e);
            return None;
        }
    };
    let parsed = std::fs::File::open(&located.path)
        .and_then(|f| parse_ps(std::io::BufReader::new(f), ios.limits().max_text_bytes));
    match parsed {
        Ok(p) => {
            tally.ok();
            let mut notes = Vec::new();
            if p.binary_lines > 0 {
                notes.push(format!(
                    "{} lines are not text and were skipped",
                    p.binary_lines
                ));
            }
            if p.overlong_lines > 0 {
                notes.push(format!(
                    "{} lines longer than {MAX_LINE_BYTES} bytes were skipped",
                    p.overlong_lines
                ));
            }
            if p.skipped > 0 {
                notes.push(format!(
                    "{} processes past the first {MAX_PROCESSES} were skipped",
                    p.skipped
                ));
            }
            if !notes.is_empty() {
                sink.problem(Problem::file(
                    ProblemKind::Partial,
                    located.logical.clone(),
                    notes.join("; "),
                ));
            }
            Some((file, p))
        }
        Err(e) => {
            tally.failed(
                sink,
                located,
                &bridle_evidence::EvidenceError::Io {
                    path: located.path.clone(),
                    source: e,
                },
            );
            None
        }
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::Sysdiagnose {
        return Ok(ModuleOutcome::NotFound("not a sysdiagnose".into()));
    }
    let ps = ios
        .find(&["ps.txt"])
        .map_err(|e| super::unreadable("ps.txt", &e))?;
    let threads = ios
        .find(&["ps_thread.txt"])
        .map_err(|e| super::unreadable("ps_thread.txt", &e))?;
    if ps.is_empty() && threads.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no ps.txt or ps_thread.txt in this sysdiagnose".into(),
        ));
    }
    let taken = ios.sysdiagnose_name().and_then(|n| n.created);
    // STARTED is the device's local time: say which offset it is in.
    let offset = ios
        .sysdiagnose_name()
        .map_or("unknown", |n| n.utc_offset.as_str());
    let mut tally = Tally::default();
    let main = ps
        .first()
        .and_then(|l| read_listing(ios, l, sink, &mut tally));
    let thread = threads
        .first()
        .and_then(|l| read_listing(ios, l, sink, &mut tally));
    // Threads per (pid, command) from ps_thread.txt.
    let mut thread_counts: BTreeMap<(Option<i64>, &str), u64> = BTreeMap::new();
    if let Some((_, t)) = &thread {
        for row in &t.rows {
            thread_counts.insert((row.pid(), row.command.as_str()), row.extra_threads + 1);
        }
    }
    let mut seen: BTreeSet<(Option<i64>, &str)> = BTreeSet::new();
    if let Some((file, listing)) = &main {
        for row in &listing.rows {
            let key = (row.pid(), row.command.as_str());
            seen.insert(key);
            let threads = thread_counts.get(&key).copied();
            sink.record(record(row, file, "ps.txt", threads, taken, offset));
        }
    }
    if let Some((file, listing)) = &thread {
        for row in &listing.rows {
            if seen.contains(&(row.pid(), row.command.as_str())) {
                continue;
            }
            sink.record(record(
                row,
                file,
                "ps_thread.txt",
                Some(row.extra_threads + 1),
                taken,
                offset,
            ));
        }
    }
    tally.finish()
}

fn record(
    row: &PsRow,
    file: &Arc<EvidenceFile>,
    table: &'static str,
    threads: Option<u64>,
    taken: Option<Timestamp>,
    utc_offset: &str,
) -> Record {
    let exe = executable(&row.command);
    let mut r = Record::new(Source::row(file, table, row.line));
    for (k, v) in &row.columns {
        let key = k.to_ascii_lowercase();
        let value = match key.as_str() {
            "uid" | "pid" | "ppid" => v
                .parse::<i64>()
                .map_or_else(|_| Json::from(v.as_str()), Json::from),
            _ => Json::from(v.as_str()),
        };
        r.set(&key, value);
    }
    r.set("command", row.command.as_str())
        .set("executable", exe)
        .set("threads", threads.map_or(Json::Null, Json::from))
        .set("utc_offset", utc_offset)
        .set("source_file", table);
    let pid = row.get("PID").unwrap_or_default();
    let user = row.get("USER").unwrap_or_default();
    r.event(TimelineEvent::new(
        taken,
        "process_running",
        format!(
            "Process {} (PID {pid}, user {user}) was running when the sysdiagnose was taken",
            row.command
        ),
    ));
    r.observe(Observable::new(ObservableKind::Process, exe, "executable"));
    if exe.starts_with('/') {
        r.observe(Observable::new(ObservableKind::FilePath, exe, "executable"));
    }
    if let Some(dir) = suspicious_dir(exe) {
        r.alert(
            Heuristic::new(
                Level::High,
                format!(
                    "Process {exe} (PID {pid}, user {user}) was running from {dir}: Pegasus ran \
                     from /private/var/db/, Predator and Reign from /private/var/tmp/, no iOS \
                     daemon does"
                ),
            )
            .at(taken),
        );
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    const PS: &str = "USER               UID PRSNA   PID  PPID        F  %CPU %MEM PRI NI      VSZ    RSS WCHAN    TT  STAT STARTED      TIME COMMAND\n\
root                 0     -     1     0     4004   0.0  0.0   0  0        0      0 -        ??  ?s   Mon08AM   0:00.00 /sbin/launchd\n\
                                 1                  0.0        0                    -            ?              0:00.00\n\
root                 0   200    30     1  4004004   0.0  0.0   0  0        0      0 -        ??  ?s   Mon08AM   0:00.00 /usr/libexec/UserEventAgent (System)\n\
mobile             501  1000   900     1  4004044   0.0  0.0   0  0        0      0 -        ??  ?s   11:04AM   0:00.00 /var/containers/Bundle/Application/0A/My App.app/My App\n";

    #[test]
    fn reads_rows_and_threads() {
        let l = parse_ps(PS.as_bytes(), u64::MAX).unwrap();
        assert_eq!(l.rows.len(), 3);
        assert_eq!(l.rows[0].extra_threads, 1);
        assert_eq!(l.rows[0].get("PRSNA"), Some("-"));
        assert_eq!(l.rows[1].command, "/usr/libexec/UserEventAgent (System)");
        assert_eq!(l.rows[2].pid(), Some(900));
        assert_eq!(l.rows[2].line, 5);
    }

    #[test]
    fn executables() {
        assert_eq!(executable("/sbin/launchd"), "/sbin/launchd");
        assert_eq!(
            executable("/usr/libexec/UserEventAgent (System)"),
            "/usr/libexec/UserEventAgent"
        );
        assert_eq!(executable("/bin/ps axwww -o user,uid"), "/bin/ps");
        assert_eq!(
            executable("/var/containers/Bundle/Application/0A/My App.app/My App"),
            "/var/containers/Bundle/Application/0A/My App.app/My App"
        );
        assert_eq!(
            executable("/var/x/My App.app/PlugIns/Share It.appex/Share It -v"),
            "/var/x/My App.app/PlugIns/Share It.appex/Share It"
        );
        assert_eq!(executable("/usr/sbin/a /private/var/tmp/b"), "/usr/sbin/a");
    }
}
