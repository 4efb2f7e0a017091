//! Safari's favicon cache (`Favicons.db`): the pages whose icons Safari fetched, and the
//! icons it rejected.
//!
//! MVT's `SafariFavicon` joins `page_url` with `icon_info` (valid icons) and lists
//! `rejected_resources` (rejected ones), then sorts everything by date. Rows are held for that
//! sort, bounded by [`MAX_ROWS`]. `safari_favicon_db_path` is the database's device path
//! (MVT writes the path on the examiner's machine).

use super::found::Tally;
use super::report_rows;
use crate::{Ios, Locations, pyfmt, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    SafariFavicon,
    "safari_favicon",
    "SafariFavicon",
    "Pages whose icons Safari fetched or rejected (Favicons.db)"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &[
        "private/var/mobile/Library/Image Cache/Favicons/Favicons.db",
        "private/var/mobile/Containers/Data/Application/*/Library/Image Cache/Favicons/Favicons.db",
    ],
};

/// Most rows kept over all databases.
pub const MAX_ROWS: usize = 1_000_000;

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let found = match super::found::all(ios, &LOCATIONS, "Safari Favicons.db")? {
        Ok(found) => found,
        Err(not_found) => return Ok(not_found),
    };
    let mut tally = Tally::default();
    let mut out: Vec<(Option<Timestamp>, Record)> = Vec::new();
    let mut skipped = 0u64;
    for located in &found {
        let (db, file) = match ios.open_db(located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        let valid = db.has_table("page_url") && db.has_table("icon_info");
        let rejected = db.has_table("rejected_resources");
        if !valid && !rejected {
            tally.unusable(
                sink,
                located,
                "no page_url/icon_info or rejected_resources table",
            );
            continue;
        }
        tally.ok();
        let queries: [(bool, &'static str, &str, &str); 2] = [
            (
                valid,
                "page_url",
                "valid",
                "SELECT page_url.url, icon_info.url, icon_info.timestamp, page_url.rowid \
                 FROM page_url JOIN icon_info ON page_url.uuid = icon_info.uuid \
                 ORDER BY icon_info.timestamp",
            ),
            (
                rejected,
                "rejected_resources",
                "rejected",
                "SELECT page_url, icon_url, timestamp, rowid FROM rejected_resources \
                 ORDER BY timestamp",
            ),
        ];
        for (present, table, kind, sql) in queries {
            if !present {
                continue;
            }
            let read = for_each_row(db.conn(), sql, [], |row| {
                if out.len() >= MAX_ROWS {
                    skipped += 1;
                    return;
                }
                let url = rows::text(row, 0).unwrap_or_default();
                let icon_url = rows::text(row, 1).unwrap_or_default();
                let raw_time = rows::json(row, 2);
                let time = pyfmt::mac_json(&raw_time);
                let mut r = Record::new(Source::row(
                    &file,
                    table,
                    rows::int(row, 3).unwrap_or_default(),
                ));
                r.set("url", rows::json(row, 0))
                    .set("icon_url", rows::json(row, 1))
                    .set("timestamp", raw_time)
                    .set("isodate", super::iso(time))
                    .set("type", kind)
                    .set(
                        "safari_favicon_db_path",
                        Json::from(located.logical.as_str()),
                    );
                r.event(TimelineEvent::new(
                    time,
                    "safari_favicon",
                    format!("Safari favicon from {url} with icon URL {icon_url} ({kind})"),
                ));
                r.observe(Observable::new(ObservableKind::Url, url, "url"));
                r.observe(Observable::new(ObservableKind::Url, icon_url, "icon_url"));
                out.push((time, r));
            });
            report_rows(sink, &file, table, &read);
        }
    }
    if skipped > 0 {
        sink.problem(Problem {
            kind: ProblemKind::Skipped,
            module: String::new(),
            file: None,
            message: format!("{skipped} favicon rows past the first {MAX_ROWS} were not read"),
        });
    }
    out.sort_by_key(|(t, _)| *t);
    for (_, r) in out {
        sink.record(r);
    }
    tally.finish()
}
