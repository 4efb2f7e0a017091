//! WhatsApp ChatStorage.sqlite (and LID.sqlite): messages with the links they carry, the
//! LID-to-phone-number pairs WhatsApp records, and one record per chat with its first and
//! last message dates.
//!
//! Records come in MVT's order: messages, then LID pairs (`record_type` =
//! `lid_phone_number_pair`), then chat sessions (`record_type` = `chat_session`). Links are
//! taken from the text, link-preview and media columns, in that order, de-duplicated keeping
//! the first occurrence (MVT goes through a set, so its order changes from run to run), and
//! WhatsApp's own media-server URLs are left out.
//!
//! LID.sqlite is found by its fileID: backups hold it even when Manifest.db does not list
//! it. When it is absent (or has no pair table) the pairs are read from ChatStorage.sqlite,
//! where older WhatsApp versions keep them.

use super::coredata::{Columns, iso, iso_or_null, mac_time, py_str, quote, text_of};
use super::whatsapp_contacts::WHATSAPP_DOMAIN;
use super::{report_rows, unreadable};
use crate::links::find_links;
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    EvidenceFile, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind,
    Record, Sink, Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;

ios_module!(
    Whatsapp,
    "whatsapp",
    "Whatsapp",
    "WhatsApp messages and their links, LID-phone number pairs and chat sessions (ChatStorage.sqlite)"
);

const LOCATIONS: Locations = Locations {
    backup: &[(WHATSAPP_DOMAIN, "ChatStorage.sqlite")],
    backup_like: &[],
    fs: &["private/var/mobile/Containers/Shared/AppGroup/*/ChatStorage.sqlite"],
};

const LID_LOCATIONS: Locations = Locations {
    backup: &[(WHATSAPP_DOMAIN, "LID.sqlite")],
    backup_like: &[],
    fs: &["private/var/mobile/Containers/Shared/AppGroup/*/LID.sqlite"],
};

/// Columns whose text may hold links, in the order they are searched.
const LINK_FIELDS: [&str; 5] = [
    "ZTEXT",
    "ZMATCHEDTEXT",
    "ZMEDIAURL",
    "ZCONTENT1",
    "ZCONTENT2",
];

/// WhatsApp's media servers: every media message links there, never an indicator.
const MEDIA_PREFIXES: [&str; 2] = ["https://mmg-fna.whatsapp.net/", "https://mmg.whatsapp.net/"];

/// Most LID pairs kept for resolving chat identifiers: one per contact the user ever wrote
/// to; beyond this the rest are still written as records, only not used for resolution.
const MAX_LID_PAIRS: usize = 1_000_000;

const LID_TABLE: &str = "ZWAPHONENUMBERLIDPAIR";

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("ChatStorage.sqlite", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound(
            "no WhatsApp ChatStorage.sqlite".into(),
        ));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if !db.has_table("ZWAMESSAGE") {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            file.logical_path.clone(),
            "no ZWAMESSAGE table: no messages read",
        ));
    } else {
        messages(&db, &file, sink);
    }
    let lid_map = lid_pairs(ios, &db, &file, sink);
    sessions(&db, &file, &lid_map, sink);
    Ok(ModuleOutcome::Done)
}

fn messages(db: &Database, file: &Arc<EvidenceFile>, sink: &mut dyn Sink) {
    let media = Columns::of(db, "ZWAMEDIAITEM");
    let data = Columns::of(db, "ZWAMESSAGEDATAITEM");
    let mut select = vec!["\"ZWAMESSAGE\".*".to_owned()];
    let mut joins = String::new();
    let media_joined = media.has("ZMESSAGE");
    for col in ["ZAUTHORNAME", "ZMEDIAURL"] {
        select.push(if media_joined {
            media.select(col, col)
        } else {
            format!("NULL AS {}", quote(col))
        });
    }
    if media_joined {
        joins.push_str(" LEFT JOIN ZWAMEDIAITEM ON ZWAMEDIAITEM.ZMESSAGE = ZWAMESSAGE.Z_PK");
    }
    let data_joined = data.has("ZMESSAGE");
    for col in [
        "ZCONTENT1",
        "ZCONTENT2",
        "ZMATCHEDTEXT",
        "ZSUMMARY",
        "ZTITLE",
    ] {
        select.push(if data_joined {
            data.select(col, col)
        } else {
            format!("NULL AS {}", quote(col))
        });
    }
    if data_joined {
        joins.push_str(
            " LEFT JOIN ZWAMESSAGEDATAITEM ON ZWAMESSAGEDATAITEM.ZMESSAGE = ZWAMESSAGE.Z_PK",
        );
    }
    let sql = format!("SELECT {} FROM ZWAMESSAGE{joins}", select.join(", "));
    let mut cols: Option<MessageColumns> = None;
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let c = cols.get_or_insert_with(|| MessageColumns::of(row));
        sink.record(message(row, c, file));
    });
    report_rows(sink, file, "ZWAMESSAGE", &read);
}

/// Column positions of a message row, found once per query.
struct MessageColumns {
    names: Vec<String>,
    text: Option<usize>,
    date: Option<usize>,
    pk: Option<usize>,
    from: Option<usize>,
    link_fields: Vec<usize>,
}

impl MessageColumns {
    fn of(row: &rusqlite::Row<'_>) -> MessageColumns {
        let stmt = row.as_ref();
        let names: Vec<String> = (0..stmt.column_count())
            .map(|i| {
                stmt.column_name(i)
                    .map_or_else(|_| format!("column{i}"), str::to_owned)
            })
            .collect();
        let find = |n: &str| names.iter().position(|c| c == n);
        MessageColumns {
            text: find("ZTEXT"),
            date: find("ZMESSAGEDATE"),
            pk: find("Z_PK"),
            from: find("ZFROMJID"),
            link_fields: LINK_FIELDS.iter().filter_map(|f| find(f)).collect(),
            names,
        }
    }
}

/// One message, written straight to JSON: WhatsApp's message table is one of the largest of
/// a phone, and a map per row costs more than reading it.
fn message(row: &rusqlite::Row<'_>, c: &MessageColumns, file: &Arc<EvidenceFile>) -> Record {
    let date = c.date.and_then(|i| mac_time(row, i));
    let text = c.text.and_then(|i| rows::text(row, i)).unwrap_or_default();
    let mut links: Vec<String> = Vec::new();
    for &i in &c.link_fields {
        let Some(s) = rows::text(row, i) else {
            continue;
        };
        for link in find_links(&s) {
            if !MEDIA_PREFIXES.iter().any(|p| link.starts_with(p)) && !links.contains(&link) {
                links.push(link);
            }
        }
    }
    let mut o = rows::JsonObject::with_capacity(512);
    for (i, name) in c.names.iter().enumerate() {
        if Some(i) == c.text {
            o.str(name, &text);
        } else {
            o.column(name, row, i);
        }
    }
    o.str("isodate", &iso(date));
    if c.text.is_none() {
        o.str("ZTEXT", &text);
    }
    if !links.is_empty() || text.trim().is_empty() {
        o.strings("links", &links);
    }
    let pk =
        c.pk.map(|i| py_str(&rows::json(row, i)))
            .unwrap_or_default();
    let mut r = Record::new(Source::row(file, "ZWAMESSAGE", pk));
    let links_text = if links.is_empty() {
        String::new()
    } else {
        format!(" - Embedded links: {}", links.join(", "))
    };
    let from = c
        .from
        .map_or_else(|| "Unknown".into(), |i| py_str(&rows::json(row, i)));
    r.event(TimelineEvent::new(
        date,
        "message",
        format!("'{}' from {from}{links_text}", text.replace('\n', "\\n")),
    ));
    for link in links {
        r.observe(Observable::new(ObservableKind::Url, link, "links"));
    }
    r.raw = Some(o.finish());
    r
}

/// Reads the LID pairs (streaming them as records) and returns LID digits -> phone digits.
fn lid_pairs(
    ios: &Ios,
    chat: &Database,
    chat_file: &Arc<EvidenceFile>,
    sink: &mut dyn Sink,
) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let lid_db = match ios.locate(&LID_LOCATIONS) {
        Ok(found) => found.into_iter().next(),
        Err(e) => {
            sink.problem(Problem::file(
                ProblemKind::Unreadable,
                "LID.sqlite",
                e.to_string(),
            ));
            None
        }
    };
    let opened = lid_db.and_then(|l| match ios.open_db(&l) {
        Ok(pair) => Some(pair),
        Err(e) => {
            sink.problem(Problem::file(
                ProblemKind::Unreadable,
                l.logical.clone(),
                e.to_string(),
            ));
            None
        }
    });
    let (db, file) = match &opened {
        Some((db, file)) if db.has_table(LID_TABLE) => (db, file),
        _ if chat.has_table(LID_TABLE) => (chat, chat_file),
        _ => return map,
    };
    let cols = Columns::of(db, LID_TABLE);
    let sql = format!(
        "SELECT {}, {}, {}, {} FROM {LID_TABLE}",
        cols.select("ZLID", "lid"),
        cols.select("ZPHONENUMBER", "phone_number"),
        cols.select("ZTIMESTAMP", "pair_timestamp"),
        cols.select("Z_PK", "pk"),
    );
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let lid = rows::json(row, 0);
        let phone = rows::json(row, 1);
        let when = mac_time(row, 2);
        let mut r = Record::new(Source::row(file, LID_TABLE, py_str(&rows::json(row, 3))));
        r.set("record_type", "lid_phone_number_pair")
            .set("lid", lid.clone())
            .set("phone_number", phone.clone())
            .set("pair_timestamp", iso_or_null(when));
        if when.is_some() {
            r.event(TimelineEvent::new(
                when,
                "lid_pair_recorded",
                format!(
                    "WhatsApp associated LID {} with phone number {}",
                    py_str(&lid),
                    py_str(&phone)
                ),
            ));
        }
        if let (Some(l), Some(p)) = (non_empty(&lid), non_empty(&phone))
            && map.len() < MAX_LID_PAIRS
        {
            let lid_digits = l.split('@').next().unwrap_or_default().to_owned();
            let phone_digits = p
                .split('@')
                .next()
                .unwrap_or_default()
                .trim_start_matches('+')
                .to_owned();
            map.insert(lid_digits, phone_digits);
        }
        sink.record(r);
    });
    report_rows(sink, file, LID_TABLE, &read);
    map
}

/// A value as text if it is not null or empty (MVT's truthiness for identifiers).
fn non_empty(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) if s.is_empty() => None,
        other => Some(py_str(other)),
    }
}

fn sessions(
    db: &Database,
    file: &Arc<EvidenceFile>,
    lid_map: &BTreeMap<String, String>,
    sink: &mut dyn Sink,
) {
    let session = Columns::of(db, "ZWACHATSESSION");
    if !session.exists() {
        return;
    }
    let group = Columns::of(db, "ZWAGROUPINFO");
    let message = Columns::of(db, "ZWAMESSAGE");
    let group_joined = group.has("Z_PK") && session.has("ZGROUPINFO");
    let message_joined = message.has("ZCHATSESSION") && session.has("Z_PK");
    let mut select = vec![
        session.select("Z_PK", "session_pk"),
        session.select("ZCONTACTJID", "contact_jid"),
        session.select("ZPARTNERNAME", "partner_name"),
        session.select("ZSESSIONTYPE", "session_type"),
        session.select("ZARCHIVED", "archived"),
        session.select("ZREMOVED", "removed"),
        session.select("ZMESSAGECOUNTER", "message_counter"),
        session.select("ZLASTMESSAGEDATE", "last_message_date"),
    ];
    select.push(if group_joined {
        group.select("ZCREATIONDATE", "group_creation_date")
    } else {
        "NULL AS \"group_creation_date\"".into()
    });
    if message_joined && message.has("ZMESSAGEDATE") {
        select.push("MIN(ZWAMESSAGE.ZMESSAGEDATE) AS \"first_stored_message_date\"".into());
        select.push("MAX(ZWAMESSAGE.ZMESSAGEDATE) AS \"last_stored_message_date\"".into());
    } else {
        select.push("NULL AS \"first_stored_message_date\"".into());
        select.push("NULL AS \"last_stored_message_date\"".into());
    }
    select.push(if message_joined {
        "COUNT(ZWAMESSAGE.Z_PK) AS \"stored_message_count\"".into()
    } else {
        "0 AS \"stored_message_count\"".into()
    });
    let mut sql = format!("SELECT {} FROM ZWACHATSESSION", select.join(", "));
    if group_joined {
        sql.push_str(" LEFT JOIN ZWAGROUPINFO ON ZWACHATSESSION.ZGROUPINFO = ZWAGROUPINFO.Z_PK");
    }
    if message_joined {
        sql.push_str(
            " LEFT JOIN ZWAMESSAGE ON ZWAMESSAGE.ZCHATSESSION = ZWACHATSESSION.Z_PK \
             GROUP BY ZWACHATSESSION.Z_PK",
        );
    }
    const DATE_COLUMNS: [(usize, &str); 4] = [
        (7, "last_message_date"),
        (8, "group_creation_date"),
        (9, "first_stored_message_date"),
        (10, "last_stored_message_date"),
    ];
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let mut data = rows::object(row);
        data.insert("record_type".into(), Json::from("chat_session"));
        let jid = text_of(&data, "contact_jid").unwrap_or_default();
        let mut resolved = Json::Null;
        if jid.ends_with("@lid")
            && let Some(phone) = lid_map.get(jid.split('@').next().unwrap_or_default())
        {
            resolved = Json::String(format!("+{phone}"));
        }
        data.insert("partner_resolved_phone_number".into(), resolved);
        let mut dates: [Option<Timestamp>; 4] = [None; 4];
        for (slot, (idx, name)) in dates.iter_mut().zip(DATE_COLUMNS) {
            *slot = mac_time(row, idx);
            data.insert(name.to_owned(), iso_or_null(*slot));
        }
        let pk = data.get("session_pk").map(py_str).unwrap_or_default();
        let mut r = Record::new(Source::row(file, "ZWACHATSESSION", pk));
        let [last, created, first, last_stored] = dates;
        let chat = describe_chat(&data, &jid, created.is_some());
        if created.is_some() {
            r.event(TimelineEvent::new(
                created,
                "group_created",
                format!("{chat} was created"),
            ));
        }
        if first.is_some() {
            r.event(TimelineEvent::new(
                first,
                "chat_first_message",
                format!("First stored message in {chat}"),
            ));
        }
        // The session's own date wins: the newest stored message may have been deleted.
        if let Some(t) = last.or(last_stored) {
            r.event(TimelineEvent::new(
                Some(t),
                "chat_last_message",
                format!("Last message in {chat}"),
            ));
        }
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, file, "ZWACHATSESSION", &read);
}

/// `WhatsApp chat with 'Name' (+phone)` or `WhatsApp group chat 'Name' (jid@g.us)`.
fn describe_chat(data: &bridle_model::Map, jid: &str, has_group_date: bool) -> String {
    let jid = if jid.is_empty() { "unknown" } else { jid };
    let identifier = text_of(data, "partner_resolved_phone_number")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| jid.to_owned());
    let label = match text_of(data, "partner_name").filter(|s| !s.is_empty()) {
        Some(name) => format!("'{name}' ({identifier})"),
        None => identifier,
    };
    if jid.ends_with("@g.us") || has_group_date {
        format!("WhatsApp group chat {label}")
    } else {
        format!("WhatsApp chat with {label}")
    }
}
