//! TCC.db: which apps were granted which privacy permissions (camera, microphone, location...).

use super::{report_rows, unreadable};
use crate::{Ios, Locations, rows};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};

ios_module!(
    Tcc,
    "tcc",
    "TCC",
    "Privacy permissions granted to apps and processes (TCC.db)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/TCC/TCC.db")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/TCC/TCC.db"],
};

fn auth_value(v: Option<i64>) -> &'static str {
    match v {
        Some(0) => "denied",
        Some(1) => "unknown",
        Some(2) => "allowed",
        Some(3) => "limited",
        _ => "",
    }
}

fn auth_reason(v: Option<i64>) -> &'static str {
    match v {
        Some(1) => "error",
        Some(2) => "user_consent",
        Some(3) => "user_set",
        Some(4) => "system_set",
        Some(5) => "service_policy",
        Some(6) => "mdm_policy",
        Some(7) => "override_policy",
        Some(8) => "missing_usage_string",
        Some(9) => "prompt_timeout",
        Some(10) => "preflight_unknown",
        Some(11) => "entitled",
        Some(12) => "app_type_policy",
        _ => "unknown",
    }
}

fn allowed_old(v: Option<i64>) -> &'static str {
    match v {
        Some(0) => "denied",
        Some(1) => "allowed",
        _ => "",
    }
}

/// The three schemas TCC.db has had: v3 (iOS 14+, auth_value/auth_reason), v2 (allowed,
/// prompt_count, last_modified), v1 (no last_modified).
#[derive(Clone, Copy, PartialEq)]
enum Schema {
    V3,
    V2,
    V1,
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("TCC.db", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no TCC.db".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if !db.has_table("access") {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "no `access` table".into(),
        });
    }
    let schema = if db.has_column("access", "auth_value") {
        Schema::V3
    } else if db.has_column("access", "last_modified") {
        Schema::V2
    } else {
        Schema::V1
    };
    let sql = match schema {
        Schema::V3 => {
            "SELECT service, client, client_type, auth_value, auth_reason, last_modified, rowid FROM access"
        }
        Schema::V2 => {
            "SELECT service, client, client_type, allowed, prompt_count, last_modified, rowid FROM access"
        }
        Schema::V1 => {
            "SELECT service, client, client_type, allowed, prompt_count, NULL, rowid FROM access"
        }
    };
    let read = for_each_row(db.conn(), sql, [], |row| {
        let service = rows::text(row, 0).unwrap_or_default();
        let client = rows::text(row, 1).unwrap_or_default();
        let client_type = rows::int(row, 2);
        let mut r = Record::new(Source::row(
            &file,
            "access",
            rows::int(row, 6).unwrap_or_default(),
        ));
        r.set("service", service.as_str())
            .set("client", client.as_str())
            .set(
                "client_type",
                if client_type == Some(0) {
                    "bundle_id"
                } else {
                    "absolute_path"
                },
            );
        let value_desc;
        match schema {
            Schema::V3 => {
                value_desc = auth_value(rows::int(row, 3));
                r.set("auth_value", value_desc)
                    .set("auth_reason_desc", auth_reason(rows::int(row, 4)));
            }
            Schema::V2 | Schema::V1 => {
                value_desc = allowed_old(rows::int(row, 3));
                r.set("allowed_value", value_desc)
                    .set("prompt_count", rows::json(row, 4));
            }
        }
        if schema != Schema::V1 {
            let modified = rows::real(row, 5).and_then(Timestamp::from_unix_seconds_f64);
            r.set(
                "last_modified",
                modified.map(Timestamp::to_mvt).unwrap_or_default(),
            );
            r.event(TimelineEvent::new(
                modified,
                "AccessRequest",
                format!("Access to {service} by {client} {value_desc}"),
            ));
        }
        r.observe(Observable::new(
            ObservableKind::Process,
            client.as_str(),
            "client",
        ));
        if client_type == Some(0) {
            r.observe(Observable::new(
                ObservableKind::AppId,
                client.as_str(),
                "client",
            ));
        }
        sink.record(r);
    });
    report_rows(sink, &file, "access", &read);
    Ok(ModuleOutcome::Done)
}
