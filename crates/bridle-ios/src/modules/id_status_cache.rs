//! The IDS status cache: the iMessage/FaceTime addresses the phone looked up, per app, and
//! when. Pegasus' zero-click exploits show up here as lookups of attacker accounts (MVT's
//! e-mail indicators) and as user ids with embedded NUL bytes.

use super::{found, unreadable};
use crate::{Ios, Locations, pyfmt};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::HashMap;

ios_module!(
    IdStatusCache,
    "id_status_cache",
    "IDStatusCache",
    "iMessage/FaceTime address lookups (IDS status cache)"
);

const LOCATIONS: Locations = Locations {
    backup: &[(
        "HomeDomain",
        "Library/Preferences/com.apple.identityservices.idstatuscache.plist",
    )],
    backup_like: &[],
    fs: &[
        "private/var/mobile/Library/Preferences/com.apple.identityservices.idstatuscache.plist",
        "private/var/mobile/Library/IdentityServices/idstatuscache.plist",
    ],
};

/// Most entries read from the cache.
pub const MAX_ENTRIES: usize = 1_000_000;

/// Two NUL bytes in a user id, as written after escaping: seen in Pegasus exploitation.
const NUL_PAIR: &str = "\\x00\\x00";

struct Entry {
    package: String,
    user: String,
    lookup: Option<Timestamp>,
    status: Json,
}

fn lookup_date(v: &plist::Value) -> Option<Timestamp> {
    match v {
        plist::Value::Date(d) => pyfmt::plist_date(*d),
        plist::Value::Integer(i) => i
            .as_signed()
            .filter(|t| *t != 0)
            .and_then(Timestamp::from_cocoa_int),
        other => plist_json::as_f64(other)
            .filter(|t| *t != 0.0)
            .and_then(pyfmt::mac_seconds),
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "IDS status cache")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (plist, file) = ios
        .read_plist(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let Some(apps) = plist.as_dictionary() else {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "the plist is not a dictionary".into(),
        });
    };
    // Every entry is read first: each record says how many times its user occurs in the
    // whole cache.
    let mut entries: Vec<Entry> = Vec::new();
    'apps: for (app, users) in apps {
        let Some(users) = users.as_dictionary() else {
            continue;
        };
        for (user, info) in users {
            if entries.len() >= MAX_ENTRIES {
                break 'apps;
            }
            let (Some(date), Some(status)) = (
                plist_json::get(info, "LookupDate"),
                plist_json::get(info, "IDStatus"),
            ) else {
                continue;
            };
            entries.push(Entry {
                package: app.clone(),
                user: user.replace('\0', "\\x00"),
                lookup: lookup_date(date),
                status: plist_json::to_json(status, Bytes::Escaped),
            });
        }
    }
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for e in &entries {
        *counts.entry(e.user.as_str()).or_default() += 1;
    }
    for e in &entries {
        let occurrences = counts.get(e.user.as_str()).copied().unwrap_or(1);
        let mut r = Record::new(Source {
            file: Some(std::sync::Arc::clone(&file)),
            table: Some(Cow::Owned(e.package.clone())),
            row: Some(e.user.clone()),
        });
        let mut data = Map::new();
        data.insert("package".into(), Json::from(e.package.as_str()));
        data.insert("user".into(), Json::from(e.user.as_str()));
        data.insert(
            "isodate".into(),
            Json::from(e.lookup.map(Timestamp::to_mvt).unwrap_or_default()),
        );
        data.insert("idstatus".into(), e.status.clone());
        data.insert("occurrences".into(), Json::from(occurrences));
        r.data = data;
        r.event(TimelineEvent::new(
            e.lookup,
            "lookup",
            format!(
                "Lookup of {} within {} (Status {})",
                e.user,
                e.package,
                pyfmt::value(&e.status)
            ),
        ));
        // `tel:` users are phone numbers, which no indicator type covers.
        if let Some(email) = e.user.strip_prefix("mailto:") {
            r.observe(Observable::new(
                ObservableKind::Email,
                email.trim_matches('\''),
                "user",
            ));
        }
        if e.user.contains(NUL_PAIR) {
            r.alert(Heuristic::new(
                Level::High,
                format!(
                    "Found an ID Status Cache entry with suspicious patterns: {}",
                    e.user
                ),
            ));
        }
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
