//! Chrome's Favicons database: the icon of every page Chrome loaded, which names pages (and
//! icon hosts) that may no longer be in the history.

use super::chrome_history::chrome_time;
use super::{found, report_rows, unreadable};
use crate::{Ios, Locations, pyfmt, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    ChromeFavicon,
    "chrome_favicon",
    "ChromeFavicon",
    "Chrome favicon cache: pages and the icons they loaded"
);

const LOCATIONS: Locations = Locations {
    backup: &[(
        "AppDomain-com.google.chrome.ios",
        "Library/Application Support/Google/Chrome/Default/Favicons",
    )],
    backup_like: &[],
    fs: &[
        "private/var/mobile/Containers/Data/Application/*/Library/Application Support/Google/Chrome/Default/Favicons",
    ],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "Chrome Favicons database")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    for table in ["icon_mapping", "favicon_bitmaps", "favicons"] {
        if !db.has_table(table) {
            return Err(ModuleError::Unreadable {
                file: located.logical,
                reason: format!("no `{table}` table"),
            });
        }
    }
    // The time is the last update, or the last request when the icon was never updated; MVT
    // sorts by it (stable over the mapping order), which SQLite does here so that rows
    // stream.
    let sql = "SELECT icon_mapping.page_url, favicons.url, favicon_bitmaps.last_updated, \
               favicon_bitmaps.last_requested, icon_mapping.id \
               FROM icon_mapping \
               JOIN favicon_bitmaps ON icon_mapping.icon_id = favicon_bitmaps.icon_id \
               JOIN favicons ON icon_mapping.icon_id = favicons.id \
               ORDER BY CASE WHEN COALESCE(favicon_bitmaps.last_updated, 0) != 0 \
               THEN favicon_bitmaps.last_updated ELSE favicon_bitmaps.last_requested END, \
               icon_mapping.id";
    let read = for_each_row(db.conn(), sql, [], |row| {
        let url = rows::text(row, 0);
        let icon_url = rows::text(row, 1);
        let updated = rows::int(row, 2).unwrap_or(0);
        let last = if updated != 0 {
            updated
        } else {
            rows::int(row, 3).unwrap_or(0)
        };
        let time = chrome_time(Some(last));
        let mut r = Record::new(Source::row(
            &file,
            "icon_mapping",
            pyfmt::value(&rows::json(row, 4)),
        ));
        r.event(TimelineEvent::new(
            time,
            "new_favicon",
            format!(
                "{} from {}",
                pyfmt::opt(icon_url.as_deref()),
                pyfmt::opt(url.as_deref())
            ),
        ));
        if let Some(u) = url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "url"));
        }
        if let Some(u) = icon_url.as_deref() {
            r.observe(Observable::new(ObservableKind::Url, u, "icon_url"));
        }
        r.set("url", url.map_or(Json::Null, Json::from))
            .set("icon_url", icon_url.map_or(Json::Null, Json::from))
            .set("timestamp", last)
            .set("isodate", time.map(Timestamp::to_mvt).unwrap_or_default());
        sink.record(r);
    });
    report_rows(sink, &file, "icon_mapping", &read);
    Ok(ModuleOutcome::Done)
}
