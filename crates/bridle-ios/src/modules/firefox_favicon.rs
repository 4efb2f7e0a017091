//! Firefox's favicons (browser.db): the icons of visited pages, tied to the page visited.

use super::{found, report_rows, unreadable};
use crate::{Ios, pyfmt, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    FirefoxFavicon,
    "firefox_favicon",
    "FirefoxFavicon",
    "Firefox favicons (browser.db) and the pages they were loaded for"
);

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(
        ios,
        &super::firefox_history::LOCATIONS,
        "Firefox browser.db",
    )? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    for table in ["favicons", "favicon_sites", "history"] {
        if !db.has_table(table) {
            return Err(ModuleError::Unreadable {
                file: located.logical,
                reason: format!("no `{table}` table"),
            });
        }
    }
    let opt = |c: &str| {
        if db.has_column("favicons", c) {
            format!("favicons.{c}")
        } else {
            "NULL".to_owned()
        }
    };
    let sql = format!(
        "SELECT favicons.id, favicons.url, {}, {}, {}, {}, history.id, history.url \
         FROM favicons \
         JOIN favicon_sites ON favicon_sites.faviconID = favicons.id \
         JOIN history ON favicon_sites.siteID = history.id",
        opt("width"),
        opt("height"),
        opt("type"),
        opt("date"),
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let id = rows::json(row, 0);
        let url = rows::text(row, 1);
        // Seconds since 1970, as MVT reads them.
        let time = rows::real(row, 5)
            .filter(|t| *t != 0.0)
            .and_then(pyfmt::unix_seconds);
        let history_url = rows::text(row, 7);
        let mut r = Record::new(Source::row(&file, "favicons", pyfmt::value(&id)));
        r.event(TimelineEvent::new(
            time,
            "firefox_history",
            format!(
                "Firefox favicon {} when visiting {}",
                pyfmt::opt(url.as_deref()),
                pyfmt::opt(history_url.as_deref())
            ),
        ));
        if let Some(u) = url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "url"));
        }
        if let Some(u) = history_url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "history_url"));
        }
        r.set("id", id)
            .set("url", url.map_or(Json::Null, Json::from))
            .set("width", rows::json(row, 2))
            .set("height", rows::json(row, 3))
            .set("type", rows::json(row, 4))
            .set("isodate", time.map(Timestamp::to_mvt).unwrap_or_default())
            .set("history_id", rows::json(row, 6))
            .set("history_url", history_url.map_or(Json::Null, Json::from));
        sink.record(r);
    });
    report_rows(sink, &file, "favicons", &read);
    Ok(ModuleOutcome::Done)
}
