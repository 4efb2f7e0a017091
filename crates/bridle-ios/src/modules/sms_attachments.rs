//! sms.db attachments: every file sent or received over SMS/iMessage, with the message's
//! service and sender.
//!
//! A received attachment stored as `/var/tmp/...-1` is how some iMessage zero-click exploits
//! (FORCEDENTRY) landed their payload; MVT flags it MEDIUM, and so does this module, always.

use super::coredata::{Columns, iso, mac_time, py_str, text_of};
use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent,
};
use serde_json::Value as Json;

ios_module!(
    SmsAttachments,
    "sms_attachments",
    "SMSAttachments",
    "Files sent and received over SMS and iMessage (sms.db attachments)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/SMS/sms.db")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/SMS/sms.db"],
};

/// Binary columns MVT writes base64-encoded.
const BASE64_COLUMNS: [&str; 5] = [
    "user_info",
    "sticker_user_info",
    "attribution_info",
    "ck_server_change_token_blob",
    "sr_ck_server_change_token_blob",
];

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
    if !db.has_table("attachment") {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no `attachment` table",
            located.logical
        )));
    }
    let join = Columns::of(&db, "message_attachment_join");
    let message = Columns::of(&db, "message");
    let handle = Columns::of(&db, "handle");
    let join_ok = join.has("attachment_id") && join.has("message_id") && message.exists();
    let handle_ok = join_ok && message.has("handle_id") && handle.exists();
    let mut sql = format!(
        "SELECT attachment.ROWID AS \"attachment_id\", attachment.*, {}, {} FROM attachment",
        if join_ok {
            message.select("service", "service")
        } else {
            "NULL AS \"service\"".into()
        },
        if handle_ok {
            handle.select("id", "phone_number")
        } else {
            "NULL AS \"phone_number\"".into()
        },
    );
    if join_ok {
        sql.push_str(
            " LEFT JOIN message_attachment_join \
             ON message_attachment_join.attachment_id = attachment.ROWID \
             LEFT JOIN message ON message.ROWID = message_attachment_join.message_id",
        );
    }
    if handle_ok {
        sql.push_str(" LEFT JOIN handle ON handle.ROWID = message.handle_id");
    }
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let mut data = rows::object(row);
        let stmt = row.as_ref();
        for col in BASE64_COLUMNS {
            if let Ok(idx) = stmt.column_index(col)
                && matches!(rows::bytes(row, idx), Some(b) if !b.is_empty())
            {
                data.insert(col.to_owned(), rows::base64(row, idx));
            }
        }
        let time = |name: &str| stmt.column_index(name).ok().and_then(|i| mac_time(row, i));
        let created = time("created_date");
        let started = time("start_date");
        data.insert("isodate".into(), Json::String(iso(created)));
        data.insert("start_date".into(), Json::String(iso(started)));
        let outgoing = data.get("is_outgoing").and_then(Json::as_i64) == Some(1);
        let direction = if outgoing { "sent" } else { "received" };
        data.insert("direction".into(), Json::from(direction));
        let has_user_info = !matches!(data.get("user_info"), None | Some(Json::Null));
        data.insert("has_user_info".into(), Json::Bool(has_user_info));
        let service = text_of(&data, "service")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "Unknown".into());
        data.insert("service".into(), Json::from(service.as_str()));
        let filename = text_of(&data, "filename").filter(|s| !s.is_empty());
        data.insert(
            "filename".into(),
            Json::from(filename.as_deref().unwrap_or("NULL")),
        );

        let pk = data.get("attachment_id").map(py_str).unwrap_or_default();
        let mut r = Record::new(Source::row(&file, "attachment", pk));
        let field = |k: &str| data.get(k).map_or_else(|| "None".into(), py_str);
        r.event(TimelineEvent::new(
            created,
            "sms_attachment",
            format!(
                "{service}: Attachment '{}' {direction} from {} with {} bytes (is_sticker: {}, has_user_info: {})",
                field("transfer_name"),
                field("phone_number"),
                field("total_bytes"),
                field("is_sticker"),
                if has_user_info { "True" } else { "False" },
            ),
        ));
        if let Some(name) = &filename {
            if name.starts_with("/var/tmp/") && name.ends_with("-1") && !outgoing {
                r.alert(
                    Heuristic::new(
                        Level::Medium,
                        format!("Suspicious iMessage attachment {name} on {}", iso(created)),
                    )
                    .at(created),
                );
            }
            r.observe(
                Observable::new(ObservableKind::FilePath, name.as_str(), "filename")
                    .with_level(Level::High),
            );
        }
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, &file, "attachment", &read);
    Ok(ModuleOutcome::Done)
}
