//! sms.db: iMessage and SMS messages, with the links they carry and Apple's threat
//! notifications.
//!
//! MVT joins `message` to `handle` with an inner join, so a message without a handle (sent to
//! a group, or whose handle was deleted) is silently dropped; here it is a LEFT JOIN and such
//! messages are kept with an empty phone number.

use super::{report_rows, unreadable};
use crate::links::find_links;
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    Sms,
    "sms",
    "SMS",
    "iMessage and SMS messages (sms.db), their links and Apple threat notifications"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/SMS/sms.db")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/SMS/sms.db"],
};

/// Columns written base64-encoded, as MVT does: they hold binary archives.
const BASE64_COLUMNS: [&str; 3] = ["attributedBody", "payload_data", "message_summary_info"];

/// The openings of Apple's threat notifications sent over iMessage.
const APPLE_WARNINGS: [&str; 2] = [
    "ALERT: State-sponsored attackers may be targeting your iPhone",
    "ALERT: Apple detected a targeted mercenary spyware attack against your iPhone",
];

/// Mac absolute time from a message date column (seconds, or nanoseconds since iOS 11).
pub(crate) fn mac_time(v: &Json) -> Option<Timestamp> {
    match v {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                if i == 0 {
                    None
                } else {
                    Timestamp::from_cocoa_int(i)
                }
            } else {
                n.as_f64()
                    .filter(|f| *f != 0.0)
                    .and_then(Timestamp::from_cocoa_seconds_f64)
            }
        }
        _ => None,
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("sms.db", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no sms.db".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if !db.has_table("message") {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `message` table",
            located.logical
        )));
    }
    let sql = if db.has_table("handle") {
        "SELECT message.*, handle.id AS phone_number FROM message \
         LEFT JOIN handle ON handle.rowid = message.handle_id ORDER BY message.rowid"
    } else {
        "SELECT message.*, NULL AS phone_number FROM message ORDER BY message.rowid"
    };
    let read = for_each_row(db.conn(), sql, [], |row| {
        let mut data = rows::object(row);
        for col in BASE64_COLUMNS {
            if let Some(idx) = row.as_ref().column_index(col).ok()
                && !matches!(data.get(col), Some(Json::Null) | None)
            {
                data.insert(col.to_owned(), rows::base64(row, idx));
            }
        }
        let rowid = data.get("ROWID").cloned().unwrap_or(Json::Null);
        let date = data.get("date").and_then(mac_time);
        let date_read = data.get("date_read").and_then(mac_time);
        let text = match data.get("text") {
            Some(Json::String(s)) => s.clone(),
            _ => String::new(),
        };
        let links = find_links(&text);
        let from_me = data.get("is_from_me").and_then(Json::as_i64) == Some(1);
        data.insert(
            "isodate".into(),
            Json::from(date.map(Timestamp::to_mvt).unwrap_or_default()),
        );
        data.insert(
            "isodate_read".into(),
            Json::from(date_read.map(Timestamp::to_mvt).unwrap_or_default()),
        );
        data.insert(
            "direction".into(),
            Json::from(if from_me { "sent" } else { "received" }),
        );
        data.insert("text".into(), Json::from(text.as_str()));
        data.insert("links".into(), Json::from(links.clone()));

        let mut r = Record::new(Source::row(&file, "message", rowid));
        let s = |k: &str| match data.get(k) {
            Some(Json::String(s)) => s.clone(),
            Some(Json::Null) | None => "None".to_owned(),
            Some(other) => other.to_string(),
        };
        let summary = format!(
            "{}: {} \"{}\" from {} ({})",
            s("service"),
            s("guid"),
            text.replace('\n', "\\n"),
            s("phone_number"),
            s("account"),
        );
        r.event(TimelineEvent::new(date, "sms_received", summary.clone()));
        if date_read.is_some() {
            r.event(TimelineEvent::new(date_read, "sms_read", summary));
        }
        if APPLE_WARNINGS.iter().any(|w| text.starts_with(w)) {
            r.alert(
                Heuristic::new(
                    Level::High,
                    format!(
                        "Apple warning about state-sponsored attack received on {}",
                        date.map(Timestamp::to_mvt).unwrap_or_default()
                    ),
                )
                .at(date),
            );
        }
        for link in links {
            r.observe(Observable::new(ObservableKind::Url, link, "links"));
        }
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, &file, "message", &read);
    Ok(ModuleOutcome::Done)
}
