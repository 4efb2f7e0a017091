//! DataUsage's Core Data model (`ZPROCESS`, `ZLIVEUSAGE`): which processes used the network,
//! when, and how much. `DataUsage.sqlite` (module `datausage`) and `netusage.sqlite` (module
//! `netusage`) share it, and MVT reads both with one base class (`NetBase`); so does bridle,
//! through [`run`].
//!
//! MVT's checks are reproduced and always run:
//!
//! * a usage row with no process → HIGH "Found manipulated process entry N. Entry on T" once
//!   per missing process id, and HIGH "Found manipulated process entry N/" on every such row,
//!   whose process name becomes `MANIPULATED [process record deleted]`;
//! * a gap in the `ZPROCESS.Z_PK` sequence → LOW "Missing process N. Previous process at …" on
//!   the process before the gap, and a placeholder row `MISSING [follows …]`;
//! * on a filesystem dump (not with `--fast`), a process with no bundle id whose binary is
//!   nowhere in the dump → MEDIUM. MVT compares each such process with every file of the dump;
//!   here the dump's [`crate::FileNameIndex`] is built once and asked in constant time, and a
//!   name of 15 or 16 bytes (truncated by the kernel) counts as present when a file name starts
//!   with it, where MVT reports the truncated daemons (`containermanager`,
//!   `mobileactivation`) of every phone.
//!
//! The rows of one database are held in memory because the checks need them all (the gap
//! search needs every process id, and MVT sorts the output by first use); [`MAX_ROWS`] bounds
//! a hostile database.

use super::found::Tally;
use super::report_rows;
use crate::{FileNameIndex, Ios, IosKind, Located, pyfmt, rows};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    EvidenceFile, Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind,
    Problem, ProblemKind, Record, Sink, Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Most usage rows read; past this the rest is reported as skipped.
pub const MAX_ROWS: usize = 1_000_000;
/// Most placeholder rows added for missing process ids; a hostile database with ids 1 and
/// 2^62 must not make us build 2^62 rows.
pub const MAX_MISSING: u64 = 100_000;

/// The names of the files in a filesystem dump: the search for a process's binary asks only
/// whether a file of that name exists somewhere.
pub trait FileNames {
    /// Whether any file in the dump has this exact name.
    fn contains(&self, name: &str) -> bool;
}

impl FileNames for HashSet<String> {
    fn contains(&self, name: &str) -> bool {
        HashSet::contains(self, name)
    }
}

/// The dump's index: a name of 15 or 16 bytes (the kernel's truncation) is present when a
/// file name starts with it, where MVT reports the truncated daemons of every phone.
impl FileNames for FileNameIndex {
    fn contains(&self, name: &str) -> bool {
        self.binary_present(name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A row read from the database, with its process.
    Real,
    /// A usage row whose process row is gone.
    Manipulated,
    /// A placeholder for a missing process id.
    Missing,
}

/// One row of MVT's result, with its times kept as timestamps.
#[derive(Debug, Clone)]
pub(crate) struct Usage {
    first: Option<Timestamp>,
    current: Option<Timestamp>,
    live: Option<Timestamp>,
    proc_name: Option<String>,
    bundle_id: Option<String>,
    proc_id: Json,
    wifi_in: Json,
    wifi_out: Json,
    wwan_in: Json,
    wwan_out: Json,
    live_id: Json,
    live_proc_id: Json,
    kind: Kind,
    heuristics: Vec<Heuristic>,
    source: Source,
}

fn iso(t: Option<Timestamp>) -> String {
    t.map(Timestamp::to_mvt).unwrap_or_default()
}

/// Reads every database found (MVT's `Netusage` reads all; `Datausage` passes the first),
/// each checked on its own, and streams their records.
pub(crate) fn run(
    ios: &Ios,
    sink: &mut dyn Sink,
    found: &[Located],
) -> Result<ModuleOutcome, ModuleError> {
    let mut tally = Tally::default();
    for located in found {
        let (db, file) = match ios.open_db(located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        let (mut usage, damaged) = match read(&db, &file, sink) {
            Ok(u) => u,
            Err(reason) => {
                tally.unusable(sink, located, &reason);
                continue;
            }
        };
        tally.ok();
        if let Some(index) = binary_index(ios, sink, &file) {
            binaries_not_found(&mut usage, index);
        }
        if damaged {
            // Unreadable pages look exactly like deleted rows (a usage row whose process
            // cannot be read, a run of missing ids): the deletion checks would accuse the
            // damage.
            sink.problem(Problem::file(
                ProblemKind::Partial,
                file.logical_path.clone(),
                "the database is damaged: the checks for deleted or manipulated process records \
                 were not run",
            ));
        } else {
            check_manipulated(&mut usage);
            find_deleted(&mut usage, sink, &file);
        }
        // MVT sorts its results by first use (stable, so ties keep the query's order).
        usage.sort_by_key(|u| u.first);
        for u in usage {
            sink.record(record(u));
        }
    }
    tally.finish()
}

/// The file-name index to search for process binaries, when the search applies: a
/// filesystem dump, not `--fast`, and an index that covers the whole dump.
fn binary_index<'a>(
    ios: &'a Ios,
    sink: &mut dyn Sink,
    file: &EvidenceFile,
) -> Option<&'a FileNameIndex> {
    if ios.kind() != IosKind::FileSystem || ios.fast() {
        return None;
    }
    let index = ios.file_names()?;
    if !index.is_complete() {
        sink.problem(Problem::file(
            ProblemKind::Skipped,
            file.logical_path.clone(),
            format!(
                "the search for process binaries was not run: the dump's file names could not \
                 all be indexed ({})",
                index.problem().unwrap_or("too many names")
            ),
        ));
        return None;
    }
    Some(index)
}

/// A column of a table, or NULL when the schema lacks it (older iOS has no ZWIFIIN/ZWIFIOUT).
fn col(db: &Database, table: &str, name: &str) -> String {
    if db.has_column(table, name) {
        format!("{table}.{name}")
    } else {
        "NULL".to_owned()
    }
}

/// The rows of MVT's query, and whether the database turned out to be damaged.
fn read(
    db: &Database,
    file: &Arc<EvidenceFile>,
    sink: &mut dyn Sink,
) -> Result<(Vec<Usage>, bool), String> {
    if !db.has_table("ZPROCESS") {
        return Err("no ZPROCESS table".into());
    }
    let p = |c: &str| col(db, "ZPROCESS", c);
    let l = |c: &str| col(db, "ZLIVEUSAGE", c);
    let process_cols = format!(
        "{}, {}, {}, {}, ZPROCESS.Z_PK",
        p("ZFIRSTTIMESTAMP"),
        p("ZTIMESTAMP"),
        p("ZPROCNAME"),
        p("ZBUNDLENAME")
    );
    let has_live = db.has_table("ZLIVEUSAGE") && db.has_column("ZLIVEUSAGE", "ZHASPROCESS");
    let live_select = format!(
        "SELECT {process_cols}, {}, {}, {}, {}, ZLIVEUSAGE.Z_PK, ZLIVEUSAGE.ZHASPROCESS, {} \
         FROM ZLIVEUSAGE LEFT JOIN ZPROCESS ON ZLIVEUSAGE.ZHASPROCESS = ZPROCESS.Z_PK",
        l("ZWIFIIN"),
        l("ZWIFIOUT"),
        l("ZWWANIN"),
        l("ZWWANOUT"),
        l("ZTIMESTAMP"),
    );
    let process_select =
        format!("SELECT {process_cols}, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM ZPROCESS");
    let mut rows = Collected::default();
    if !has_live {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            file.logical_path.clone(),
            "no ZLIVEUSAGE table with ZHASPROCESS: only the process list is read",
        ));
        let sql = format!("{process_select} ORDER BY ZPROCESS.Z_PK");
        let read = for_each_row(db.conn(), &sql, [], |row| rows.push(usage_row(row, file)));
        report_rows(sink, file, "ZPROCESS", &read);
        return Ok((rows.finish(sink, file), read.error.is_some()));
    }
    // The column order is MVT's: SQLite returns a UNION sorted on its columns, and the
    // output order of rows with the same first-use time follows from it. (MVT's `NOT IN`
    // has no NULL guard: one usage row without a process id would hide every process
    // without usage.)
    let sql = format!(
        "{live_select} UNION {process_select} WHERE ZPROCESS.Z_PK NOT IN \
         (SELECT ZHASPROCESS FROM ZLIVEUSAGE WHERE ZHASPROCESS IS NOT NULL)"
    );
    let read = for_each_row(db.conn(), &sql, [], |row| rows.push(usage_row(row, file)));
    let Some(err) = read.error else {
        return Ok((rows.finish(sink, file), false));
    };
    // The UNION sorts every row before returning the first, so one damaged page loses them
    // all: read the usage rows, then the processes without usage, each as far as it goes.
    sink.problem(Problem::file(
        ProblemKind::Partial,
        file.logical_path.clone(),
        format!(
            "reading usage and processes together failed ({err}); read separately, in table \
             order rather than MVT's"
        ),
    ));
    let mut rows = Collected::default();
    let read = for_each_row(db.conn(), &live_select, [], |row| {
        rows.push(usage_row(row, file));
    });
    report_rows(sink, file, "ZLIVEUSAGE", &read);
    let with_usage: HashSet<i64> = rows
        .out
        .iter()
        .filter_map(|u| u.live_proc_id.as_i64())
        .collect();
    let sql = format!("{process_select} ORDER BY ZPROCESS.Z_PK");
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let u = usage_row(row, file);
        if !u
            .proc_id
            .as_i64()
            .is_some_and(|id| with_usage.contains(&id))
        {
            rows.push(u);
        }
    });
    report_rows(sink, file, "ZPROCESS", &read);
    Ok((rows.finish(sink, file), true))
}

/// Rows read so far, up to [`MAX_ROWS`].
#[derive(Default)]
struct Collected {
    out: Vec<Usage>,
    skipped: u64,
}

impl Collected {
    fn push(&mut self, u: Usage) {
        if self.out.len() >= MAX_ROWS {
            self.skipped += 1;
        } else {
            self.out.push(u);
        }
    }

    fn finish(self, sink: &mut dyn Sink, file: &EvidenceFile) -> Vec<Usage> {
        if self.skipped > 0 {
            sink.problem(Problem::file(
                ProblemKind::Skipped,
                file.logical_path.clone(),
                format!(
                    "{} rows past the first {MAX_ROWS} were not read",
                    self.skipped
                ),
            ));
        }
        self.out
    }
}

fn usage_row(row: &rusqlite::Row<'_>, file: &Arc<EvidenceFile>) -> Usage {
    let mac = |i: usize| {
        let v = rows::json(row, i);
        if pyfmt::truthy(&v) {
            pyfmt::mac_json(&v)
        } else {
            None
        }
    };
    let first = mac(0);
    let current = mac(1);
    let live_ts = mac(11);
    let live_raw = rows::json(row, 11);
    let proc_id = rows::json(row, 4);
    let live_id = rows::json(row, 9);
    let source = if live_id.is_null() {
        Source::row(file, "ZPROCESS", pyfmt::value(&proc_id))
    } else {
        Source::row(file, "ZLIVEUSAGE", pyfmt::value(&live_id))
    };
    Usage {
        first,
        current,
        live: if pyfmt::truthy(&live_raw) {
            live_ts
        } else {
            first
        },
        proc_name: rows::text(row, 2),
        bundle_id: rows::text(row, 3),
        proc_id,
        wifi_in: rows::json(row, 5),
        wifi_out: rows::json(row, 6),
        wwan_in: rows::json(row, 7),
        wwan_out: rows::json(row, 8),
        live_id,
        live_proc_id: rows::json(row, 10),
        kind: Kind::Real,
        heuristics: Vec::new(),
        source,
    }
}

/// Usage rows whose process row was deleted: HIGH, once per missing process id (in order of
/// use) and once per row.
fn check_manipulated(usage: &mut [Usage]) {
    let mut order: Vec<usize> = (0..usage.len()).collect();
    order.sort_by_key(|&i| usage.get(i).and_then(|u| u.live));
    let mut seen: Vec<Json> = Vec::new();
    for i in order {
        let Some(u) = usage.get_mut(i) else { continue };
        if pyfmt::truthy(&u.proc_id) {
            continue;
        }
        let id = pyfmt::value(&u.live_proc_id);
        if !seen.contains(&u.live_proc_id) {
            seen.push(u.live_proc_id.clone());
            u.heuristics.push(
                Heuristic::new(
                    Level::High,
                    format!(
                        "Found manipulated process entry {id}. Entry on {}",
                        iso(u.live)
                    ),
                )
                .at(u.live),
            );
        }
        u.first = u.live;
        u.current = u.live;
        u.proc_name = Some("MANIPULATED [process record deleted]".to_owned());
        u.kind = Kind::Manipulated;
        u.heuristics.push(
            Heuristic::new(
                Level::High,
                format!("Found manipulated process entry {id}/"),
            )
            .at(u.first),
        );
    }
}

/// Gaps in the process ids: LOW on the process before the gap, and a placeholder row per
/// missing id.
fn find_deleted(usage: &mut Vec<Usage>, sink: &mut dyn Sink, file: &Arc<EvidenceFile>) {
    // Process id -> index of its last row (MVT keeps the last row of each id).
    let mut by_id: BTreeMap<i64, usize> = BTreeMap::new();
    for (i, u) in usage.iter().enumerate() {
        if u.kind == Kind::Real
            && pyfmt::truthy(&u.proc_id)
            && let Some(id) = u.proc_id.as_i64()
        {
            by_id.insert(id, i);
        }
    }
    let ids: Vec<(i64, usize)> = by_id.into_iter().collect();
    let mut placeholders = Vec::new();
    let mut budget = MAX_MISSING;
    for pair in ids.windows(2) {
        let [(prev_id, prev_idx), (next_id, _)] = pair else {
            continue;
        };
        let Some(start) = prev_id.checked_add(1) else {
            continue;
        };
        if start >= *next_id {
            continue;
        }
        let Some(prev) = usage.get_mut(*prev_idx) else {
            continue;
        };
        let prev_name = pyfmt::opt(prev.proc_name.as_deref());
        let missing = next_id.abs_diff(start);
        if missing > budget {
            sink.problem(Problem::file(
                ProblemKind::Skipped,
                file.logical_path.clone(),
                format!(
                    "ZPROCESS ids {start}..{next_id} are missing ({missing} ids): over the \
                     limit of {MAX_MISSING} placeholders, not listed one by one"
                ),
            ));
            prev.heuristics.push(
                Heuristic::new(
                    Level::Low,
                    format!(
                        "Missing processes {start} to {}. Previous process at \"{}\" ({prev_name})",
                        next_id - 1,
                        iso(prev.first)
                    ),
                )
                .at(prev.first),
            );
            budget = 0;
            continue;
        }
        budget -= missing;
        for id in start..*next_id {
            prev.heuristics.push(
                Heuristic::new(
                    Level::Low,
                    format!(
                        "Missing process {id}. Previous process at \"{}\" ({prev_name})",
                        iso(prev.first)
                    ),
                )
                .at(prev.first),
            );
            placeholders.push(Usage {
                first: prev.first,
                current: prev.first,
                live: prev.first,
                proc_name: Some(format!("MISSING [follows {prev_name}]")),
                bundle_id: None,
                proc_id: Json::from(id),
                wifi_in: Json::Null,
                wifi_out: Json::Null,
                wwan_in: Json::Null,
                wwan_out: Json::Null,
                live_id: Json::Null,
                live_proc_id: Json::from(id),
                kind: Kind::Missing,
                heuristics: Vec::new(),
                source: Source::file(file),
            });
        }
    }
    usage.extend(placeholders);
}

/// The filesystem-dump check: a process with no bundle id whose binary name is no file name
/// in the dump → MEDIUM. Runs on the rows as read (before the manipulation checks rename
/// them), as MVT does.
pub(crate) fn binaries_not_found(usage: &mut [Usage], files: &dyn FileNames) {
    for u in usage.iter_mut() {
        if u.bundle_id.as_deref().is_some_and(|b| !b.is_empty()) {
            continue;
        }
        let name = u.proc_name.as_deref().unwrap_or_default();
        if !name.is_empty() && files.contains(name) {
            continue;
        }
        let message = if name.is_empty() {
            format!(
                "Found process entry with empty 'proc_name': {} at {}",
                pyfmt::value(&u.live_proc_id),
                iso(u.live)
            )
        } else if name.chars().count() == 16 {
            format!(
                "Could not find the binary associated with the process with name {name} \
                 (However, the process name might have been truncated in the database)"
            )
        } else {
            format!("Could not find the binary associated with the process with name {name}")
        };
        u.heuristics
            .push(Heuristic::new(Level::Medium, message).at(u.live));
    }
}

fn record(u: Usage) -> Record {
    let mut data = Map::new();
    data.insert("first_isodate".into(), Json::from(iso(u.first)));
    data.insert("isodate".into(), Json::from(iso(u.current)));
    data.insert(
        "proc_name".into(),
        u.proc_name.as_deref().map_or(Json::Null, Json::from),
    );
    data.insert(
        "bundle_id".into(),
        u.bundle_id.as_deref().map_or(Json::Null, Json::from),
    );
    data.insert("proc_id".into(), u.proc_id.clone());
    data.insert("wifi_in".into(), u.wifi_in.clone());
    data.insert("wifi_out".into(), u.wifi_out.clone());
    data.insert("wwan_in".into(), u.wwan_in.clone());
    data.insert("wwan_out".into(), u.wwan_out.clone());
    data.insert("live_id".into(), u.live_id.clone());
    data.insert("live_proc_id".into(), u.live_proc_id.clone());
    data.insert("live_isodate".into(), Json::from(iso(u.live)));

    let mut r = Record::new(u.source);
    let described = format!(
        "{} (Bundle ID: {}, ID: {})",
        pyfmt::opt(u.proc_name.as_deref()),
        pyfmt::opt(u.bundle_id.as_deref()),
        pyfmt::value(&u.proc_id)
    );
    r.event(TimelineEvent::new(
        u.live,
        "live_usage",
        format!(
            "{described} WWAN IN: {}, WWAN OUT: {}",
            pyfmt::value(&u.wwan_in),
            pyfmt::value(&u.wwan_out)
        ),
    ));
    if u.kind == Kind::Real && !u.live_proc_id.is_null() {
        r.event(TimelineEvent::new(
            u.first,
            "first_usage",
            described.clone(),
        ));
        r.event(TimelineEvent::new(u.current, "current_usage", described));
    }
    // Manipulated rows have no process to check (MVT skips rows without a process id), and
    // placeholders name no real process.
    if u.kind == Kind::Real && pyfmt::truthy(&u.proc_id) {
        if let Some(name) = u.proc_name.as_deref() {
            r.observe(Observable::new(ObservableKind::Process, name, "proc_name"));
            // DataUsage names are `<process>/<bundle id>`: MVT checks only the last part; the
            // process itself is the first.
            if let Some((head, _)) = name.split_once('/')
                && !head.is_empty()
            {
                r.observe(Observable::new(ObservableKind::Process, head, "proc_name"));
            }
        }
        if let Some(bundle) = u.bundle_id.as_deref() {
            r.observe(Observable::new(ObservableKind::AppId, bundle, "bundle_id"));
        }
    }
    for h in u.heuristics {
        r.alert(h);
    }
    r.data = data;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: Option<&str>, bundle: Option<&str>, proc_id: Json) -> Usage {
        Usage {
            first: Timestamp::from_unix_seconds(1_600_000_000),
            current: None,
            live: Timestamp::from_unix_seconds(1_600_000_000),
            proc_name: name.map(str::to_owned),
            bundle_id: bundle.map(str::to_owned),
            proc_id,
            wifi_in: Json::Null,
            wifi_out: Json::Null,
            wwan_in: Json::Null,
            wwan_out: Json::Null,
            live_id: Json::Null,
            live_proc_id: Json::from(7),
            kind: Kind::Real,
            heuristics: Vec::new(),
            source: Source::default(),
        }
    }

    #[test]
    fn binary_search_flags_only_bundleless_processes_missing_from_the_dump() {
        let files: HashSet<String> = ["present".to_owned()].into();
        let mut rows = vec![
            row(Some("present"), None, Json::from(1)),
            row(Some("absentd"), Some(""), Json::from(2)),
            row(Some("com.apple.app"), Some("com.apple.app"), Json::from(3)),
            row(Some("sixteencharsname"), None, Json::from(4)),
            row(None, None, Json::Null),
        ];
        binaries_not_found(&mut rows, &files);
        let msgs: Vec<Vec<String>> = rows
            .iter()
            .map(|r| r.heuristics.iter().map(|h| h.message.clone()).collect())
            .collect();
        assert!(msgs[0].is_empty() && msgs[2].is_empty());
        assert_eq!(
            msgs[1],
            ["Could not find the binary associated with the process with name absentd"]
        );
        assert!(msgs[3][0].ends_with("might have been truncated in the database)"));
        assert_eq!(
            msgs[4],
            ["Found process entry with empty 'proc_name': 7 at 2020-09-13 12:26:40.000000"]
        );
        assert!(
            rows.iter()
                .flat_map(|r| &r.heuristics)
                .all(|h| h.level == Level::Medium)
        );
    }

    #[test]
    fn huge_id_gap_is_bounded() {
        let mut rows = vec![
            row(Some("a"), None, Json::from(1)),
            row(Some("b"), None, Json::from(i64::MAX)),
        ];
        let mut sink = bridle_model::VecSink::default();
        let file = Arc::new(EvidenceFile {
            logical_path: "x".into(),
            stored_path: "x".into(),
            sha256: String::new(),
            size: 0,
        });
        find_deleted(&mut rows, &mut sink, &file);
        assert_eq!(rows.len(), 2);
        assert_eq!(sink.problems.len(), 1);
        assert_eq!(rows[0].heuristics.len(), 1);
    }
}
