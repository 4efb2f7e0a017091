//! Modules of branch ios-a: parity with MVT on its iOS backup fixture (numbers and strings
//! from reference/mvt-features.md §5.2 and §7, which live here and never in the modules),
//! hostile inputs, and recall on a generated backup with planted indicators.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_ios::modules::{interaction_c, whatsapp, whatsapp_contacts};
use bridle_model::{Level, Module, ModuleOutcome, ObservableKind, Record, VecSink};
use common::*;
use serde_json::json;
use std::collections::BTreeSet;

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
    assert_eq!(pairs[0].data["pair_timestamp"], "2025-08-25 07:33:20.000000");
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
    assert_eq!(alice.data["last_message_date"], "2025-08-28 18:53:20.000000");
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
    assert_eq!(group.data["last_message_date"], "2025-08-31 02:26:40.000000");

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
    assert!(events.iter().any(|(t, e, _)| {
        t == "2025-08-29 22:40:00.000000" && e == "chat_first_message"
    }));
    assert!(events.iter().any(|(t, e, _)| {
        t == "2025-08-31 02:26:40.000000" && e == "chat_last_message"
    }));
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
    assert_eq!(a["disappearing_mode_timestamp"], "2025-07-23 21:46:40.000000");
    assert_eq!(a["about_timestamp"], "2025-07-12 08:00:00.000000");
    assert_eq!(a["about_expiration_timestamp"], "2025-08-16 01:20:00.000000");
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
    assert_eq!(incoming.data["sender_resolved_phone_number"], "+14155550100");
    assert_eq!(incoming.data["sender_resolved_name"], "Alice Example");
    let outgoing = sink
        .records
        .iter()
        .find(|r| r.data["direction"] == "OUTGOING")
        .unwrap();
    assert_eq!(outgoing.data["recipient_identifier"], "+14155550100");
    assert_eq!(outgoing.data["recipient_resolved_name"], "Alice Example");
    assert_eq!(outgoing.data["domain_resolved_phone_number"], "+14155550100");
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
    assert!(incoming.observables.iter().any(|o| o.kind == ObservableKind::AppId
        && o.value == "net.whatsapp.WhatsApp"));
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

#[allow(dead_code)]
fn level_of(sink: &VecSink) -> Vec<Level> {
    sink.heuristics().map(|h| h.level).collect()
}

#[allow(dead_code)]
fn module_slug(m: &dyn Module) -> &'static str {
    m.info().slug
}
