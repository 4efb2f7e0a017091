//! NSURLCache `Cache.db` files: the URLs apps fetched.
//!
//! MVT's `CacheFiles` reads every file named `Cache.db` anywhere in the dump (apps keep one
//! per cache folder) and lists the rows of `cfurl_cache_response`. MVT writes one JSON object
//! keyed by the database's path; bridle streams one record per row, with the database's path
//! in `cache_file` (the key MVT adds to alerted rows).

use super::found::Tally;
use super::report_rows;
use crate::{Ios, IosKind, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};

ios_module!(
    CacheFiles,
    "cache_files",
    "CacheFiles",
    "URLs fetched by apps, from every NSURLCache Cache.db in the dump"
);

/// The file name MVT looks for.
const NAME: &str = "Cache.db";
const TABLE: &str = "cfurl_cache_response";
/// The columns MVT reads (by position, from `SELECT *`), by name here, with MVT's keys.
const COLUMNS: [(&str, &str); 6] = [
    ("entry_ID", "entry_id"),
    ("version", "version"),
    ("hash_value", "hash_value"),
    ("storage_policy", "storage_policy"),
    ("request_key", "url"),
    ("time_stamp", "isodate"),
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if ios.kind() != IosKind::FileSystem {
        return Ok(ModuleOutcome::NotFound(
            "not a filesystem dump: Cache.db files are found by walking the device tree".into(),
        ));
    }
    let mut paths: Vec<(String, std::path::PathBuf)> = Vec::new();
    let report = ios
        .walk("", |e| {
            if e.name == NAME && e.file_type.is_file() {
                paths.push((e.rel.to_owned(), e.path.to_path_buf()));
            }
        })
        .map_err(|e| super::unreadable("/", &e))?;
    if let Some(p) = report.problem() {
        sink.problem(Problem {
            kind: ProblemKind::Partial,
            module: String::new(),
            file: Some("/".into()),
            message: p,
        });
    }
    if paths.is_empty() {
        return Ok(ModuleOutcome::NotFound("no Cache.db in the dump".into()));
    }
    let mut tally = Tally::default();
    for (rel, path) in paths {
        let located = ios.located_fs(path, &rel);
        let (db, file) = match ios.open_db(&located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, &located, &e);
                continue;
            }
        };
        tally.ok();
        if !db.has_table(TABLE) {
            // Not a URL cache (or an empty one): nothing to check, as in MVT.
            continue;
        }
        let select: Vec<String> = COLUMNS
            .iter()
            .map(|(c, _)| {
                if db.has_column(TABLE, c) {
                    format!("\"{c}\"")
                } else {
                    "NULL".to_owned()
                }
            })
            .collect();
        let sql = format!(
            "SELECT {}, rowid FROM {TABLE} ORDER BY rowid",
            select.join(", ")
        );
        let read = for_each_row(db.conn(), &sql, [], |row| {
            let mut r = Record::new(Source::row(
                &file,
                TABLE,
                rows::int(row, COLUMNS.len()).unwrap_or_default(),
            ));
            for (i, (_, key)) in COLUMNS.iter().enumerate() {
                r.set(key, rows::json(row, i));
            }
            r.set("cache_file", rel.as_str());
            let url = rows::text(row, 4).unwrap_or_default();
            // The raw `time_stamp` text is MVT's isodate (`YYYY-mm-dd HH:MM:SS`, UTC).
            let when = rows::text(row, 5).and_then(|t| Timestamp::parse(&t));
            r.event(TimelineEvent::new(
                when,
                "cache_response",
                format!("{rel} recorded visit to URL {url}"),
            ));
            r.observe(Observable::new(ObservableKind::Url, url, "url"));
            sink.record(r);
        });
        report_rows(sink, &file, TABLE, &read);
    }
    tally.finish()
}
