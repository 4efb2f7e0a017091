//! Modules of branch ios-a: parity with MVT on its iOS backup fixture (numbers and strings
//! from reference/mvt-features.md §5.2 and §7, which live here and never in the modules),
//! hostile inputs, and recall on a generated backup with planted indicators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_evidence::{EvidenceLog, Limits};
use bridle_ios::modules::{
    applications, calendar, calls, configuration_profiles, contacts, global_preferences,
    interaction_c, profile_events, shortcuts, sms_attachments, whatsapp, whatsapp_contacts,
};
use bridle_ios::{Ios, backup_file_id};
use bridle_model::{
    Level, Module, ModuleError, ModuleOutcome, ObservableKind, ProblemKind, Record, VecSink,
};
use common::*;
use serde_json::json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Timeline events after MVT's de-duplication of identical (timestamp, event, data) rows.
fn distinct_timeline(sink: &VecSink) -> BTreeSet<(String, String, String)> {
    sink.timeline()
        .map(|e| {
            (
                e.timestamp.map(|t| t.to_mvt()).unwrap_or_default(),
                e.event.to_string(),
                e.data.clone(),
            )
        })
        .collect()
}

fn has_event(sink: &VecSink, ts: &str, event: &str, data: &str) -> bool {
    distinct_timeline(sink).contains(&(ts.to_owned(), event.to_owned(), data.to_owned()))
}

fn by_type<'a>(sink: &'a VecSink, t: &str) -> Vec<&'a Record> {
    sink.records
        .iter()
        .filter(|r| r.data.get("record_type").and_then(|v| v.as_str()) == Some(t))
        .collect()
}

// ---------------------------------------------------------------- whatsapp

#[test]
fn whatsapp_parity() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&whatsapp::Whatsapp::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert!(sink.problems.is_empty(), "{:?}", sink.problems);
    // §7: whatsapp.json has 6 records.
    assert_eq!(sink.records.len(), 6);
    let messages: Vec<_> = sink
        .records
        .iter()
        .filter(|r| r.data.contains_key("ZTEXT"))
        .collect();
    assert_eq!(messages.len(), 3);
    let sessions = by_type(&sink, "chat_session");
    assert_eq!(sessions.len(), 2);
    let pairs = by_type(&sink, "lid_phone_number_pair");
    assert_eq!(pairs.len(), 1);
    assert_eq!(pairs[0].data["lid"], "100000000000001");
    assert_eq!(pairs[0].data["phone_number"], "14155550100");
    assert_eq!(
        pairs[0].data["pair_timestamp"],
        "2025-08-25 07:33:20.000000"
    );
    // LID.sqlite is not in Manifest.db: it was found by its fileID.
    assert_eq!(
        pairs[0].source.file.as_ref().unwrap().stored_path,
        "e7/e794f6ffcc3c222535f47684a63d5178da3c4500"
    );

    let linked: Vec<_> = messages
        .iter()
        .filter(|r| r.data.get("links").is_some_and(|l| l != &json!([])))
        .collect();
    assert_eq!(linked.len(), 1);
    assert_eq!(linked[0].data["links"], json!(["https://example.org/news"]));
    assert_eq!(linked[0].observables.len(), 1);
    assert_eq!(linked[0].observables[0].kind, ObservableKind::Url);
    assert_eq!(linked[0].observables[0].value, "https://example.org/news");
    assert_eq!(linked[0].source.row.as_deref(), Some("2"));

    let alice = sessions
        .iter()
        .find(|s| s.data["partner_name"] == "Alice Example")
        .unwrap();
    assert_eq!(alice.data["contact_jid"], "100000000000001@lid");
    assert_eq!(alice.data["partner_resolved_phone_number"], "+14155550100");
    assert_eq!(
        alice.data["first_stored_message_date"],
        "2025-08-27 15:06:40.000000"
    );
    assert_eq!(
        alice.data["last_message_date"],
        "2025-08-28 18:53:20.000000"
    );
    assert_eq!(alice.data["group_creation_date"], json!(null));
    assert_eq!(alice.data["stored_message_count"], 2);
    let group = sessions
        .iter()
        .find(|s| s.data["partner_name"] == "Example Group")
        .unwrap();
    assert_eq!(
        group.data["group_creation_date"],
        "2025-08-21 20:13:20.000000"
    );
    assert_eq!(
        group.data["first_stored_message_date"],
        "2025-08-29 22:40:00.000000"
    );
    assert_eq!(
        group.data["last_stored_message_date"],
        "2025-08-29 22:40:00.000000"
    );
    assert_eq!(
        group.data["last_message_date"],
        "2025-08-31 02:26:40.000000"
    );

    assert_eq!(sink.timeline().count(), 9);
    assert_eq!(distinct_timeline(&sink).len(), 9);
    assert!(has_event(
        &sink,
        "2025-08-27 15:06:40.000000",
        "chat_first_message",
        "First stored message in WhatsApp chat with 'Alice Example' (+14155550100)"
    ));
    assert!(has_event(
        &sink,
        "2025-08-28 18:53:20.000000",
        "chat_last_message",
        "Last message in WhatsApp chat with 'Alice Example' (+14155550100)"
    ));
    assert!(has_event(
        &sink,
        "2025-08-25 07:33:20.000000",
        "lid_pair_recorded",
        "WhatsApp associated LID 100000000000001 with phone number 14155550100"
    ));
    assert!(has_event(
        &sink,
        "2025-08-21 20:13:20.000000",
        "group_created",
        "WhatsApp group chat 'Example Group' (120000000000000001@g.us) was created"
    ));
    let events = distinct_timeline(&sink);
    assert!(
        events
            .iter()
            .any(|(t, e, _)| { t == "2025-08-29 22:40:00.000000" && e == "chat_first_message" })
    );
    assert!(
        events
            .iter()
            .any(|(t, e, _)| { t == "2025-08-31 02:26:40.000000" && e == "chat_last_message" })
    );
    assert!(events.iter().any(|(_, e, d)| {
        e == "message" && d == "'Check https://example.org/news' from None - Embedded links: https://example.org/news"
    }));
    assert!(sink.heuristics().next().is_none());
}

// ---------------------------------------------------------------- whatsapp_contacts

#[test]
fn whatsapp_contacts_parity() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&whatsapp_contacts::WhatsappContacts::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 2);
    let alice = sink
        .records
        .iter()
        .find(|r| r.data["given_name"] == "Alice")
        .unwrap();
    let a = &alice.data;
    assert_eq!(a["full_name"], "Alice Example");
    assert_eq!(a["phone_number"], "+14155550100");
    assert_eq!(a["whatsapp_id"], "14155550100@s.whatsapp.net");
    assert_eq!(a["lid"], "100000000000001@lid");
    assert_eq!(a["user_name"], "alice.example");
    assert_eq!(a["disappearing_mode_duration"], json!(86400.0));
    assert_eq!(a["disappearing_mode_is_on"], json!(true));
    assert_eq!(a["disappearing_mode_label"], "24 hours");
    assert_eq!(
        a["disappearing_mode_timestamp"],
        "2025-07-23 21:46:40.000000"
    );
    assert_eq!(a["about_timestamp"], "2025-07-12 08:00:00.000000");
    assert_eq!(
        a["about_expiration_timestamp"],
        "2025-08-16 01:20:00.000000"
    );
    assert_eq!(a["last_updated"], "2025-08-04 11:33:20.000000");
    // MVT's key order: row_pk, then the columns found, then derived fields.
    let keys: Vec<_> = a.keys().map(String::as_str).collect();
    assert_eq!(keys.first(), Some(&"row_pk"));
    assert_eq!(
        &keys[keys.len() - 4..],
        [
            "phone_status",
            "sync_policy",
            "disappearing_mode_is_on",
            "disappearing_mode_label"
        ]
    );
    let bob = sink
        .records
        .iter()
        .find(|r| r.data["given_name"] == "Bob")
        .unwrap();
    assert_eq!(bob.data["lid"], json!(null));
    assert_eq!(bob.data["disappearing_mode_duration"], json!(null));
    assert_eq!(bob.data["disappearing_mode_is_on"], json!(false));
    assert_eq!(bob.data["disappearing_mode_label"], "off");
    assert_eq!(bob.data["disappearing_mode_timestamp"], json!(null));

    assert_eq!(distinct_timeline(&sink).len(), 5);
    assert_eq!(sink.timeline().count(), 5);
    assert!(has_event(
        &sink,
        "2025-07-23 21:46:40.000000",
        "disappearing_mode_set",
        "WhatsApp disappearing messages timer set to '24 hours' for 14155550100@s.whatsapp.net (Alice Example)"
    ));
    assert!(has_event(
        &sink,
        "2025-07-12 08:00:00.000000",
        "about_changed",
        "WhatsApp about text of 14155550100@s.whatsapp.net (Alice Example) changed to \"Hey there! I am using WhatsApp.\""
    ));
    assert!(has_event(
        &sink,
        "2025-08-16 01:20:00.000000",
        "about_expiration",
        "WhatsApp about text of 14155550100@s.whatsapp.net (Alice Example) scheduled to expire"
    ));
    let updated: Vec<_> = sink
        .timeline()
        .filter(|e| e.event == "contact_last_updated")
        .collect();
    assert_eq!(updated.len(), 2);
    assert!(
        updated
            .iter()
            .all(|e| e.timestamp.unwrap().to_mvt() == "2025-08-04 11:33:20.000000")
    );
    assert!(
        updated
            .iter()
            .any(|e| e.data.contains("14155550101@s.whatsapp.net (Bob Example)"))
    );
    assert!(sink.heuristics().next().is_none());
}

// ---------------------------------------------------------------- interaction_c

fn interaction_c_common(sink: &VecSink) {
    assert_eq!(sink.records.len(), 3);
    let sms = sink
        .records
        .iter()
        .find(|r| r.data["bundle_id"] == "com.apple.MobileSMS")
        .unwrap();
    assert!(sms.data.get("sender_resolved_name").is_none());
    assert_eq!(sms.data["sender_display_name"], "Bob Example");
    assert!(has_event(
        sink,
        "2025-12-09 12:26:40.000000",
        "interactions_creation_date",
        "Interaction record created 90 days after the event: [com.apple.MobileSMS] INCOMING from Bob Example (+14155550101) to local user"
    ));
    let creation: Vec<_> = sink
        .timeline()
        .filter(|e| e.event == "interactions_creation_date")
        .collect();
    assert_eq!(creation.len(), 1);
    let first: Vec<_> = sink
        .timeline()
        .filter(|e| e.event == "first_incoming_sender_date")
        .collect();
    assert_eq!(first.len(), 1);
    assert_eq!(
        first[0].timestamp.unwrap().to_mvt(),
        "2025-09-03 13:46:40.000000"
    );
    assert_eq!(
        first[0].data,
        "First incoming interaction from Bob Example (+14155550101)"
    );
    assert!(
        sink.timeline()
            .any(|e| e.data == "Last incoming interaction from Bob Example (+14155550101)")
    );
    // §7: 6 InteractionC timeline rows.
    assert_eq!(distinct_timeline(sink).len(), 6);
    assert!(sink.heuristics().next().is_none());
}

#[test]
fn interaction_c_resolves_whatsapp_identifiers() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&interaction_c::InteractionC::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert!(sink.problems.is_empty(), "{:?}", sink.problems);
    interaction_c_common(&sink);
    let incoming = sink
        .records
        .iter()
        .find(|r| r.data["sender_identifier"] == "100000000000001@lid")
        .unwrap();
    assert_eq!(incoming.data["direction"], "INCOMING");
    assert_eq!(
        incoming.data["sender_resolved_phone_number"],
        "+14155550100"
    );
    assert_eq!(incoming.data["sender_resolved_name"], "Alice Example");
    let outgoing = sink
        .records
        .iter()
        .find(|r| r.data["direction"] == "OUTGOING")
        .unwrap();
    assert_eq!(outgoing.data["recipient_identifier"], "+14155550100");
    assert_eq!(outgoing.data["recipient_resolved_name"], "Alice Example");
    assert_eq!(
        outgoing.data["domain_resolved_phone_number"],
        "+14155550100"
    );
    assert_eq!(outgoing.data["domain_resolved_name"], "Alice Example");
    let data: BTreeSet<_> = sink.timeline().map(|e| e.data.as_str()).collect();
    for s in [
        "[net.whatsapp.WhatsApp] INCOMING from Alice Example (+14155550100) to local user",
        "[net.whatsapp.WhatsApp] OUTGOING from local user to Alice Example (+14155550100)",
        "[com.apple.MobileSMS] INCOMING from Bob Example (+14155550101) to local user",
    ] {
        assert!(data.contains(s), "{s}");
    }
    // The apps are offered to the matcher.
    assert!(
        incoming
            .observables
            .iter()
            .any(|o| o.kind == ObservableKind::AppId && o.value == "net.whatsapp.WhatsApp")
    );
}

#[test]
fn interaction_c_without_whatsapp_contacts() {
    let tmp = tempfile::tempdir().unwrap();
    copy_tree(&mvt_backup(), tmp.path());
    std::fs::remove_dir_all(tmp.path().join("b8")).unwrap();
    let ios = open(tmp.path());
    let (_, sink) = run(&interaction_c::InteractionC::new(ios));
    interaction_c_common(&sink);
    let data: BTreeSet<_> = sink.timeline().map(|e| e.data.as_str()).collect();
    for s in [
        "[net.whatsapp.WhatsApp] INCOMING from 100000000000001@lid to local user",
        "[net.whatsapp.WhatsApp] OUTGOING from local user to +14155550100",
    ] {
        assert!(data.contains(s), "{s}");
    }
}

// ---------------------------------------------------------------- helpers

/// A backup built by the test: Info.plist, Manifest.db and blobs at `xx/<fileID>`.
struct Mini {
    dir: tempfile::TempDir,
}

impl Mini {
    fn new(info: plist::Dictionary) -> Mini {
        let dir = tempfile::tempdir().unwrap();
        let mut d = info;
        d.insert("Build Version".into(), "18C66".into());
        plist::Value::Dictionary(d)
            .to_file_xml(dir.path().join("Info.plist"))
            .unwrap();
        let m = rusqlite::Connection::open(dir.path().join("Manifest.db")).unwrap();
        m.execute_batch(
            "CREATE TABLE Files (fileID TEXT PRIMARY KEY, domain TEXT, relativePath TEXT, \
             flags INTEGER, file BLOB)",
        )
        .unwrap();
        Mini { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Where a file's blob goes; listed in Manifest.db when `listed`.
    fn blob(&self, domain: &str, rel: &str, listed: bool) -> PathBuf {
        let id = backup_file_id(domain, rel);
        let sub = self.path().join(&id[..2]);
        std::fs::create_dir_all(&sub).unwrap();
        if listed {
            let m = rusqlite::Connection::open(self.path().join("Manifest.db")).unwrap();
            m.execute(
                "INSERT INTO Files VALUES (?1, ?2, ?3, 1, NULL)",
                (&id, domain, rel),
            )
            .unwrap();
        }
        sub.join(id)
    }

    fn file(&self, domain: &str, rel: &str, bytes: &[u8]) -> PathBuf {
        let p = self.blob(domain, rel, true);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn db(&self, domain: &str, rel: &str, sql: &str) -> PathBuf {
        let p = self.blob(domain, rel, true);
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute_batch(&format!("BEGIN; {sql} COMMIT;")).unwrap();
        p
    }

    fn open(&self) -> Arc<Ios> {
        open(self.path())
    }
}

fn no_info() -> plist::Dictionary {
    plist::Dictionary::new()
}

fn xml(v: plist::Value) -> Vec<u8> {
    let mut out = Vec::new();
    v.to_writer_xml(&mut out).unwrap();
    out
}

fn binary(v: plist::Value) -> Vec<u8> {
    let mut out = Vec::new();
    v.to_writer_binary(&mut out).unwrap();
    out
}

fn dict(pairs: Vec<(&str, plist::Value)>) -> plist::Value {
    plist::Value::Dictionary(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn plist_date(rfc3339: &str) -> plist::Value {
    let t: std::time::SystemTime = std::time::UNIX_EPOCH
        + std::time::Duration::from_secs(
            bridle_model::Timestamp::parse(rfc3339)
                .unwrap()
                .unix_seconds()
                .try_into()
                .unwrap(),
        );
    plist::Value::Date(t.into())
}

/// Runs a module expecting it to fail, and returns the error.
fn run_err(module: &dyn Module) -> ModuleError {
    let mut sink = VecSink::default();
    match module.run(&mut sink) {
        Err(e) => e,
        Ok(o) => panic!(
            "expected an error, got {o:?} with {} records",
            sink.records.len()
        ),
    }
}

fn assert_unreadable(e: &ModuleError, file: &str) {
    match e {
        ModuleError::Unreadable { file: f, .. } => assert_eq!(f, file),
        other => panic!("expected Unreadable({file}), got {other}"),
    }
}

/// A problem names the file, and says what happened.
fn assert_problem(sink: &VecSink, ios: &Ios, file: &str) {
    let all: Vec<_> = sink
        .problems
        .iter()
        .chain(ios.evidence().problems().iter())
        .cloned()
        .collect();
    assert!(
        all.iter().any(|p| p.file.as_deref() == Some(file)),
        "no problem about {file}: {all:?}"
    );
}

const GARBAGE: &[u8] = b"SQLite format 3\0this is not a database at all, only bytes \x00\xff\xfe";

/// Fills a table with `n` rows of padding so it spans many pages, then truncates the file
/// to `keep` of its size: the first rows stay readable, the rest are lost.
fn truncate(path: &Path, keep: f64) {
    let len = std::fs::metadata(path).unwrap().len();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let new = (len as f64 * keep) as u64;
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.set_len(new).unwrap();
}

// ---------------------------------------------------------------- whatsapp: bad input

const WA: &str = "AppDomainGroup-group.net.whatsapp.WhatsApp.shared";

#[test]
fn whatsapp_garbage_database_is_unreadable_and_named() {
    let m = Mini::new(no_info());
    m.file(WA, "ChatStorage.sqlite", GARBAGE);
    let e = run_err(&whatsapp::Whatsapp::new(m.open()));
    assert_unreadable(&e, &format!("{WA}/ChatStorage.sqlite"));
}

#[test]
fn whatsapp_old_schema_without_joins_and_lid_in_chat_storage() {
    let m = Mini::new(no_info());
    m.db(
        WA,
        "ChatStorage.sqlite",
        "CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, ZFROMJID TEXT, ZTEXT TEXT, ZMESSAGEDATE REAL);
         INSERT INTO ZWAMESSAGE VALUES (1, '1@s.whatsapp.net', 'see https://a.example/x and https://mmg.whatsapp.net/m and https://a.example/x', 600000000.0);
         INSERT INTO ZWAMESSAGE VALUES (2, NULL, NULL, 0);
         CREATE TABLE ZWAPHONENUMBERLIDPAIR (Z_PK INTEGER PRIMARY KEY, ZLID TEXT, ZPHONENUMBER TEXT, ZTIMESTAMP REAL);
         INSERT INTO ZWAPHONENUMBERLIDPAIR VALUES (1, '42@lid', '+15550001', 0);",
    );
    // LID.sqlite exists but is garbage: reported, and ChatStorage's own pairs are used.
    m.file(WA, "LID.sqlite", GARBAGE);
    let ios = m.open();
    let (outcome, sink) = run(&whatsapp::Whatsapp::new(Arc::clone(&ios)));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_problem(&sink, &ios, &format!("{WA}/LID.sqlite"));
    assert_eq!(sink.records.len(), 3);
    let first = &sink.records[0];
    // First-seen order, media links dropped, duplicates removed.
    assert_eq!(first.data["links"], json!(["https://a.example/x"]));
    assert_eq!(first.data["ZMEDIAURL"], json!(null));
    assert_eq!(first.data["isodate"], "2020-01-06 10:40:00.000000");
    // An empty text gets an empty link list; no date is "".
    assert_eq!(sink.records[1].data["links"], json!([]));
    assert_eq!(sink.records[1].data["ZTEXT"], "");
    assert_eq!(sink.records[1].data["isodate"], "");
    let pair = &sink.records[2];
    assert_eq!(pair.data["record_type"], "lid_phone_number_pair");
    assert_eq!(pair.data["pair_timestamp"], json!(null));
    assert!(pair.timeline.is_empty());
    assert_eq!(
        pair.source.file.as_ref().unwrap().logical_path,
        format!("{WA}/ChatStorage.sqlite")
    );
}

#[test]
fn whatsapp_truncated_database_keeps_the_rows_it_can_read() {
    let m = Mini::new(no_info());
    let mut sql = String::from(
        "CREATE TABLE ZWAMESSAGE (Z_PK INTEGER PRIMARY KEY, ZFROMJID TEXT, ZTEXT TEXT, ZMESSAGEDATE REAL);",
    );
    for i in 1..=3000 {
        sql.push_str(&format!(
            "INSERT INTO ZWAMESSAGE VALUES ({i}, 'x@s.whatsapp.net', 'https://t{i}.example/ {}', 600000000.0);",
            "p".repeat(200)
        ));
    }
    let p = m.db(WA, "ChatStorage.sqlite", &sql);
    truncate(&p, 0.5);
    let ios = m.open();
    let (_, sink) = run(&whatsapp::Whatsapp::new(Arc::clone(&ios)));
    assert!(!sink.records.is_empty() && sink.records.len() < 3000);
    assert_problem(&sink, &ios, &format!("{WA}/ChatStorage.sqlite"));
    assert_eq!(sink.records[0].observables[0].value, "https://t1.example/");
}

// ---------------------------------------------------------------- whatsapp_contacts: bad input

#[test]
fn whatsapp_contacts_older_columns() {
    let m = Mini::new(no_info());
    m.db(
        WA,
        "ContactsV2.sqlite",
        "CREATE TABLE ZWAADDRESSBOOKCONTACT (Z_PK INTEGER PRIMARY KEY, ZFULLNAME BLOB, ZWHATSAPPID TEXT, ZPHONENUMBERSTATUS INTEGER, ZLASTUPDATED REAL);
         INSERT INTO ZWAADDRESSBOOKCONTACT VALUES (7, X'43c3a96cff', '1@s.whatsapp.net', 3, 600000000.0);",
    );
    let (_, sink) = run(&whatsapp_contacts::WhatsappContacts::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    let d = &sink.records[0].data;
    // Invalid UTF-8 replaced as MVT decodes it; the older status column is used.
    assert_eq!(
        d["full_name"],
        "Cé\u{fffd}l".replace("\u{fffd}l", "l\u{fffd}")
    );
    assert_eq!(d["phone_status"], 3);
    // No duration column: the timer state is unknown, not "off".
    assert_eq!(d["disappearing_mode_duration"], json!(null));
    assert_eq!(d["disappearing_mode_is_on"], json!(null));
    assert_eq!(d["disappearing_mode_label"], json!(null));
    assert_eq!(d["lid"], json!(null));
    assert_eq!(d["sync_policy"], json!(null));
    assert_eq!(sink.records[0].source.row.as_deref(), Some("7"));
    assert_eq!(sink.timeline().count(), 1);
}

#[test]
fn whatsapp_contacts_garbage_and_missing_table() {
    let m = Mini::new(no_info());
    m.file(WA, "ContactsV2.sqlite", GARBAGE);
    let e = run_err(&whatsapp_contacts::WhatsappContacts::new(m.open()));
    assert_unreadable(&e, &format!("{WA}/ContactsV2.sqlite"));

    let m = Mini::new(no_info());
    m.db(WA, "ContactsV2.sqlite", "CREATE TABLE other (x);");
    let (outcome, sink) = run(&whatsapp_contacts::WhatsappContacts::new(m.open()));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
    assert!(sink.records.is_empty());
}

// ---------------------------------------------------------------- interaction_c: schemas

const ICDB: &str = "Library/CoreDuet/People/interactionC.db";

fn keys(r: &Record) -> Vec<&str> {
    r.data.keys().map(String::as_str).collect()
}

#[test]
fn interaction_c_picks_the_variant_the_schema_has() {
    // iOS 13-like: no attachment or recipient tables, ZMECHANISM present (MVT's 3rd query).
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        ICDB,
        "CREATE TABLE ZINTERACTIONS (Z_PK INTEGER PRIMARY KEY, ZSENDER INTEGER, ZSTARTDATE REAL, ZENDDATE REAL, ZCREATIONDATE REAL, ZBUNDLEID TEXT, ZACCOUNT TEXT, ZDIRECTION INTEGER, ZISRESPONSE INTEGER, ZMECHANISM INTEGER, ZRECIPIENTCOUNT INTEGER, ZDOMAINIDENTIFIER TEXT, ZCONTENTURL TEXT, ZLOCATIONUUID TEXT);
         CREATE TABLE ZCONTACTS (Z_PK INTEGER PRIMARY KEY, ZDISPLAYNAME TEXT, ZIDENTIFIER TEXT, ZPERSONID TEXT, ZCUSTOMIDENTIFIER TEXT, ZINCOMINGRECIPIENTCOUNT INTEGER, ZINCOMINGSENDERCOUNT INTEGER, ZOUTGOINGRECIPIENTCOUNT INTEGER, ZCREATIONDATE REAL, ZFIRSTINCOMINGRECIPIENTDATE REAL, ZFIRSTINCOMINGSENDERDATE REAL, ZFIRSTOUTGOINGRECIPIENTDATE REAL, ZLASTINCOMINGSENDERDATE REAL, ZLASTINCOMINGRECIPIENTDATE REAL, ZLASTOUTGOINGRECIPIENTDATE REAL);
         INSERT INTO ZCONTACTS (Z_PK, ZDISPLAYNAME, ZIDENTIFIER, ZLASTINCOMINGRECIPIENTDATE) VALUES (1, 'Eve', 'mailto:eve@example.org', 0);
         INSERT INTO ZINTERACTIONS (Z_PK, ZSENDER, ZSTARTDATE, ZENDDATE, ZCREATIONDATE, ZBUNDLEID, ZDIRECTION, ZMECHANISM, ZCONTENTURL) VALUES (1, 1, 600000000.0, 600003600.0, NULL, 'com.apple.mobilemail', 0, 4, 'https://docs.example/a');",
    );
    let (_, sink) = run(&interaction_c::InteractionC::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(
        keys(r),
        [
            "start_date",
            "end_date",
            "bundle_id",
            "sender_display_name",
            "sender_identifier",
            "sender_personid",
            "direction",
            "is_response",
            "mechanism",
            "recipient_count",
            "interactions_creation_date",
            "contacts_creation_date",
            "first_incoming_recipient_date",
            "first_incoming_sender_date",
            "first_outgoing_recipient_date",
            "last_incoming_sender_date",
            "last_incoming_recipient_date",
            "last_outgoing_recipient_date",
            "account",
            "domain_identifier",
            "incoming_recipient_count",
            "incoming_sender_count",
            "outgoing_recipient_count",
            "custom_id",
            "interaction_content_url",
            "location_uuid",
            "table_id",
        ]
    );
    // The raw direction of the older queries is labelled; a 0 date is no date.
    assert_eq!(r.data["direction"], "INCOMING");
    assert_eq!(r.data["last_incoming_recipient_date"], "");
    let events: Vec<_> = r.timeline.iter().map(|e| e.event.as_ref()).collect();
    assert_eq!(events, ["start_date", "end_date"]);
    assert_eq!(
        r.timeline[0].data,
        "[com.apple.mobilemail] INCOMING from Eve (mailto:eve@example.org) to local user"
    );
    let kinds: BTreeSet<_> = r
        .observables
        .iter()
        .map(|o| (o.kind, o.value.as_str()))
        .collect();
    assert!(kinds.contains(&(ObservableKind::Email, "eve@example.org")));
    assert!(kinds.contains(&(ObservableKind::Url, "https://docs.example/a")));
    assert!(kinds.contains(&(ObservableKind::AppId, "com.apple.mobilemail")));
}

#[test]
fn interaction_c_reads_what_an_unknown_schema_has() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        ICDB,
        "CREATE TABLE ZINTERACTIONS (Z_PK INTEGER PRIMARY KEY, ZSTARTDATE REAL, ZBUNDLEID TEXT);
         INSERT INTO ZINTERACTIONS VALUES (5, 650000000.0, 'net.whatsapp.WhatsApp');",
    );
    let (_, sink) = run(&interaction_c::InteractionC::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(
        keys(r),
        [
            "start_date",
            "bundle_id",
            "table_id",
            "sender_resolved_phone_number",
            "sender_resolved_name",
            "recipient_resolved_phone_number",
            "recipient_resolved_name",
            "domain_resolved_phone_number",
            "domain_resolved_name",
        ]
    );
    assert_eq!(r.data["start_date"], "2021-08-07 03:33:20.000000");
    assert_eq!(
        r.timeline[0].data,
        "[net.whatsapp.WhatsApp] from unknown to unknown"
    );
}

#[test]
fn interaction_c_garbage_and_truncated() {
    let m = Mini::new(no_info());
    m.file("HomeDomain", ICDB, GARBAGE);
    let e = run_err(&interaction_c::InteractionC::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{ICDB}"));

    let m = Mini::new(no_info());
    let mut sql = String::from(
        "CREATE TABLE ZINTERACTIONS (Z_PK INTEGER PRIMARY KEY, ZSTARTDATE REAL, ZBUNDLEID TEXT, ZGROUPNAME TEXT);",
    );
    for i in 1..=3000 {
        sql.push_str(&format!(
            "INSERT INTO ZINTERACTIONS VALUES ({i}, 600000000.0, 'com.example', '{}');",
            "g".repeat(200)
        ));
    }
    let p = m.db("HomeDomain", ICDB, &sql);
    truncate(&p, 0.4);
    let ios = m.open();
    let (_, sink) = run(&interaction_c::InteractionC::new(Arc::clone(&ios)));
    assert!(!sink.records.is_empty() && sink.records.len() < 3000);
    assert_problem(&sink, &ios, &format!("HomeDomain/{ICDB}"));
}

// ---------------------------------------------------------------- calendar

const CAL: &str = "Library/Calendar/Calendar.sqlitedb";

#[test]
fn calendar_parity() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&calendar::Calendar::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    assert_eq!(distinct_timeline(&sink).len(), 4);
    assert!(sink.heuristics().next().is_none());
    let r = &sink.records[0];
    assert_eq!(r.data["summary"], "Super interesting meeting");
    assert_eq!(r.data.len(), 23);
    // MVT's detection test adds the organiser's address as an indicator: it is observed.
    assert_eq!(r.data["participant_email"], "user@example.org");
    assert_eq!(r.observables.len(), 1);
    assert_eq!(r.observables[0].kind, ObservableKind::Email);
    assert_eq!(r.observables[0].value, "user@example.org");
    assert!(r.timeline.iter().all(|e| e.data
        == "Calendar event Super interesting meeting (very very interesting things) (invitation by user@example.org)"));
}

#[test]
fn calendar_quadream_event_and_organiser_email() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        CAL,
        "CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, summary TEXT, description TEXT, start_date REAL, end_date REAL, organizer_id INTEGER, UUID TEXT, creation_date REAL);
         CREATE TABLE Participant (ROWID INTEGER PRIMARY KEY AUTOINCREMENT, UUID TEXT, email TEXT, last_modified REAL);
         INSERT INTO Participant VALUES (1, 'P-1', 'organiser@example.org', 600000000.0);
         INSERT INTO CalendarItem VALUES (1, 'Meeting', 'Notes', 600000000.0, 600003600.0, 1, 'U-1', 0);
         INSERT INTO CalendarItem VALUES (2, 'Lunch', NULL, 650000000.0, NULL, NULL, 'U-2', NULL);",
    );
    let (_, sink) = run(&calendar::Calendar::new(m.open()));
    assert_eq!(sink.records.len(), 2);
    let q = &sink.records[0];
    assert_eq!(q.heuristics.len(), 1);
    assert_eq!(q.heuristics[0].level, Level::High);
    assert_eq!(
        q.heuristics[0].message,
        "Potential Quadream exploit event identified: U-1"
    );
    // Missing columns are null; the organiser's address is offered to the matcher.
    assert_eq!(q.data["url"], json!(null));
    assert_eq!(q.data["participant_email"], "organiser@example.org");
    assert_eq!(q.observables.len(), 1);
    assert_eq!(q.observables[0].kind, ObservableKind::Email);
    assert_eq!(q.observables[0].value, "organiser@example.org");
    assert_eq!(q.observables[0].level, Level::Critical);
    // start, end, participant_last_modified (creation_date 0 is no date).
    assert_eq!(q.timeline.len(), 3);
    assert_eq!(
        q.timeline[0].data,
        "Calendar event Meeting (Notes) (invitation by organiser@example.org)"
    );
    assert!(sink.records[1].heuristics.is_empty());
    assert_eq!(sink.records[1].timeline.len(), 1);
}

#[test]
fn calendar_without_participants_and_garbage() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        CAL,
        "CREATE TABLE CalendarItem (ROWID INTEGER PRIMARY KEY, summary TEXT, organizer_id INTEGER);
         INSERT INTO CalendarItem VALUES (1, 'x', 4);",
    );
    let (_, sink) = run(&calendar::Calendar::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.records[0].data["participant_email"], json!(null));
    assert_eq!(sink.records[0].data["id"], 1);

    let m = Mini::new(no_info());
    m.file("HomeDomain", CAL, GARBAGE);
    let e = run_err(&calendar::Calendar::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{CAL}"));
}

// ---------------------------------------------------------------- global_preferences

#[test]
fn global_preferences_parity() {
    let ios = open(&mvt_backup());
    let (_, sink) = run(&global_preferences::GlobalPreferences::new(ios));
    assert_eq!(sink.records.len(), 16);
    assert_eq!(sink.timeline().count(), 0);
    let h: Vec<_> = sink.heuristics().collect();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].level, Level::Informational);
    assert_eq!(h[0].message, "Lockdown mode enabled");
    assert_eq!(
        serde_json::Value::Object(sink.records[0].data.clone()),
        json!({"entry": "WebKitShowLinkPreviews", "value": false})
    );
}

#[test]
fn global_preferences_lockdown_disabled_and_bad_plists() {
    const GP: &str = "Library/Preferences/.GlobalPreferences.plist";
    let m = Mini::new(no_info());
    m.file(
        "HomeDomain",
        GP,
        &binary(dict(vec![
            ("LDMGlobalEnabled", plist::Value::Boolean(false)),
            ("Blob", plist::Value::Data(vec![0xa8, 0xa9])),
        ])),
    );
    let (_, sink) = run(&global_preferences::GlobalPreferences::new(m.open()));
    let h: Vec<_> = sink.heuristics().collect();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].level, Level::Low);
    assert_eq!(h[0].message, "Lockdown mode disabled");
    // Bytes as MVT's JSON encoder writes them.
    assert_eq!(sink.records[1].data["value"], "\\xa8\\xa9");

    for bad in [GARBAGE.to_vec(), xml(plist::Value::Array(vec![]))] {
        let m = Mini::new(no_info());
        m.file("HomeDomain", GP, &bad);
        let e = run_err(&global_preferences::GlobalPreferences::new(m.open()));
        assert_unreadable(&e, &format!("HomeDomain/{GP}"));
    }
}

// ---------------------------------------------------------------- sms_attachments

const SMS: &str = "Library/SMS/sms.db";

#[test]
fn sms_attachments_fixture_has_no_attachment_table() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&sms_attachments::SmsAttachments::new(ios));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
    assert!(sink.records.is_empty());
}

#[test]
fn sms_attachments_suspicious_tmp_attachment() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        SMS,
        "CREATE TABLE handle (ROWID INTEGER PRIMARY KEY, id TEXT);
         CREATE TABLE message (ROWID INTEGER PRIMARY KEY, handle_id INTEGER, service TEXT);
         CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY, guid TEXT, created_date INTEGER, start_date INTEGER, filename TEXT, is_outgoing INTEGER, user_info BLOB, transfer_name TEXT, total_bytes INTEGER, is_sticker INTEGER);
         CREATE TABLE message_attachment_join (message_id INTEGER, attachment_id INTEGER);
         INSERT INTO handle VALUES (1, '+15550001');
         INSERT INTO message VALUES (1, 1, 'iMessage');
         INSERT INTO attachment VALUES (1, 'A', 600000000, 0, '/var/tmp/com.apple.messages/x.gif-1', 0, NULL, 'x.gif', 1234, 0);
         INSERT INTO attachment VALUES (2, 'B', 600000000, 0, '/var/tmp/com.apple.messages/y.gif-1', 1, X'0102', 'y.gif', 5, 0);
         INSERT INTO attachment VALUES (3, 'C', 0, 0, NULL, 0, NULL, NULL, 0, 1);
         INSERT INTO message_attachment_join VALUES (1, 1);",
    );
    let (_, sink) = run(&sms_attachments::SmsAttachments::new(m.open()));
    assert_eq!(sink.records.len(), 3);
    let a = &sink.records[0];
    assert_eq!(a.heuristics.len(), 1);
    assert_eq!(a.heuristics[0].level, Level::Medium);
    assert_eq!(
        a.heuristics[0].message,
        "Suspicious iMessage attachment /var/tmp/com.apple.messages/x.gif-1 on 2020-01-06 10:40:00.000000"
    );
    assert_eq!(
        a.timeline[0].data,
        "iMessage: Attachment 'x.gif' received from +15550001 with 1234 bytes (is_sticker: 0, has_user_info: False)"
    );
    assert_eq!(a.observables.len(), 1);
    assert_eq!(a.observables[0].kind, ObservableKind::FilePath);
    assert_eq!(a.observables[0].level, Level::High);
    assert_eq!(a.data["attachment_id"], 1);
    assert_eq!(a.data["start_date"], "");
    // Sent: no alert; binary user info in base64.
    let b = &sink.records[1];
    assert!(b.heuristics.is_empty());
    assert_eq!(b.data["user_info"], "AQI=");
    assert_eq!(b.data["has_user_info"], json!(true));
    assert_eq!(b.data["service"], "Unknown");
    assert_eq!(b.data["direction"], "sent");
    let c = &sink.records[2];
    assert_eq!(c.data["filename"], "NULL");
    assert!(c.observables.is_empty());
    assert_eq!(c.data["isodate"], "");
}

#[test]
fn sms_attachments_without_join_tables_and_garbage() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        SMS,
        "CREATE TABLE attachment (ROWID INTEGER PRIMARY KEY, filename TEXT, is_outgoing INTEGER);
         INSERT INTO attachment VALUES (9, '~/Library/SMS/Attachments/a.jpg', 0);",
    );
    let (_, sink) = run(&sms_attachments::SmsAttachments::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    assert_eq!(sink.records[0].data["service"], "Unknown");
    assert_eq!(sink.records[0].data["phone_number"], json!(null));
    assert_eq!(sink.records[0].source.row.as_deref(), Some("9"));

    let m = Mini::new(no_info());
    m.file("HomeDomain", SMS, GARBAGE);
    let e = run_err(&sms_attachments::SmsAttachments::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{SMS}"));
}

// ---------------------------------------------------------------- calls

const CALLS: &str = "Library/CallHistoryDB/CallHistory.storedata";

#[test]
fn calls_records_and_missing_columns() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        CALLS,
        "CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS BLOB, ZSERVICE_PROVIDER VARCHAR);
         INSERT INTO ZCALLRECORD VALUES (1, 600000000.0, 42.0, CAST('+15551234567' AS BLOB), 'com.apple.Telephony');
         INSERT INTO ZCALLRECORD VALUES (2, NULL, 0.0, X'2b31ff', NULL);",
    );
    let (_, sink) = run(&calls::Calls::new(m.open()));
    assert_eq!(sink.records.len(), 2);
    let a = &sink.records[0];
    assert_eq!(
        serde_json::Value::Object(a.data.clone()),
        json!({"isodate": "2020-01-06 10:40:00.000000", "duration": 42.0, "location": null,
               "number": "+15551234567", "provider": "com.apple.Telephony"})
    );
    assert_eq!(
        a.timeline[0].data,
        "From +15551234567 using com.apple.Telephony during 42.0 seconds"
    );
    assert_eq!(a.observables[0].kind, ObservableKind::AppId);
    let b = &sink.records[1];
    assert_eq!(b.data["number"], "+1\\xff");
    assert_eq!(b.data["isodate"], "");
    assert_eq!(
        b.timeline[0].data,
        "From +1\\xff using None during 0.0 seconds"
    );
}

#[test]
fn calls_truncated_and_garbage() {
    let m = Mini::new(no_info());
    let mut sql = String::from(
        "CREATE TABLE ZCALLRECORD (Z_PK INTEGER PRIMARY KEY, ZDATE TIMESTAMP, ZDURATION FLOAT, ZADDRESS BLOB, ZLOCATION TEXT, ZSERVICE_PROVIDER VARCHAR);",
    );
    for i in 1..=3000 {
        sql.push_str(&format!(
            "INSERT INTO ZCALLRECORD VALUES ({i}, 600000000.0, 1.0, X'2b31', '{}', 'p');",
            "l".repeat(200)
        ));
    }
    let p = m.db("HomeDomain", CALLS, &sql);
    truncate(&p, 0.5);
    let ios = m.open();
    let (_, sink) = run(&calls::Calls::new(Arc::clone(&ios)));
    assert!(!sink.records.is_empty() && sink.records.len() < 3000);
    assert_problem(&sink, &ios, &format!("HomeDomain/{CALLS}"));

    let m = Mini::new(no_info());
    m.file("HomeDomain", CALLS, GARBAGE);
    let e = run_err(&calls::Calls::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{CALLS}"));
}

// ---------------------------------------------------------------- contacts

const AB: &str = "Library/AddressBook/AddressBook.sqlitedb";

#[test]
fn contacts_values_and_observables() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        AB,
        "CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY, First TEXT, Last TEXT, Organization TEXT);
         CREATE TABLE ABMultiValue (UID INTEGER PRIMARY KEY, record_id INTEGER, property INTEGER, value TEXT);
         INSERT INTO ABPerson VALUES (1, 'Ann', 'Lee', 'ACME');
         INSERT INTO ABMultiValue VALUES (10, 1, 3, '+15550001');
         INSERT INTO ABMultiValue VALUES (11, 1, 4, 'ann@example.org');
         INSERT INTO ABMultiValue VALUES (12, 1, 22, 'https://ann.example/');
         INSERT INTO ABMultiValue VALUES (13, 1, 4, NULL);",
    );
    let (_, sink) = run(&contacts::Contacts::new(m.open()));
    assert_eq!(sink.records.len(), 3);
    // No `middle` column in this schema: null.
    assert_eq!(
        serde_json::Value::Object(sink.records[0].data.clone()),
        json!({"value": "+15550001", "first": "Ann", "middle": null, "last": "Lee", "organization": "ACME"})
    );
    assert!(sink.records[0].observables.is_empty());
    assert_eq!(sink.records[1].observables[0].kind, ObservableKind::Email);
    assert_eq!(sink.records[2].observables[0].kind, ObservableKind::Url);
    assert_eq!(sink.records[1].source.row.as_deref(), Some("11"));
}

#[test]
fn contacts_missing_tables_and_garbage() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        AB,
        "CREATE TABLE ABPerson (ROWID INTEGER PRIMARY KEY);",
    );
    let (outcome, _) = run(&contacts::Contacts::new(m.open()));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
    let m = Mini::new(no_info());
    m.file("HomeDomain", AB, GARBAGE);
    let e = run_err(&contacts::Contacts::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{AB}"));
}

// ---------------------------------------------------------------- shortcuts

const SC: &str = "Library/Shortcuts/Shortcuts.sqlite";

#[test]
fn shortcuts_action_urls_and_bad_action_data() {
    let actions = binary(plist::Value::Array(vec![
        dict(vec![
            (
                "WFWorkflowActionIdentifier",
                "is.workflow.actions.openurl".into(),
            ),
            (
                "WFWorkflowActionParameters",
                dict(vec![(
                    "WFURLActionURL",
                    "https://evil.example/p?q=1".into(),
                )]),
            ),
        ]),
        dict(vec![
            (
                "WFWorkflowActionIdentifier",
                "is.workflow.actions.gettext".into(),
            ),
            (
                "WFWorkflowActionParameters",
                dict(vec![("WFTextActionText", "no link".into())]),
            ),
        ]),
    ]));
    let m = Mini::new(no_info());
    let p = m.db(
        "HomeDomain",
        SC,
        "CREATE TABLE ZSHORTCUT (Z_PK INTEGER PRIMARY KEY, ZNAME VARCHAR, ZCREATIONDATE TIMESTAMP, ZMODIFICATIONDATE TIMESTAMP, ZACTIONSDESCRIPTION VARCHAR);
         CREATE TABLE ZSHORTCUTACTIONS (Z_PK INTEGER PRIMARY KEY, ZSHORTCUT INTEGER, ZDATA BLOB);
         INSERT INTO ZSHORTCUT VALUES (1, 'Open', 600000000.0, 600003600.0, X'4f70656eff');
         INSERT INTO ZSHORTCUT VALUES (2, 'Broken', 600000000.0, NULL, NULL);
         INSERT INTO ZSHORTCUT VALUES (3, 'Empty', NULL, NULL, NULL);
         INSERT INTO ZSHORTCUTACTIONS VALUES (2, 2, X'00112233');",
    );
    {
        let c = rusqlite::Connection::open(&p).unwrap();
        c.execute("INSERT INTO ZSHORTCUTACTIONS VALUES (1, 1, ?1)", [actions])
            .unwrap();
    }
    let ios = m.open();
    let (_, sink) = run(&shortcuts::Shortcuts::new(Arc::clone(&ios)));
    assert_eq!(sink.records.len(), 3);
    let a = &sink.records[0];
    assert_eq!(a.data["action_urls"], json!(["https://evil.example/p?q=1"]));
    assert_eq!(a.data["parsed_actions"], 2);
    assert_eq!(a.data["shortcut_name"], "Open");
    assert_eq!(a.data["description"], "Open\\xff");
    assert_eq!(a.observables[0].value, "https://evil.example/p?q=1");
    assert_eq!(
        a.timeline[0].data,
        "iOS Shortcut 'Open': Open - URLs in actions: https://evil.example/p?q=1"
    );
    assert_eq!(a.timeline[1].event, "shortcut_modified");
    // Garbage action data: the shortcut is kept, without actions, and the damage reported.
    let b = &sink.records[1];
    assert_eq!(b.data["action_urls"], json!(null));
    assert_eq!(b.data["parsed_actions"], 0);
    assert_problem(&sink, &ios, &format!("HomeDomain/{SC}"));
    let c = &sink.records[2];
    assert_eq!(c.data["isodate"], "");
    assert_eq!(c.timeline[0].data, "iOS Shortcut 'Empty':  ");
}

#[test]
fn shortcuts_without_actions_table_and_garbage() {
    let m = Mini::new(no_info());
    m.db(
        "HomeDomain",
        SC,
        "CREATE TABLE ZSHORTCUT (Z_PK INTEGER PRIMARY KEY, ZNAME VARCHAR);
         INSERT INTO ZSHORTCUT VALUES (1, 'a');",
    );
    let (_, sink) = run(&shortcuts::Shortcuts::new(m.open()));
    assert_eq!(sink.records.len(), 1);
    assert!(sink.problems.is_empty());
    let m = Mini::new(no_info());
    m.file("HomeDomain", SC, GARBAGE);
    let e = run_err(&shortcuts::Shortcuts::new(m.open()));
    assert_unreadable(&e, &format!("HomeDomain/{SC}"));
}

// ---------------------------------------------------------------- applications

fn app(meta: Option<Vec<u8>>, icon: Option<&[u8]>) -> plist::Value {
    let mut d = plist::Dictionary::new();
    if let Some(m) = meta {
        d.insert("iTunesMetadata".into(), plist::Value::Data(m));
    }
    if let Some(i) = icon {
        d.insert("PlaceholderIcon".into(), plist::Value::Data(i.to_vec()));
    }
    plist::Value::Dictionary(d)
}

#[test]
fn applications_fixture_lists_none() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&applications::Applications::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert!(sink.records.is_empty());
}

#[test]
fn applications_heuristics_and_bad_metadata() {
    let store = binary(dict(vec![
        ("softwareVersionBundleId", "com.example.good".into()),
        ("sourceApp", "com.apple.AppStore".into()),
        ("artistName", "Example".into()),
        ("bundleShortVersionString", "1.2".into()),
        (
            "com.apple.iTunesStore.downloadInfo",
            dict(vec![("purchaseDate", "2021-03-04T05:06:07Z".into())]),
        ),
    ]));
    let sideloaded = binary(dict(vec![
        ("softwareVersionBundleId", "com.example.side".into()),
        ("sourceApp", "com.example.store".into()),
    ]));
    let nobundle = binary(dict(vec![("itemName", "Mystery".into())]));
    let mut apps = plist::Dictionary::new();
    apps.insert("com.example.good".into(), app(Some(store), Some(b"icon")));
    apps.insert("com.example.side".into(), app(Some(sideloaded), None));
    apps.insert("com.example.mystery".into(), app(Some(nobundle), None));
    apps.insert(
        "com.example.broken".into(),
        app(Some(b"bplist00garbage".to_vec()), None),
    );
    let mut info = plist::Dictionary::new();
    info.insert("Applications".into(), plist::Value::Dictionary(apps));
    let m = Mini::new(info);
    let (_, sink) = run(&applications::Applications::new(m.open()));
    assert_eq!(sink.records.len(), 4);

    let good = &sink.records[0];
    assert!(good.heuristics.is_empty());
    assert_eq!(good.data["name"], "com.example.good");
    // The purchase date says Z: it is UTC, whatever the analyst's time zone.
    assert_eq!(good.data["isodate"], "2021-03-04 05:06:07.000000");
    assert_eq!(
        good.data["icon_sha256"],
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(b"icon"))
    );
    assert_eq!(
        good.timeline[0].data,
        "App com.example.good version 1.2 from Example installed from com.apple.AppStore"
    );
    let kinds: BTreeSet<_> = good
        .observables
        .iter()
        .map(|o| (o.kind, o.value.as_str()))
        .collect();
    assert!(kinds.contains(&(ObservableKind::Process, "com.example.good")));
    assert!(kinds.contains(&(ObservableKind::AppId, "com.example.good")));

    let side = &sink.records[1];
    assert_eq!(side.heuristics.len(), 1);
    assert_eq!(side.heuristics[0].level, Level::Medium);
    assert_eq!(
        side.heuristics[0].message,
        "Suspicious app not installed from the App Store or MDM: com.example.side"
    );
    assert!(side.timeline.is_empty());

    let mystery = &sink.records[2];
    assert_eq!(
        mystery.heuristics[0].message,
        "Suspicious application identified without softwareVersionBundleId"
    );
    // The Info.plist key stands in for the missing bundle id.
    assert!(
        mystery
            .observables
            .iter()
            .any(|o| o.kind == ObservableKind::AppId && o.value == "com.example.mystery")
    );

    let broken = &sink.records[3];
    assert_eq!(broken.data.len(), 1);
    assert_eq!(broken.heuristics.len(), 1);
    assert!(
        sink.problems
            .iter()
            .any(|p| p.kind == ProblemKind::Partial && p.message.contains("com.example.broken"))
    );
}

// ---------------------------------------------------------------- configuration profiles

const CP: &str = "SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles";

#[test]
fn configuration_profiles_fixture_has_none() {
    let ios = open(&mvt_backup());
    let (outcome, sink) = run(&configuration_profiles::ConfigurationProfiles::new(ios));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
    assert!(sink.records.is_empty());
}

#[test]
fn configuration_profiles_payloads_heuristic_and_damage() {
    let profile = dict(vec![
        ("PayloadUUID", "11111111-2222-3333-4444-555555555555".into()),
        ("PayloadIdentifier", "com.evil.profile".into()),
        ("PayloadType", "Configuration".into()),
        ("PayloadDisplayName", "Updates".into()),
        ("InstallDate", plist_date("2021-03-04T05:06:07Z")),
        (
            "SignerCerts",
            plist::Value::Array(vec![plist::Value::Data(vec![1, 2, 3])]),
        ),
        ("Other", plist::Value::Data(vec![0xa8])),
        (
            "PayloadContent",
            plist::Value::Array(vec![
                dict(vec![
                    ("PayloadType", "com.apple.webClip.managed".into()),
                    ("URL", "https://evil.example/clip".into()),
                    ("PERSISTENT_REF", plist::Value::Data(vec![9, 9])),
                ]),
                dict(vec![(
                    "PayloadType",
                    "com.apple.notificationsettings".into(),
                )]),
            ]),
        ),
    ]);
    let m = Mini::new(no_info());
    m.file(
        CP,
        "Library/ConfigurationProfiles/profile-abc.stub",
        &binary(profile),
    );
    m.file(
        CP,
        "Library/ConfigurationProfiles/profile-bad.stub",
        GARBAGE,
    );
    m.file(
        CP,
        "Library/ConfigurationProfiles/ProfileTruth.plist",
        GARBAGE,
    );
    let ios = m.open();
    let (outcome, sink) = run(&configuration_profiles::ConfigurationProfiles::new(
        Arc::clone(&ios),
    ));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 2);
    let r = &sink.records[0];
    assert_eq!(r.data["install_date"], "2021-03-04 05:06:07.000000");
    assert_eq!(
        r.data["relative_path"],
        "Library/ConfigurationProfiles/profile-abc.stub"
    );
    assert_eq!(r.data["plist"]["SignerCerts"], json!(["AQID"]));
    assert_eq!(r.data["plist"]["Other"], "\\xa8");
    assert_eq!(
        r.data["plist"]["PayloadContent"][0]["PERSISTENT_REF"],
        "CQk="
    );
    assert_eq!(
        r.timeline[0].data,
        "Configuration installed: 11111111-2222-3333-4444-555555555555 - Updates: None"
    );
    assert_eq!(r.heuristics.len(), 1);
    assert_eq!(r.heuristics[0].level, Level::Medium);
    assert_eq!(
        r.heuristics[0].message,
        "Found a potentially suspicious configuration profile \"Updates\" with payload type com.apple.notificationsettings"
    );
    let obs: BTreeSet<_> = r
        .observables
        .iter()
        .map(|o| (o.kind, o.value.as_str()))
        .collect();
    assert!(obs.contains(&(
        ObservableKind::ProfileId,
        "11111111-2222-3333-4444-555555555555"
    )));
    assert!(obs.contains(&(ObservableKind::ProfileId, "com.evil.profile")));
    assert!(obs.contains(&(ObservableKind::Url, "https://evil.example/clip")));
    // The unreadable profile is still listed, empty, and the damage reported.
    let bad = &sink.records[1];
    assert_eq!(bad.data["plist"], json!({}));
    assert_eq!(bad.data["install_date"], "");
    assert_problem(
        &sink,
        &ios,
        &format!("{CP}/Library/ConfigurationProfiles/profile-bad.stub"),
    );
}

// ---------------------------------------------------------------- profile events

const PE: &str = "Library/ConfigurationProfiles/MCProfileEvents.plist";

#[test]
fn profile_events_low_alert_for_each() {
    let events = dict(vec![(
        "ProfileEvents",
        plist::Value::Array(vec![
            dict(vec![(
                "com.evil.profile",
                dict(vec![
                    ("timestamp", plist_date("2021-03-04T05:06:07Z")),
                    ("operation", "install".into()),
                    ("process", "/usr/libexec/mdmd".into()),
                    ("Extra", 1.into()),
                ]),
            )]),
            plist::Value::String("not an event".into()),
            dict(vec![(
                "other.profile",
                dict(vec![("operation", "remove".into())]),
            )]),
        ]),
    )]);
    let m = Mini::new(no_info());
    m.file(CP, PE, &binary(events));
    let ios = m.open();
    let (_, sink) = run(&profile_events::ProfileEvents::new(Arc::clone(&ios)));
    assert_eq!(sink.records.len(), 2);
    let r = &sink.records[0];
    assert_eq!(
        serde_json::Value::Object(r.data.clone()),
        json!({"profile_id": "com.evil.profile", "timestamp": "2021-03-04 05:06:07.000000",
               "operation": "install", "process": "/usr/libexec/mdmd", "extra": 1})
    );
    assert_eq!(r.heuristics[0].level, Level::Low);
    assert_eq!(
        r.heuristics[0].message,
        "On 2021-03-04 05:06:07.000000 process \"/usr/libexec/mdmd\" started operation \"install\" of profile \"com.evil.profile\""
    );
    assert_eq!(
        r.timeline[0].data,
        "Process /usr/libexec/mdmd started operation install of profile com.evil.profile"
    );
    let kinds: Vec<_> = r.observables.iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [ObservableKind::Process, ObservableKind::ProfileId]);
    assert_eq!(sink.heuristics().count(), 2);
    assert_problem(&sink, &ios, &format!("{CP}/{PE}"));

    let m = Mini::new(no_info());
    m.file(CP, PE, GARBAGE);
    let e = run_err(&profile_events::ProfileEvents::new(m.open()));
    assert_unreadable(&e, &format!("{CP}/{PE}"));
}

#[test]
fn profile_events_fixture_has_none() {
    let ios = open(&mvt_backup());
    let (outcome, _) = run(&profile_events::ProfileEvents::new(ios));
    assert!(matches!(outcome, ModuleOutcome::NotFound(_)));
}

// ---------------------------------------------------------------- all modules, evidence

fn ours(ios: &Arc<Ios>) -> Vec<Box<dyn Module>> {
    vec![
        Box::new(configuration_profiles::ConfigurationProfiles::new(
            Arc::clone(ios),
        )),
        Box::new(profile_events::ProfileEvents::new(Arc::clone(ios))),
        Box::new(calls::Calls::new(Arc::clone(ios))),
        Box::new(contacts::Contacts::new(Arc::clone(ios))),
        Box::new(interaction_c::InteractionC::new(Arc::clone(ios))),
        Box::new(sms_attachments::SmsAttachments::new(Arc::clone(ios))),
        Box::new(whatsapp::Whatsapp::new(Arc::clone(ios))),
        Box::new(whatsapp_contacts::WhatsappContacts::new(Arc::clone(ios))),
        Box::new(shortcuts::Shortcuts::new(Arc::clone(ios))),
        Box::new(applications::Applications::new(Arc::clone(ios))),
        Box::new(calendar::Calendar::new(Arc::clone(ios))),
        Box::new(global_preferences::GlobalPreferences::new(Arc::clone(ios))),
    ]
}

#[test]
fn fixture_timeline_and_alerts_match_mvt_check_backup() {
    // §7: timeline rows Whatsapp 9 + InteractionC 6 + WhatsappContacts 5 + Calendar 4, and
    // one INFORMATIONAL alert (global_preferences) among these modules.
    let before = tree_hash(&mvt_backup());
    let ios = open(&mvt_backup());
    let mut rows = 0;
    let mut alerts = Vec::new();
    for m in ours(&ios) {
        let mut sink = VecSink::default();
        m.run(&mut sink).unwrap();
        rows += distinct_timeline(&sink).len();
        alerts.extend(sink.heuristics().map(|h| (m.info().slug, h.level)));
    }
    assert_eq!(rows, 9 + 6 + 5 + 4);
    assert_eq!(alerts, [("global_preferences", Level::Informational)]);
    assert_eq!(tree_hash(&mvt_backup()), before);
}

// ---------------------------------------------------------------- generated backup: recall

fn generate(out: &Path, fs: bool) -> serde_json::Value {
    let script = shared().join(if fs {
        "bench/gen_ios_fs.py"
    } else {
        "bench/gen_ios_backup.py"
    });
    assert!(script.is_file(), "generator missing: {}", script.display());
    let status = std::process::Command::new("python3")
        .arg(&script)
        .arg("--out")
        .arg(out)
        .args(["--seed", "1", "--sms", "2000", "--history", "2000"])
        .args(["--processes", "100", "--whatsapp", "1000"])
        // The dump generator adds a system volume: fewer filler files keep it quick.
        .args(["--files", if fs { "10" } else { "50" }])
        .arg("--plant")
        .arg(shared().join("iocs"))
        .args(["--plant-count", "50"])
        .status()
        .expect("python3 is needed to generate the test backup");
    assert!(status.success(), "generator failed");
    let truth = out.with_file_name(format!(
        "{}.truth.json",
        out.file_name().unwrap().to_string_lossy()
    ));
    serde_json::from_slice(&std::fs::read(truth).unwrap()).unwrap()
}

fn run_all(ios: &Arc<Ios>) -> Vec<(&'static str, VecSink)> {
    ours(ios)
        .into_iter()
        .map(|m| {
            let mut sink = VecSink::default();
            m.run(&mut sink)
                .unwrap_or_else(|e| panic!("{}: {e}", m.info().slug));
            (m.info().slug, sink)
        })
        .collect()
}

fn sink_of<'a>(all: &'a [(&str, VecSink)], slug: &str) -> &'a VecSink {
    &all.iter().find(|(s, _)| *s == slug).unwrap().1
}

/// Checks each planted value of our modules sits, as an observable, on its record.
fn check_recall(all: &[(&str, VecSink)], truth: &serde_json::Value) -> usize {
    let mut checked = 0;
    for p in truth["planted"].as_array().unwrap() {
        let module = p["module"].as_str().unwrap();
        let (table, key, kind) = match module {
            "whatsapp" => ("ZWAMESSAGE", "Z_PK", ObservableKind::Url),
            "shortcuts" => ("ZSHORTCUT", "Z_PK", ObservableKind::Url),
            "calendar" => ("CalendarItem", "ROWID", ObservableKind::Email),
            _ => continue,
        };
        let row = p["record"][key].to_string();
        let placed = p["placed"].as_str().unwrap();
        let sink = sink_of(all, module);
        let rec = sink
            .records
            .iter()
            .find(|r| {
                r.source.table.as_deref() == Some(table)
                    && r.source.row.as_deref() == Some(row.as_str())
            })
            .unwrap_or_else(|| panic!("{module}: no record {table} {row}"));
        assert!(
            rec.observables
                .iter()
                .any(|o| o.kind == kind && o.value == placed),
            "{module} {table} {row}: {placed} not observed in {:?}",
            rec.observables
        );
        checked += 1;
    }
    checked
}

#[test]
fn generated_backup_recall_counts_and_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("small");
    let truth = generate(&out, false);
    let before = tree_hash(&out);
    let ios = open(&out);
    let all = run_all(&ios);
    // 5 WhatsApp, 4 Shortcuts and 2 Calendar plants with this seed.
    assert_eq!(check_recall(&all, &truth), 11);

    let stats = &truth["stats"];
    let wa = sink_of(&all, "whatsapp");
    let messages = wa
        .records
        .iter()
        .filter(|r| r.source.table.as_deref() == Some("ZWAMESSAGE"))
        .count();
    assert_eq!(
        messages as u64,
        stats["whatsapp"]["messages"].as_u64().unwrap()
    );
    assert_eq!(
        by_type(wa, "chat_session").len() as u64,
        stats["whatsapp"]["sessions"].as_u64().unwrap()
    );
    assert!(!by_type(wa, "lid_phone_number_pair").is_empty());
    // No media-server URL is offered as a link.
    assert!(wa.records.iter().all(|r| {
        r.observables
            .iter()
            .all(|o| !o.value.contains("mmg.whatsapp.net"))
    }));
    assert_eq!(
        sink_of(&all, "calls").records.len() as u64,
        stats["calls"]["calls"].as_u64().unwrap()
    );
    assert_eq!(
        sink_of(&all, "calendar").records.len() as u64,
        stats["calendar"]["events"].as_u64().unwrap()
    );
    assert_eq!(
        sink_of(&all, "shortcuts").records.len() as u64,
        stats["shortcuts"]["shortcuts"].as_u64().unwrap()
    );
    assert_eq!(
        sink_of(&all, "global_preferences").records.len() as u64,
        stats["global_preferences"]["keys"].as_u64().unwrap()
    );
    let apps = sink_of(&all, "applications");
    assert_eq!(apps.records.len(), 28);
    assert!(apps.records.iter().all(|r| r.data.contains_key("isodate")
        && r.data["icon_sha256"]
            == hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                <sha2::Sha256 as sha2::Digest>::digest(r.data["name"].as_str().unwrap().as_bytes())
            ))));
    // Benign data raises nothing in these modules.
    for (slug, sink) in &all {
        assert!(
            sink.heuristics().next().is_none(),
            "{slug}: {:?}",
            sink.heuristics().collect::<Vec<_>>()
        );
        assert!(sink.problems.is_empty(), "{slug}: {:?}", sink.problems);
    }
    assert_eq!(tree_hash(&out), before);
}

#[test]
fn generated_filesystem_dump_reads_the_same_artifacts() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("fs");
    let truth = generate(&out, true);
    let before = tree_hash_with_links(&out);
    let ios = Arc::new(Ios::open_fs(&out, EvidenceLog::new(), Limits::default()).unwrap());
    let all: Vec<_> = bridle_ios::modules::fs_modules(&ios)
        .into_iter()
        .filter(|m| ours(&ios).iter().any(|o| o.info().slug == m.info().slug))
        .map(|m| {
            let mut sink = VecSink::default();
            m.run(&mut sink).unwrap();
            (m.info().slug, sink)
        })
        .collect();
    assert_eq!(all.len(), 10);
    assert!(check_recall(&all, &truth) > 0);
    let stats = &truth["stats"];
    assert_eq!(
        sink_of(&all, "calls").records.len() as u64,
        stats["calls"]["calls"].as_u64().unwrap()
    );
    let apps = sink_of(&all, "applications");
    assert!(!apps.records.is_empty());
    assert!(apps.records.iter().all(|r| {
        r.data["file_path"]
            .as_str()
            .unwrap()
            .ends_with("/iTunesMetadata.plist")
    }));
    assert_eq!(tree_hash_with_links(&out), before);
}

/// SHA-256 of every file and the target of every symbolic link under a folder (a dump has
/// links, which `common::tree_hash` does not follow).
fn tree_hash_with_links(root: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if t.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                out.push((rel, format!("-> {}", target.display())));
            } else if t.is_dir() {
                stack.push(e.path());
            } else {
                out.push((rel, bridle_evidence::hash_file(&e.path()).unwrap().0));
            }
        }
    }
    out.sort();
    out
}
