//! AddressBook.sqlitedb: the phone's contacts, one record per contact value (number,
//! e-mail address, URL...).

use super::coredata::{Columns, py_str};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};
use serde_json::Value as Json;

ios_module!(
    Contacts,
    "contacts",
    "Contacts",
    "Address book contacts and their numbers, addresses and URLs (AddressBook.sqlitedb)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/AddressBook/AddressBook.sqlitedb")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/AddressBook/AddressBook.sqlitedb"],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("AddressBook.sqlitedb", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no AddressBook.sqlitedb".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let person = Columns::of(&db, "ABPerson");
    let multi = Columns::of(&db, "ABMultiValue");
    if !person.exists() || !multi.has("value") || !multi.has("record_id") {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no ABPerson/ABMultiValue tables",
            located.logical
        )));
    }
    let sql = format!(
        "SELECT multi.value AS \"value\", {}, {}, {}, {}, multi.ROWID \
         FROM ABPerson person, ABMultiValue multi \
         WHERE person.rowid = multi.record_id AND multi.value NOT NULL \
         ORDER BY person.rowid ASC",
        person.select_from("person", "first", "first"),
        person.select_from("person", "middle", "middle"),
        person.select_from("person", "last", "last"),
        person.select_from("person", "organization", "organization"),
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let mut r = Record::new(Source::row(
            &file,
            "ABMultiValue",
            py_str(&rows::json(row, 5)),
        ));
        let value = rows::json(row, 0);
        if let Json::String(v) = &value {
            observe(&mut r, v);
        }
        r.set("value", value)
            .set("first", rows::json(row, 1))
            .set("middle", rows::json(row, 2))
            .set("last", rows::json(row, 3))
            .set("organization", rows::json(row, 4));
        sink.record(r);
    });
    report_rows(sink, &file, "ABMultiValue", &read);
    Ok(ModuleOutcome::Done)
}

/// A contact value that is an e-mail address or a web address can be an indicator (a
/// contact planted by an operator); MVT checks none.
fn observe(r: &mut Record, v: &str) {
    let v = v.trim();
    let lower = v.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        r.observe(Observable::new(ObservableKind::Url, v, "value"));
    } else if let Some((user, host)) = v.split_once('@')
        && !user.is_empty()
        && host.contains('.')
        && !v.contains(char::is_whitespace)
    {
        r.observe(Observable::new(ObservableKind::Email, v, "value"));
    }
}
