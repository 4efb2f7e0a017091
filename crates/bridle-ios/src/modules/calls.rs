//! CallHistory.storedata: phone, FaceTime and app (CallKit) calls.

use super::coredata::{Columns, iso, mac_time, py_str};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
};
use serde_json::Value as Json;

ios_module!(
    Calls,
    "calls",
    "Calls",
    "Phone, FaceTime and app calls (CallHistory.storedata)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/CallHistoryDB/CallHistory.storedata")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/CallHistoryDB/CallHistory.storedata"],
};

const TABLE: &str = "ZCALLRECORD";

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("CallHistory.storedata", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no CallHistory.storedata".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let cols = Columns::of(&db, TABLE);
    if !cols.exists() {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `{TABLE}` table",
            located.logical
        )));
    }
    let sql = format!(
        "SELECT {} FROM {TABLE}",
        [
            cols.select("ZDATE", "date"),
            cols.select("ZDURATION", "duration"),
            cols.select("ZLOCATION", "location"),
            cols.select("ZADDRESS", "number"),
            cols.select("ZSERVICE_PROVIDER", "provider"),
            cols.select("Z_PK", "pk"),
        ]
        .join(", ")
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let date = mac_time(row, 0);
        // The address is a blob of UTF-8 (invalid bytes kept as \xNN).
        let number = rows::text(row, 3).map_or(Json::Null, Json::String);
        let provider = rows::json(row, 4);
        let duration = rows::json(row, 1);
        let mut r = Record::new(Source::row(&file, TABLE, py_str(&rows::json(row, 5))));
        r.event(TimelineEvent::new(
            date,
            "call",
            format!(
                "From {} using {} during {} seconds",
                py_str(&number),
                py_str(&provider),
                py_str(&duration)
            ),
        ));
        // The provider is the bundle id of the calling app (CallKit): an app indicator
        // applies. MVT checks nothing here.
        if let Json::String(p) = &provider {
            r.observe(Observable::new(
                ObservableKind::AppId,
                p.as_str(),
                "provider",
            ));
        }
        r.set("isodate", iso(date))
            .set("duration", duration)
            .set("location", rows::json(row, 2))
            .set("number", number)
            .set("provider", provider);
        sink.record(r);
    });
    report_rows(sink, &file, TABLE, &read);
    Ok(ModuleOutcome::Done)
}
