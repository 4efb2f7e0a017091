//! Firefox's browser.db: every page visit.

use super::{found, report_rows, unreadable};
use crate::{Ios, Locations, pyfmt, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    FirefoxHistory,
    "firefox_history",
    "FirefoxHistory",
    "Firefox browsing history (browser.db visits)"
);

/// Firefox keeps history and favicons in the same database.
pub(crate) const LOCATIONS: Locations = Locations {
    backup: &[(
        "AppDomainGroup-group.org.mozilla.ios.Firefox",
        "profile.profile/browser.db",
    )],
    backup_like: &[],
    fs: &[
        "private/var/mobile/profile.profile/browser.db",
        "private/var/mobile/Containers/Shared/AppGroup/*/profile.profile/browser.db",
    ],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "Firefox browser.db")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if !db.has_table("visits") || !db.has_table("history") {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "no `visits` and `history` tables".into(),
        });
    }
    let opt = |table: &str, c: &str| {
        if db.has_column(table, c) {
            format!("{table}.{c}")
        } else {
            "NULL".to_owned()
        }
    };
    let sql = format!(
        "SELECT visits.id, visits.date, history.url, {}, {}, {} \
         FROM visits JOIN history ON visits.siteID = history.id ORDER BY visits.id",
        opt("history", "title"),
        opt("visits", "is_local"),
        opt("visits", "type"),
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let id = rows::json(row, 0);
        // Visit dates are microseconds since 1970 (MVT divides by 10^6 in SQL, an integer
        // division that drops the fraction; the microseconds are kept here).
        let time = rows::int(row, 1)
            .filter(|t| *t != 0)
            .and_then(Timestamp::from_unix_micros);
        let url = rows::text(row, 2);
        let mut r = Record::new(Source::row(&file, "visits", pyfmt::value(&id)));
        r.event(TimelineEvent::new(
            time,
            "firefox_history",
            format!(
                "Firefox visit with ID {} to URL: {}",
                pyfmt::value(&id),
                pyfmt::opt(url.as_deref())
            ),
        ));
        if let Some(u) = url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "url"));
        }
        r.set("id", id)
            .set("isodate", time.map(Timestamp::to_mvt).unwrap_or_default())
            .set("url", url.map_or(Json::Null, Json::from))
            .set("title", rows::json(row, 3))
            // MVT's key name, typo included: scripts read it.
            .set("i1000000s_local", rows::json(row, 4))
            .set("type", rows::json(row, 5));
        sink.record(r);
    });
    report_rows(sink, &file, "visits", &read);
    Ok(ModuleOutcome::Done)
}
