//! Chrome's History database: every page visit, with the visit it was redirected from.

use super::{found, report_rows, unreadable};
use crate::{Ios, Locations, pyfmt, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    ChromeHistory,
    "chrome_history",
    "ChromeHistory",
    "Chrome browsing history (visits and their redirect sources)"
);

const LOCATIONS: Locations = Locations {
    backup: &[(
        "AppDomain-com.google.chrome.ios",
        "Library/Application Support/Google/Chrome/Default/History",
    )],
    backup_like: &[],
    fs: &[
        "private/var/mobile/Containers/Data/Application/*/Library/Application Support/Google/Chrome/Default/History",
    ],
};

/// A Chrome time (microseconds since 1601-01-01); 0 means "never".
pub(crate) fn chrome_time(v: Option<i64>) -> Option<Timestamp> {
    v.filter(|t| *t != 0)
        .and_then(Timestamp::from_webkit_micros)
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "Chrome History database")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if !db.has_table("urls") || !db.has_table("visits") {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "no `urls` and `visits` tables".into(),
        });
    }
    let from_visit = if db.has_column("visits", "from_visit") {
        "visits.from_visit"
    } else {
        "NULL"
    };
    let sql = format!(
        "SELECT urls.id, urls.url, visits.id, visits.visit_time, {from_visit} \
         FROM urls JOIN visits ON visits.url = urls.id ORDER BY visits.visit_time"
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let id = rows::json(row, 0);
        let url = rows::text(row, 1);
        let visit_id = rows::json(row, 2);
        let time = chrome_time(rows::int(row, 3));
        let redirect_source = rows::json(row, 4);
        let mut r = Record::new(Source::row(&file, "visits", pyfmt::value(&visit_id)));
        r.event(TimelineEvent::new(
            time,
            "visit",
            format!(
                "{} - {} (visit ID: {}, redirect source: {})",
                pyfmt::value(&id),
                pyfmt::opt(url.as_deref()),
                pyfmt::value(&visit_id),
                pyfmt::value(&redirect_source)
            ),
        ));
        if let Some(u) = url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "url"));
        }
        r.set("id", id)
            .set("url", url.map_or(Json::Null, Json::from))
            .set("visit_id", visit_id)
            .set("timestamp", rows::json(row, 3))
            .set("isodate", time.map(Timestamp::to_mvt).unwrap_or_default())
            .set("redirect_source", redirect_source);
        sink.record(r);
    });
    report_rows(sink, &file, "visits", &read);
    Ok(ModuleOutcome::Done)
}
