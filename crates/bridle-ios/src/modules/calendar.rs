//! Calendar.sqlitedb: calendar events and who invited the user to them.
//!
//! QuaDream's exploit (ENDOFDAYS) left calendar invitations titled "Meeting" with the
//! description "Notes"; such an event is flagged HIGH, always (MVT skips that check on an
//! event whose organiser already matched an indicator).

use super::coredata::{Columns, iso, mac_time, py_str, text_of};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};
use rusqlite::types::ValueRef;
use serde_json::Value as Json;

ios_module!(
    Calendar,
    "calendar",
    "Calendar",
    "Calendar events and their organisers (Calendar.sqlitedb)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/Calendar/Calendar.sqlitedb")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/Calendar/Calendar.sqlitedb"],
};

/// Output field, and the column it comes from in CalendarItem (`true`) or Participant.
const FIELDS: [(&str, bool, &str); 23] = [
    ("id", true, "ROWID"),
    ("summary", true, "summary"),
    ("description", true, "description"),
    ("start_date", true, "start_date"),
    ("end_date", true, "end_date"),
    ("all_day", true, "all_day"),
    ("calendar_id", true, "calendar_id"),
    ("organizer_id", true, "organizer_id"),
    ("url", true, "url"),
    ("last_modified", true, "last_modified"),
    ("external_id", true, "external_id"),
    ("external_mod_tag", true, "external_mod_tag"),
    ("unique_identifier", true, "unique_identifier"),
    ("hidden", true, "hidden"),
    ("uuid", true, "UUID"),
    ("creation_date", true, "creation_date"),
    ("action", true, "action"),
    ("created_by_id", true, "created_by_id"),
    ("participant_uuid", false, "UUID"),
    ("participant_email", false, "email"),
    ("participant_phone", false, "phone_number"),
    ("participant_comment", false, "comment"),
    ("participant_last_modified", false, "last_modified"),
];

/// Mac absolute times, each a timeline event named after the field.
const TIMESTAMPS: [&str; 5] = [
    "start_date",
    "end_date",
    "last_modified",
    "creation_date",
    "participant_last_modified",
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("Calendar.sqlitedb", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no Calendar.sqlitedb".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let item = Columns::of(&db, "CalendarItem");
    if !item.exists() {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no CalendarItem table",
            located.logical
        )));
    }
    let participant = Columns::of(&db, "Participant");
    let joined = participant.exists() && item.has("organizer_id");
    let select: Vec<String> = FIELDS
        .iter()
        .map(|(name, in_item, col)| {
            if *in_item {
                // ROWID is implicit: pragma_table_info does not list it.
                if *col == "ROWID" {
                    "CalendarItem.ROWID AS \"id\"".to_owned()
                } else {
                    item.select(col, name)
                }
            } else if joined {
                participant.select(col, name)
            } else {
                format!("NULL AS \"{name}\"")
            }
        })
        .collect();
    let mut sql = format!("SELECT {} FROM CalendarItem", select.join(", "));
    if joined {
        sql.push_str(" LEFT JOIN Participant ON Participant.ROWID = CalendarItem.organizer_id");
    }
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let mut data = Map::new();
        let mut times: Vec<(&str, Option<Timestamp>)> = Vec::with_capacity(5);
        for (idx, (name, _, _)) in FIELDS.iter().enumerate() {
            let v = if TIMESTAMPS.contains(name) {
                match row.get_ref(idx) {
                    Ok(ValueRef::Null) | Err(_) => Json::Null,
                    // MVT keeps text as it is.
                    Ok(ValueRef::Text(_) | ValueRef::Blob(_)) => rows::json(row, idx),
                    Ok(_) => {
                        let t = mac_time(row, idx);
                        times.push((name, t));
                        Json::String(iso(t))
                    }
                }
            } else {
                rows::json(row, idx)
            };
            data.insert((*name).to_owned(), v);
        }
        let pk = data.get("id").map(py_str).unwrap_or_default();
        let mut r = Record::new(Source::row(&file, "CalendarItem", pk));
        let field = |k: &str| data.get(k).map_or_else(|| "None".into(), py_str);
        let text = format!(
            "Calendar event {} ({}) (invitation by {})",
            field("summary"),
            field("description"),
            field("participant_email")
        );
        for name in TIMESTAMPS {
            match times.iter().find(|(n, _)| *n == name) {
                Some((_, Some(t))) => {
                    r.event(TimelineEvent::new(Some(*t), name, text.clone()));
                }
                Some((_, None)) => {}
                // A date stored as text: MVT shows it as it is; it is parsed if it can be.
                None => {
                    if let Some(s) = text_of(&data, name).filter(|s| !s.is_empty()) {
                        r.event(TimelineEvent::new(Timestamp::parse(&s), name, text.clone()));
                    }
                }
            }
        }
        if text_of(&data, "summary").as_deref() == Some("Meeting")
            && text_of(&data, "description").as_deref() == Some("Notes")
        {
            r.alert(Heuristic::new(
                Level::High,
                format!(
                    "Potential Quadream exploit event identified: {}",
                    field("uuid")
                ),
            ));
        }
        if let Some(email) = text_of(&data, "participant_email").filter(|s| !s.is_empty()) {
            let email = email.strip_prefix("mailto:").unwrap_or(&email).to_owned();
            r.observe(Observable::new(
                ObservableKind::Email,
                email,
                "participant_email",
            ));
        }
        if let Some(url) = text_of(&data, "url").filter(|s| !s.is_empty()) {
            r.observe(Observable::new(ObservableKind::Url, url, "url"));
        }
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, &file, "CalendarItem", &read);
    Ok(ModuleOutcome::Done)
}
