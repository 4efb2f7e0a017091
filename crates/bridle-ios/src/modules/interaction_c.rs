//! interactionC.db (CoreDuet People): who the user exchanged messages, calls and shares
//! with, in which app, and when.
//!
//! The schema changed across iOS versions; MVT tries four queries (from APOLLO) one after
//! the other until one runs. Here the same four field lists are kept, and the first whose
//! tables and columns are all present is chosen from the schema; when none fits, every field
//! whose column exists is read (MVT would read nothing).
//!
//! WhatsApp names chat peers by LID (`100000000000001@lid`), which only WhatsApp's own
//! ContactsV2.sqlite maps back to a phone number and a name. MVT gets that mapping from its
//! WhatsappContacts module's results; this module reads ContactsV2.sqlite itself, so it
//! depends on no other module and gives the same answer whether or not that module runs.

use super::coredata::{Columns, iso, mac_time, quote, text_of};
use super::whatsapp_contacts::{self, ContactQuery};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record,
    Sink, Source, TimelineEvent, Timestamp,
};
use rusqlite::types::ValueRef;
use serde_json::Value as Json;
use std::collections::BTreeMap;

ios_module!(
    InteractionC,
    "interaction_c",
    "InteractionC",
    "People the user interacted with, per app (CoreDuet interactionC.db)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/CoreDuet/People/interactionC.db")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/CoreDuet/People/interactionC.db"],
};

const WHATSAPP_BUNDLE_ID: &str = "net.whatsapp.WhatsApp";

/// A creation date this far from the start date means the record was backfilled (sync,
/// restore or tampering); closer, it only repeats the start event.
const CREATION_DIVERGENCE_SECONDS: u64 = 3600;

/// Most WhatsApp contacts kept in memory for resolution.
const MAX_CONTACTS: usize = 1_000_000;

/// The tables a field is read from, under their aliases in the query.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tbl {
    /// ZINTERACTIONS.
    Interaction,
    /// ZCONTACTS joined on the sender.
    Sender,
    /// ZCONTACTS joined through Z_2INTERACTIONRECIPIENT.
    Recipient,
    /// ZATTACHMENT joined through Z_1INTERACTIONS.
    Attachment,
}

/// How a field's value is read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Plain,
    /// A Mac absolute time.
    Date,
    /// A blob written as upper-case hex.
    Hex,
    /// 0/1, written INCOMING/OUTGOING.
    Direction,
}

struct Field {
    name: &'static str,
    from: Tbl,
    column: &'static str,
    kind: Kind,
}

const fn f(name: &'static str, from: Tbl, column: &'static str, kind: Kind) -> Field {
    Field {
        name,
        from,
        column,
        kind,
    }
}

use Kind::{Date, Direction, Hex, Plain};
use Tbl::{Attachment as A, Interaction as I, Recipient as R, Sender as S};

/// Every field any variant reads, in the order of the fullest variant (plus `mechanism`).
const FIELDS: [Field; 40] = [
    f("start_date", I, "ZSTARTDATE", Date),
    f("end_date", I, "ZENDDATE", Date),
    f("bundle_id", I, "ZBUNDLEID", Plain),
    f("account", I, "ZACCOUNT", Plain),
    f("target_bundle_id", I, "ZTARGETBUNDLEID", Plain),
    f("direction", I, "ZDIRECTION", Direction),
    f("sender_display_name", S, "ZDISPLAYNAME", Plain),
    f("sender_identifier", S, "ZIDENTIFIER", Plain),
    f("sender_personid", S, "ZPERSONID", Plain),
    f("recipient_display_name", R, "ZDISPLAYNAME", Plain),
    f("recipient_identifier", R, "ZIDENTIFIER", Plain),
    f("recipient_personid", R, "ZPERSONID", Plain),
    f("recipient_count", I, "ZRECIPIENTCOUNT", Plain),
    f("domain_identifier", I, "ZDOMAINIDENTIFIER", Plain),
    f("is_response", I, "ZISRESPONSE", Plain),
    f("mechanism", I, "ZMECHANISM", Plain),
    f("content", A, "ZCONTENTTEXT", Plain),
    f("uti", A, "ZUTI", Plain),
    f("attachment_content_url", A, "ZCONTENTURL", Plain),
    f("size", A, "ZSIZEINBYTES", Plain),
    f("photo_local_id", A, "ZPHOTOLOCALIDENTIFIER", Plain),
    f("attachment_id", A, "ZIDENTIFIER", Hex),
    f("cloud_id", A, "ZCLOUDIDENTIFIER", Plain),
    f(
        "incoming_recipient_count",
        S,
        "ZINCOMINGRECIPIENTCOUNT",
        Plain,
    ),
    f("incoming_sender_count", S, "ZINCOMINGSENDERCOUNT", Plain),
    f(
        "outgoing_recipient_count",
        S,
        "ZOUTGOINGRECIPIENTCOUNT",
        Plain,
    ),
    f("interactions_creation_date", I, "ZCREATIONDATE", Date),
    f("contacts_creation_date", S, "ZCREATIONDATE", Date),
    f(
        "first_incoming_recipient_date",
        S,
        "ZFIRSTINCOMINGRECIPIENTDATE",
        Date,
    ),
    f(
        "first_incoming_sender_date",
        S,
        "ZFIRSTINCOMINGSENDERDATE",
        Date,
    ),
    f(
        "first_outgoing_recipient_date",
        S,
        "ZFIRSTOUTGOINGRECIPIENTDATE",
        Date,
    ),
    f(
        "last_incoming_sender_date",
        S,
        "ZLASTINCOMINGSENDERDATE",
        Date,
    ),
    f(
        "last_incoming_recipient_date",
        S,
        "ZLASTINCOMINGRECIPIENTDATE",
        Date,
    ),
    f(
        "last_outgoing_recipient_date",
        S,
        "ZLASTOUTGOINGRECIPIENTDATE",
        Date,
    ),
    f("custom_id", S, "ZCUSTOMIDENTIFIER", Plain),
    f("interaction_content_url", I, "ZCONTENTURL", Plain),
    f("location_uuid", I, "ZLOCATIONUUID", Plain),
    f("group_name", I, "ZGROUPNAME", Plain),
    // Sic: MVT's key.
    f("derivied_intent_id", I, "ZDERIVEDINTENTIDENTIFIER", Plain),
    f("table_id", I, "Z_PK", Plain),
];

/// MVT's four queries as field lists, newest schema first.
const VARIANTS: [&[&str]; 4] = [
    &[
        "start_date",
        "end_date",
        "bundle_id",
        "account",
        "target_bundle_id",
        "direction",
        "sender_display_name",
        "sender_identifier",
        "sender_personid",
        "recipient_display_name",
        "recipient_identifier",
        "recipient_personid",
        "recipient_count",
        "domain_identifier",
        "is_response",
        "content",
        "uti",
        "attachment_content_url",
        "size",
        "photo_local_id",
        "attachment_id",
        "cloud_id",
        "incoming_recipient_count",
        "incoming_sender_count",
        "outgoing_recipient_count",
        "interactions_creation_date",
        "contacts_creation_date",
        "first_incoming_recipient_date",
        "first_incoming_sender_date",
        "first_outgoing_recipient_date",
        "last_incoming_sender_date",
        "last_incoming_recipient_date",
        "last_outgoing_recipient_date",
        "custom_id",
        "interaction_content_url",
        "location_uuid",
        "group_name",
        "derivied_intent_id",
        "table_id",
    ],
    &[
        "start_date",
        "end_date",
        "bundle_id",
        "account",
        "target_bundle_id",
        "direction",
        "sender_display_name",
        "sender_identifier",
        "sender_personid",
        "recipient_display_name",
        "recipient_identifier",
        "recipient_personid",
        "recipient_count",
        "domain_identifier",
        "is_response",
        "content",
        "uti",
        "attachment_content_url",
        "size",
        "attachment_id",
        "cloud_id",
        "incoming_recipient_count",
        "incoming_sender_count",
        "outgoing_recipient_count",
        "interactions_creation_date",
        "contacts_creation_date",
        "first_incoming_recipient_date",
        "first_incoming_sender_date",
        "first_outgoing_recipient_date",
        "last_incoming_sender_date",
        "last_incoming_recipient_date",
        "last_outgoing_recipient_date",
        "custom_id",
        "interaction_content_url",
        "location_uuid",
        "table_id",
    ],
    &[
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
    ],
    &[
        "start_date",
        "end_date",
        "interactions_creation_date",
        "bundle_id",
        "sender_display_name",
        "sender_identifier",
        "sender_personid",
        "direction",
        "is_response",
        "mechanism",
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
        "interaction_content_url",
        "location_uuid",
        "table_id",
    ],
];

/// Per-contact dates from ZCONTACTS and their contact-centric text (the same on every row
/// of a contact, so that the timeline's de-duplication keeps one event per contact).
const CONTACT_EVENTS: [(&str, &str); 7] = [
    (
        "contacts_creation_date",
        "Contact {} first recorded in interactionC",
    ),
    (
        "first_incoming_sender_date",
        "First incoming interaction from {}",
    ),
    (
        "last_incoming_sender_date",
        "Last incoming interaction from {}",
    ),
    (
        "first_incoming_recipient_date",
        "First incoming interaction where {} was a recipient",
    ),
    (
        "last_incoming_recipient_date",
        "Last incoming interaction where {} was a recipient",
    ),
    (
        "first_outgoing_recipient_date",
        "First outgoing interaction to {}",
    ),
    (
        "last_outgoing_recipient_date",
        "Last outgoing interaction to {}",
    ),
];

/// What the schema offers, to pick a variant and build the query.
struct Schema {
    interactions: Columns,
    contacts: Columns,
    attachment: Columns,
    /// Z_1INTERACTIONS and ZATTACHMENT can be joined.
    attachment_join: bool,
    /// Z_2INTERACTIONRECIPIENT and ZCONTACTS can be joined.
    recipient_join: bool,
    /// ZCONTACTS can be joined on the sender.
    sender_join: bool,
}

impl Schema {
    fn read(db: &Database) -> Schema {
        let interactions = Columns::of(db, "ZINTERACTIONS");
        let contacts = Columns::of(db, "ZCONTACTS");
        let attachment = Columns::of(db, "ZATTACHMENT");
        let link1 = Columns::of(db, "Z_1INTERACTIONS");
        let link2 = Columns::of(db, "Z_2INTERACTIONRECIPIENT");
        let ipk = interactions.has("Z_PK");
        Schema {
            attachment_join: ipk
                && link1.has("Z_3INTERACTIONS")
                && link1.has("Z_1ATTACHMENTS")
                && attachment.has("Z_PK"),
            recipient_join: ipk
                && link2.has("Z_3INTERACTIONRECIPIENT")
                && link2.has("Z_2RECIPIENTS")
                && contacts.has("Z_PK"),
            sender_join: interactions.has("ZSENDER") && contacts.has("Z_PK"),
            interactions,
            contacts,
            attachment,
        }
    }

    fn available(&self, field: &Field) -> bool {
        match field.from {
            Tbl::Interaction => self.interactions.has(field.column),
            Tbl::Sender => self.sender_join && self.contacts.has(field.column),
            Tbl::Recipient => self.recipient_join && self.contacts.has(field.column),
            Tbl::Attachment => self.attachment_join && self.attachment.has(field.column),
        }
    }

    /// The fields to read: MVT's first variant that fits entirely, else every available one.
    fn fields(&self) -> Vec<&'static Field> {
        let field = |name: &str| FIELDS.iter().find(|f| f.name == name);
        for variant in VARIANTS {
            let fields: Vec<_> = variant.iter().filter_map(|n| field(n)).collect();
            if fields.len() == variant.len() && fields.iter().all(|f| self.available(f)) {
                return fields;
            }
        }
        FIELDS.iter().filter(|f| self.available(f)).collect()
    }

    fn sql(&self, fields: &[&Field]) -> String {
        let needs = |from: Tbl| fields.iter().any(|f| f.from == from);
        let select: Vec<String> = fields
            .iter()
            .map(|f| {
                let table = match f.from {
                    Tbl::Interaction => "ZINTERACTIONS",
                    Tbl::Sender => "ZCONTACTS",
                    Tbl::Recipient => "RECIPIENTCONTACT",
                    Tbl::Attachment => "ZATTACHMENT",
                };
                let col = format!("{}.{}", quote(table), quote(f.column));
                match f.kind {
                    Kind::Hex => format!("HEX({col}) AS {}", quote(f.name)),
                    _ => format!("{col} AS {}", quote(f.name)),
                }
            })
            .collect();
        let mut sql = format!("SELECT {} FROM ZINTERACTIONS", select.join(", "));
        if needs(Tbl::Sender) {
            sql.push_str(" LEFT JOIN ZCONTACTS ON ZINTERACTIONS.ZSENDER = ZCONTACTS.Z_PK");
        }
        if needs(Tbl::Attachment) {
            sql.push_str(
                " LEFT JOIN Z_1INTERACTIONS ON ZINTERACTIONS.Z_PK = Z_1INTERACTIONS.Z_3INTERACTIONS \
                 LEFT JOIN ZATTACHMENT ON Z_1INTERACTIONS.Z_1ATTACHMENTS = ZATTACHMENT.Z_PK",
            );
        }
        if needs(Tbl::Recipient) {
            sql.push_str(
                " LEFT JOIN Z_2INTERACTIONRECIPIENT \
                 ON ZINTERACTIONS.Z_PK = Z_2INTERACTIONRECIPIENT.Z_3INTERACTIONRECIPIENT \
                 LEFT JOIN ZCONTACTS RECIPIENTCONTACT \
                 ON Z_2INTERACTIONRECIPIENT.Z_2RECIPIENTS = RECIPIENTCONTACT.Z_PK",
            );
        }
        sql
    }
}

/// A WhatsApp contact: phone number and name.
type Entry = (Option<String>, Option<String>);

/// WhatsApp contacts by LID and by phone digits.
#[derive(Default)]
struct Contacts {
    by_lid: BTreeMap<String, Entry>,
    by_phone: BTreeMap<String, Entry>,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn non_empty(m: &Map, key: &str) -> Option<String> {
    text_of(m, key).filter(|s| !s.is_empty())
}

impl Contacts {
    fn add(&mut self, c: &Map) {
        if self.by_lid.len() >= MAX_CONTACTS || self.by_phone.len() >= MAX_CONTACTS {
            return;
        }
        let name = non_empty(c, "full_name").or_else(|| non_empty(c, "given_name"));
        let phone = non_empty(c, "phone_number");
        let entry = (phone.clone(), name);
        if let Some(lid) = non_empty(c, "lid") {
            self.by_lid.insert(lid, entry.clone());
        }
        if let Some(p) = &phone {
            self.by_phone.insert(digits(p), entry.clone());
        }
        if let Some(id) = non_empty(c, "whatsapp_id")
            && let Some((user, _)) = id.split_once('@')
        {
            self.by_phone.entry(user.to_owned()).or_insert(entry);
        }
    }

    /// A LID, JID or phone number to (phone number, name).
    fn resolve(&self, value: &str) -> Entry {
        if value.is_empty() {
            return (None, None);
        }
        if value.ends_with("@lid") {
            return self.by_lid.get(value).cloned().unwrap_or_default();
        }
        if value.ends_with("@g.us") {
            return (None, None);
        }
        if value.ends_with("@s.whatsapp.net") {
            let user = value.split('@').next().unwrap_or_default();
            let (phone, name) = self.by_phone.get(user).cloned().unwrap_or_default();
            return (phone.or_else(|| Some(format!("+{user}"))), name);
        }
        if value.starts_with('+') {
            let (_, name) = self
                .by_phone
                .get(&digits(value))
                .cloned()
                .unwrap_or_default();
            return (None, name);
        }
        (None, None)
    }
}

/// Reads WhatsApp's ContactsV2.sqlite if the acquisition has it; problems are reported and
/// resolution goes on without it.
fn whatsapp_contacts(ios: &Ios, sink: &mut dyn Sink) -> Contacts {
    let mut contacts = Contacts::default();
    let located = match ios.locate(&whatsapp_contacts::LOCATIONS) {
        Ok(l) => l.into_iter().next(),
        Err(e) => {
            sink.problem(Problem::file(
                ProblemKind::Unreadable,
                "ContactsV2.sqlite",
                e.to_string(),
            ));
            None
        }
    };
    let Some(located) = located else {
        return contacts;
    };
    let (db, file) = match ios.open_db(&located) {
        Ok(x) => x,
        Err(e) => {
            sink.problem(Problem::file(
                ProblemKind::Unreadable,
                located.logical.clone(),
                format!("WhatsApp identifiers not resolved: {e}"),
            ));
            return contacts;
        }
    };
    if let Some(query) = ContactQuery::new(&db) {
        let read = query.read(&db, |_, c| contacts.add(&c));
        report_rows(sink, &file, "ZWAADDRESSBOOKCONTACT", &read);
    }
    contacts
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("interactionC.db", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no interactionC.db".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let schema = Schema::read(&db);
    if !schema.interactions.exists() {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no ZINTERACTIONS table",
            located.logical
        )));
    }
    let fields = schema.fields();
    let sql = schema.sql(&fields);
    let contacts = whatsapp_contacts(ios, sink);
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let mut data = Map::new();
        for (idx, field) in fields.iter().enumerate() {
            data.insert(field.name.to_owned(), value(row, idx, field.kind));
        }
        resolve(&mut data, &contacts);
        let pk = text_of(&data, "table_id").unwrap_or_default();
        let mut r = Record::new(Source::row(&file, "ZINTERACTIONS", pk));
        timeline(&mut r, &data);
        observables(&mut r, &data);
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, &file, "ZINTERACTIONS", &read);
    Ok(ModuleOutcome::Done)
}

fn value(row: &rusqlite::Row<'_>, idx: usize, kind: Kind) -> Json {
    match kind {
        Kind::Plain | Kind::Hex => rows::json(row, idx),
        Kind::Date => match row.get_ref(idx) {
            Ok(ValueRef::Null) | Err(_) => Json::Null,
            // MVT keeps text as it is.
            Ok(ValueRef::Text(_) | ValueRef::Blob(_)) => rows::json(row, idx),
            Ok(_) => Json::String(iso(mac_time(row, idx))),
        },
        Kind::Direction => match rows::int(row, idx) {
            Some(0) => Json::from("INCOMING"),
            Some(1) => Json::from("OUTGOING"),
            _ => rows::json(row, idx),
        },
    }
}

/// Adds `{sender,recipient,domain}_resolved_{phone_number,name}` to WhatsApp rows.
fn resolve(data: &mut Map, contacts: &Contacts) {
    if text_of(data, "bundle_id").as_deref() != Some(WHATSAPP_BUNDLE_ID) {
        return;
    }
    let candidates: [(&str, &[&str]); 3] = [
        ("sender", &["sender_identifier", "custom_id"]),
        ("recipient", &["recipient_identifier"]),
        ("domain", &["domain_identifier"]),
    ];
    for (prefix, keys) in candidates {
        let mut found: Entry = (None, None);
        for key in keys {
            let v = text_of(data, key).unwrap_or_default();
            found = contacts.resolve(&v);
            if found.0.is_some() || found.1.is_some() {
                break;
            }
        }
        let (phone, name) = found;
        data.insert(
            format!("{prefix}_resolved_phone_number"),
            phone.map_or(Json::Null, Json::String),
        );
        data.insert(
            format!("{prefix}_resolved_name"),
            name.map_or(Json::Null, Json::String),
        );
    }
}

/// `Name (identifier)`, or whichever of the two is known.
fn describe_party(data: &Map, prefix: &str) -> Option<String> {
    let name = non_empty(data, &format!("{prefix}_display_name"))
        .or_else(|| non_empty(data, &format!("{prefix}_resolved_name")));
    let identifier = non_empty(data, &format!("{prefix}_resolved_phone_number"))
        .or_else(|| non_empty(data, &format!("{prefix}_identifier")));
    match (name, identifier) {
        (Some(name), Some(id)) => {
            // A display name that only formats the number adds nothing.
            let nd: String = name.chars().filter(|c| c.is_numeric()).collect();
            let id_digits: String = id.chars().filter(|c| c.is_numeric()).collect();
            if !nd.is_empty() && nd == id_digits {
                Some(id)
            } else {
                Some(format!("{name} ({id})"))
            }
        }
        (name, id) => name.or(id),
    }
}

fn date_of(data: &Map, key: &str) -> Option<(String, Option<Timestamp>)> {
    let s = non_empty(data, key)?;
    let t = Timestamp::parse(&s);
    Some((s, t))
}

fn timeline(r: &mut Record, data: &Map) {
    let direction = text_of(data, "direction");
    let mut sender = describe_party(data, "sender");
    let mut recipient =
        describe_party(data, "recipient").or_else(|| describe_party(data, "domain"));
    if sender.is_none() && direction.as_deref() == Some("OUTGOING") {
        sender = Some("local user".into());
    }
    if recipient.is_none() && direction.as_deref() == Some("INCOMING") {
        recipient = Some("local user".into());
    }
    let mut header = format!(
        "[{}]",
        text_of(data, "bundle_id").unwrap_or_else(|| "None".into())
    );
    if let Some(account) = non_empty(data, "account") {
        header.push(' ');
        header.push_str(&account);
    }
    if let Some(d) = direction.filter(|d| !d.is_empty()) {
        header.push(' ');
        header.push_str(&d);
    }
    let mut text = format!(
        "{header} from {} to {}",
        sender.as_deref().unwrap_or("unknown"),
        recipient.as_deref().unwrap_or("unknown")
    );
    if let Some(group) = non_empty(data, "group_name") {
        text.push_str(&format!(" (group: {group})"));
    }
    if let Some(content) = non_empty(data, "content") {
        text.push_str(&format!(": {content}"));
    }

    let mut seen: Vec<String> = Vec::with_capacity(2);
    for key in ["start_date", "end_date"] {
        if let Some((raw, t)) = date_of(data, key)
            && !seen.contains(&raw)
        {
            r.event(TimelineEvent::new(t, key, text.clone()));
            seen.push(raw);
        }
    }
    if let Some((_, created)) = date_of(data, "interactions_creation_date") {
        let start = date_of(data, "start_date").and_then(|(_, t)| t);
        match (created, start) {
            (Some(c), Some(s)) => {
                let delta = c.unix_micros().saturating_sub(s.unix_micros());
                if delta.unsigned_abs() >= CREATION_DIVERGENCE_SECONDS * 1_000_000 {
                    let when = if delta > 0 { "after" } else { "before" };
                    r.event(TimelineEvent::new(
                        created,
                        "interactions_creation_date",
                        format!(
                            "Interaction record created {} {when} the event: {text}",
                            describe_delta(delta.unsigned_abs())
                        ),
                    ));
                }
            }
            // Without a start date, the creation date is the only anchor.
            _ => {
                r.event(TimelineEvent::new(
                    created,
                    "interactions_creation_date",
                    text.clone(),
                ));
            }
        }
    }
    if let Some(party) = describe_party(data, "sender") {
        for (key, template) in CONTACT_EVENTS {
            if let Some((_, t)) = date_of(data, key) {
                r.event(TimelineEvent::new(t, key, template.replace("{}", &party)));
            }
        }
    }
}

/// `N days` from a day on, else `N hours`, rounded as Python's `:.0f` does.
fn describe_delta(micros: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let seconds = micros as f64 / 1e6;
    if seconds >= 86_400.0 {
        format!("{:.0} days", seconds / 86_400.0)
    } else {
        format!("{:.0} hours", seconds / 3_600.0)
    }
}

/// Values an indicator can name: the apps involved, linked content, e-mail identifiers.
/// MVT checks none of them.
fn observables(r: &mut Record, data: &Map) {
    for key in ["bundle_id", "target_bundle_id"] {
        if let Some(v) = non_empty(data, key) {
            r.observe(Observable::new(ObservableKind::AppId, v, key));
        }
    }
    for key in ["interaction_content_url", "attachment_content_url"] {
        if let Some(v) = non_empty(data, key) {
            let lower = v.to_ascii_lowercase();
            if lower.starts_with("http://") || lower.starts_with("https://") {
                r.observe(Observable::new(ObservableKind::Url, v, key));
            }
        }
    }
    for key in [
        "sender_identifier",
        "recipient_identifier",
        "domain_identifier",
    ] {
        if let Some(v) = non_empty(data, key)
            && let Some(email) = email_in(&v)
        {
            r.observe(Observable::new(ObservableKind::Email, email, key));
        }
    }
}

/// An e-mail address used as an identifier (`mailto:` optional); WhatsApp and group JIDs
/// are not addresses.
fn email_in(v: &str) -> Option<String> {
    let v = v.strip_prefix("mailto:").unwrap_or(v);
    let (user, host) = v.split_once('@')?;
    let is_jid = ["lid", "g.us", "s.whatsapp.net", "broadcast"].contains(&host);
    (!user.is_empty() && host.contains('.') && !is_jid && !v.contains(char::is_whitespace))
        .then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_name_known_fields() {
        for v in VARIANTS {
            for name in v {
                assert!(FIELDS.iter().any(|f| f.name == *name), "{name}");
            }
        }
    }

    #[test]
    fn deltas_and_emails() {
        assert_eq!(describe_delta(7_776_000_000_000), "90 days");
        assert_eq!(describe_delta(7_200_000_000), "2 hours");
        assert_eq!(email_in("mailto:a@b.org").as_deref(), Some("a@b.org"));
        assert_eq!(email_in("1@lid"), None);
        assert_eq!(email_in("+1415"), None);
    }
}
