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

/// Where the columns the module reads are in a row of `message.*, phone_number`.
struct Columns {
    names: Vec<String>,
    base64: Vec<bool>,
    rowid: Option<usize>,
    guid: Option<usize>,
    text: Option<usize>,
    service: Option<usize>,
    account: Option<usize>,
    date: Option<usize>,
    date_read: Option<usize>,
    is_from_me: Option<usize>,
    phone_number: Option<usize>,
}

impl Columns {
    fn of(row: &rusqlite::Row<'_>) -> Columns {
        let stmt = row.as_ref();
        let names: Vec<String> = (0..stmt.column_count())
            .map(|i| {
                stmt.column_name(i)
                    .map_or_else(|_| format!("column{i}"), str::to_owned)
            })
            .collect();
        let find = |n: &str| names.iter().position(|c| c == n);
        Columns {
            base64: names
                .iter()
                .map(|n| BASE64_COLUMNS.contains(&n.as_str()))
                .collect(),
            rowid: find("ROWID"),
            guid: find("guid"),
            text: find("text"),
            service: find("service"),
            account: find("account"),
            date: find("date"),
            date_read: find("date_read"),
            is_from_me: find("is_from_me"),
            phone_number: find("phone_number"),
            names,
        }
    }
}

/// One message, written straight to JSON (sms.db is the largest table of most phones).
fn message(
    row: &rusqlite::Row<'_>,
    c: &Columns,
    file: &std::sync::Arc<bridle_model::EvidenceFile>,
) -> Record {
    let text_of = |idx: Option<usize>| idx.and_then(|i| rows::text(row, i));
    let time_of = |idx: Option<usize>| idx.map(|i| rows::json(row, i)).as_ref().and_then(mac_time);
    let text = text_of(c.text).unwrap_or_default();
    let date = time_of(c.date);
    let date_read = time_of(c.date_read);
    let from_me = c.is_from_me.and_then(|i| rows::int(row, i)) == Some(1);
    let links = find_links(&text);

    let mut o = rows::JsonObject::with_capacity(1024);
    for (i, name) in c.names.iter().enumerate() {
        if Some(i) == c.text {
            o.str(name, &text);
        } else if c.base64.get(i).copied().unwrap_or(false) {
            match row.get_ref(i) {
                Ok(rusqlite::types::ValueRef::Null) | Err(_) => {
                    o.null(name);
                }
                _ => {
                    o.column_base64(name, row, i);
                }
            }
        } else {
            o.column(name, row, i);
        }
    }
    if c.text.is_none() {
        o.str("text", &text);
    }
    o.str("isodate", &date.map(Timestamp::to_mvt).unwrap_or_default())
        .str(
            "isodate_read",
            &date_read.map(Timestamp::to_mvt).unwrap_or_default(),
        )
        .str("direction", if from_me { "sent" } else { "received" })
        .strings("links", &links);

    let rowid = c.rowid.map_or(Json::Null, |i| rows::json(row, i));
    let mut r = Record::new(Source::row(file, "message", rowid));
    let s = |idx: Option<usize>| text_of(idx).unwrap_or_else(|| "None".to_owned());
    let summary = format!(
        "{}: {} \"{}\" from {} ({})",
        s(c.service),
        s(c.guid),
        text.replace('\n', "\\n"),
        s(c.phone_number),
        s(c.account),
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
    r.raw = Some(o.finish());
    r
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
    // Column positions, found on the first row: the schema varies between iOS versions.
    let mut cols: Option<Columns> = None;
    let read = for_each_row(db.conn(), sql, [], |row| {
        let c = cols.get_or_insert_with(|| Columns::of(row));
        sink.record(message(row, c, &file));
    });
    report_rows(sink, &file, "message", &read);
    Ok(ModuleOutcome::Done)
}
