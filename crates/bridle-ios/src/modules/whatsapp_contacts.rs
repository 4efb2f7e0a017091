//! WhatsApp ContactsV2.sqlite: the address book WhatsApp keeps, with each contact's LID and
//! phone number identifiers and disappearing-messages timer.
//!
//! WhatsApp renames columns between versions, so the query takes the columns present (as
//! MVT does); a field whose column is absent is written as null. The reading is shared with
//! `interaction_c`, which resolves WhatsApp LIDs to phone numbers and names from this same
//! database.

use super::coredata::{Columns, iso_or_null, mac_time, py_float, quote};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::{Database, RowsRead, for_each_row};
use bridle_model::{Map, ModuleError, ModuleOutcome, Record, Sink, Source, TimelineEvent};
use rusqlite::types::ValueRef;
use serde_json::Value as Json;

ios_module!(
    WhatsappContacts,
    "whatsapp_contacts",
    "WhatsappContacts",
    "WhatsApp contacts and their disappearing-messages settings (ContactsV2.sqlite)"
);

/// The backup domain of WhatsApp's shared app group.
pub(crate) const WHATSAPP_DOMAIN: &str = "AppDomainGroup-group.net.whatsapp.WhatsApp.shared";

pub(crate) const LOCATIONS: Locations = Locations {
    backup: &[(WHATSAPP_DOMAIN, "ContactsV2.sqlite")],
    backup_like: &[],
    fs: &["private/var/mobile/Containers/Shared/AppGroup/*/ContactsV2.sqlite"],
};

const TABLE: &str = "ZWAADDRESSBOOKCONTACT";

/// Output field and the columns that may hold it, by preference.
const CANDIDATES: [(&str, &[&str]); 19] = [
    ("whatsapp_id", &["ZWHATSAPPID"]),
    ("lid", &["ZLID"]),
    ("phone_number", &["ZPHONENUMBER"]),
    ("localized_phone_number", &["ZLOCALIZEDPHONENUMBER"]),
    ("full_name", &["ZFULLNAME"]),
    ("given_name", &["ZGIVENNAME"]),
    ("last_name", &["ZLASTNAME"]),
    ("user_name", &["ZUSERNAME"]),
    ("business_name", &["ZBUSINESSNAME"]),
    ("about_text", &["ZABOUTTEXT"]),
    ("about_emoji", &["ZABOUTEMOJI"]),
    ("notes", &["ZNOTES"]),
    ("disappearing_mode_duration", &["ZDISAPPEARINGMODEDURATION"]),
    (
        "disappearing_mode_timestamp",
        &["ZDISAPPEARINGMODETIMESTAMP"],
    ),
    ("about_timestamp", &["ZABOUTTIMESTAMP"]),
    ("about_expiration_timestamp", &["ZABOUTEXPIRATIONTIMESTAMP"]),
    ("last_updated", &["ZLASTUPDATED"]),
    ("phone_status", &["ZPHONESTATUS", "ZPHONENUMBERSTATUS"]),
    ("sync_policy", &["ZSYNCPOLICY"]),
];

/// Fields that are text (CoreData stores some as UTF-8 blobs).
const STRING_FIELDS: [&str; 12] = [
    "whatsapp_id",
    "lid",
    "phone_number",
    "localized_phone_number",
    "full_name",
    "given_name",
    "last_name",
    "user_name",
    "business_name",
    "about_text",
    "about_emoji",
    "notes",
];

/// Fields that are Mac absolute times.
const DATE_FIELDS: [&str; 4] = [
    "disappearing_mode_timestamp",
    "about_timestamp",
    "about_expiration_timestamp",
    "last_updated",
];

/// WhatsApp's standard timer values.
const DURATION_LABELS: [(i64, &str); 5] = [
    (86_400, "24 hours"),
    (604_800, "7 days"),
    (1_209_600, "14 days"),
    (2_592_000, "30 days"),
    (7_776_000, "90 days"),
];

/// The query over the columns a ContactsV2.sqlite has.
pub(crate) struct ContactQuery {
    sql: String,
    fields: Vec<&'static str>,
    has_duration: bool,
}

impl ContactQuery {
    /// The query for this database, or `None` if it has no contact table.
    pub(crate) fn new(db: &Database) -> Option<ContactQuery> {
        let cols = Columns::of(db, TABLE);
        if !cols.exists() {
            return None;
        }
        let mut select = vec![cols.select("Z_PK", "row_pk")];
        let mut fields = Vec::new();
        for (field, candidates) in CANDIDATES {
            if let Some(col) = candidates.iter().find(|c| cols.has(c)) {
                select.push(cols.select(col, field));
                fields.push(field);
            }
        }
        let has_duration = fields.contains(&"disappearing_mode_duration");
        Some(ContactQuery {
            sql: format!("SELECT {} FROM {}", select.join(", "), quote(TABLE)),
            fields,
            has_duration,
        })
    }

    /// Streams every contact as MVT's record (field order included) with its primary key.
    pub(crate) fn read(&self, db: &Database, mut f: impl FnMut(Json, Map)) -> RowsRead {
        for_each_row(db.conn(), &self.sql, [], |row| {
            f(rows::json(row, 0), self.record(row));
        })
    }

    fn record(&self, row: &rusqlite::Row<'_>) -> Map {
        let mut m = Map::new();
        m.insert("row_pk".into(), rows::json(row, 0));
        for (i, field) in self.fields.iter().enumerate() {
            let idx = i + 1;
            let v = if STRING_FIELDS.contains(field) {
                decoded_string(row, idx)
            } else if DATE_FIELDS.contains(field) {
                if matches!(row.get_ref(idx), Ok(ValueRef::Null) | Err(_)) {
                    Json::Null
                } else {
                    iso_or_null(mac_time(row, idx))
                }
            } else {
                rows::json(row, idx)
            };
            m.insert((*field).to_owned(), v);
        }
        for field in STRING_FIELDS.iter().chain(DATE_FIELDS.iter()) {
            m.entry(*field).or_insert(Json::Null);
        }
        if self.has_duration {
            let (on, label) = duration_state(m.get("disappearing_mode_duration"));
            m.insert("disappearing_mode_is_on".into(), Json::Bool(on));
            m.insert("disappearing_mode_label".into(), Json::String(label));
        } else {
            m.insert("disappearing_mode_duration".into(), Json::Null);
            m.insert("disappearing_mode_is_on".into(), Json::Null);
            m.insert("disappearing_mode_label".into(), Json::Null);
        }
        m.entry("phone_status").or_insert(Json::Null);
        m.entry("sync_policy").or_insert(Json::Null);
        m
    }
}

/// Text as MVT decodes it here: blobs as UTF-8 with invalid bytes replaced (U+FFFD), numbers
/// as Python prints them.
fn decoded_string(row: &rusqlite::Row<'_>, idx: usize) -> Json {
    match row.get_ref(idx) {
        Ok(ValueRef::Text(b) | ValueRef::Blob(b)) => {
            Json::String(String::from_utf8_lossy(b).into_owned())
        }
        Ok(ValueRef::Integer(i)) => Json::String(i.to_string()),
        Ok(ValueRef::Real(f)) => Json::String(py_float(f)),
        Ok(ValueRef::Null) | Err(_) => Json::Null,
    }
}

/// Whether the timer is on, and its label: a standard value's name, `N seconds`, or `off`.
fn duration_state(v: Option<&Json>) -> (bool, String) {
    let seconds = match v {
        None | Some(Json::Null) => return (false, "off".into()),
        Some(Json::Number(n)) => n.as_f64(),
        Some(Json::String(s)) if s.is_empty() => return (false, "off".into()),
        Some(Json::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    let Some(seconds) = seconds.filter(|s| s.is_finite() && s.abs() < 9.0e18) else {
        // A value that is not a number of seconds: set, but of unknown length.
        return (true, "unknown".into());
    };
    if seconds == 0.0 {
        return (false, "off".into());
    }
    #[allow(clippy::cast_possible_truncation)]
    let whole = seconds.trunc() as i64;
    let label = DURATION_LABELS
        .iter()
        .find(|(s, _)| *s == whole)
        .map_or_else(|| format!("{whole} seconds"), |(_, l)| (*l).to_owned());
    (true, label)
}

fn string_field(m: &Map, key: &str) -> Option<String> {
    match m.get(key) {
        Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

/// `jid (full name)`, as MVT names a contact in its timeline.
fn describe(m: &Map) -> String {
    let contact = string_field(m, "whatsapp_id")
        .or_else(|| string_field(m, "lid"))
        .or_else(|| string_field(m, "phone_number"))
        .unwrap_or_else(|| "unknown".into());
    match string_field(m, "full_name") {
        Some(name) => format!("{contact} ({name})"),
        None => contact,
    }
}

fn timeline(r: &mut Record) {
    let contact = describe(&r.data);
    let time = |k: &str| match r.data.get(k) {
        Some(Json::String(s)) if !s.is_empty() => bridle_model::Timestamp::parse(s),
        _ => None,
    };
    let mut events = Vec::new();
    if let Some(t) = time("disappearing_mode_timestamp") {
        let label = super::coredata::text_of(&r.data, "disappearing_mode_label")
            .unwrap_or_else(|| "None".into());
        events.push(TimelineEvent::new(
            Some(t),
            "disappearing_mode_set",
            format!("WhatsApp disappearing messages timer set to '{label}' for {contact}"),
        ));
    }
    if let Some(t) = time("about_timestamp") {
        let mut data = format!("WhatsApp about text of {contact} changed");
        if let Some(about) = string_field(&r.data, "about_text") {
            data.push_str(&format!(" to \"{about}\""));
        }
        events.push(TimelineEvent::new(Some(t), "about_changed", data));
    }
    if let Some(t) = time("about_expiration_timestamp") {
        events.push(TimelineEvent::new(
            Some(t),
            "about_expiration",
            format!("WhatsApp about text of {contact} scheduled to expire"),
        ));
    }
    if let Some(t) = time("last_updated") {
        events.push(TimelineEvent::new(
            Some(t),
            "contact_last_updated",
            format!("WhatsApp contact record for {contact} updated"),
        ));
    }
    r.timeline.extend(events);
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("ContactsV2.sqlite", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound(
            "no WhatsApp ContactsV2.sqlite (often missing from incremental backups)".into(),
        ));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let Some(query) = ContactQuery::new(&db) else {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `{TABLE}` table",
            located.logical
        )));
    };
    let read = query.read(&db, |pk, data| {
        let mut r = Record::new(Source::row(&file, TABLE, super::coredata::py_str(&pk)));
        r.data = data;
        timeline(&mut r);
        sink.record(r);
    });
    report_rows(sink, &file, TABLE, &read);
    Ok(ModuleOutcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_labels() {
        assert_eq!(
            duration_state(Some(&serde_json::json!(86400.0))),
            (true, "24 hours".into())
        );
        assert_eq!(
            duration_state(Some(&serde_json::json!(3600.9))),
            (true, "3600 seconds".into())
        );
        assert_eq!(
            duration_state(Some(&serde_json::json!(0))),
            (false, "off".into())
        );
        assert_eq!(duration_state(None), (false, "off".into()));
        assert_eq!(
            duration_state(Some(&serde_json::json!(f64::MAX))),
            (true, "unknown".into())
        );
    }
}
