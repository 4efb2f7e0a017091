//! locationd's `clients.plist`: every app and system service that asked for the device's
//! location, with the bundle path or executable behind it and when it last did.

use super::{found, unreadable};
use crate::{Ios, Locations};
use base64::Engine;
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::borrow::Cow;

ios_module!(
    LocationdClients,
    "locationd_clients",
    "LocationdClients",
    "Apps and services that used location (locationd clients.plist)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("RootDomain", "Library/Caches/locationd/clients.plist")],
    backup_like: &[],
    fs: &[
        "private/var/mobile/Library/Caches/locationd/clients.plist",
        "private/var/root/Library/Caches/locationd/clients.plist",
    ],
};

/// The keys holding a Mac absolute time, each a timeline event.
pub const TIMESTAMPS: [&str; 9] = [
    "ConsumptionPeriodBegin",
    "ReceivingLocationInformationTimeStopped",
    "VisitTimeStopped",
    "LocationTimeStopped",
    "BackgroundLocationTimeStopped",
    "SignificantTimeStopped",
    "NonPersistentSignificantTimeStopped",
    "FenceTimeStopped",
    "BeaconRegionTimeStopped",
];

fn mac(v: &plist::Value) -> Option<Timestamp> {
    match v {
        plist::Value::Date(d) => crate::pyfmt::plist_date(*d),
        plist::Value::Integer(i) => i
            .as_signed()
            .filter(|t| *t != 0)
            .and_then(Timestamp::from_cocoa_int),
        other => plist_json::as_f64(other)
            .filter(|t| *t != 0.0)
            .and_then(crate::pyfmt::mac_seconds),
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "locationd clients.plist")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (plist, file) = ios
        .read_plist(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let Some(clients) = plist.as_dictionary() else {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "the plist is not a dictionary".into(),
        });
    };
    for (key, value) in clients {
        // Some entries are migration counters, not clients.
        let Some(entry) = value.as_dictionary() else {
            continue;
        };
        let package = key.trim_end_matches(':').to_owned();
        let mut data = Map::new();
        let mut times: Vec<(&'static str, Option<Timestamp>)> = Vec::new();
        for (k, v) in entry {
            let json = if let Some(name) = TIMESTAMPS.iter().find(|t| **t == k) {
                let t = mac(v);
                times.push((name, t));
                Json::from(t.map(Timestamp::to_mvt).unwrap_or_default())
            } else if k == "ClientStorageToken" {
                match v {
                    plist::Value::Data(d) => {
                        Json::from(base64::engine::general_purpose::STANDARD.encode(d))
                    }
                    other => plist_json::to_json(other, Bytes::Base64),
                }
            } else {
                plist_json::to_json(v, Bytes::Escaped)
            };
            data.insert(k.clone(), json);
        }
        data.insert("package".into(), Json::from(package.as_str()));

        let mut r = Record::new(Source {
            file: Some(std::sync::Arc::clone(&file)),
            table: Some(Cow::Borrowed("clients")),
            row: Some(key.clone()),
        });
        // Events in MVT's order of the keys, not the plist's.
        for name in TIMESTAMPS {
            if let Some((_, t)) = times.iter().find(|(n, _)| *n == name) {
                r.event(TimelineEvent::new(
                    *t,
                    name,
                    format!("{name} from {package}"),
                ));
            }
        }
        let high =
            |kind, value: &str, field| Observable::new(kind, value, field).with_level(Level::High);
        let last = package.rsplit('/').next().unwrap_or_default();
        r.observe(high(ObservableKind::Process, last, "package"));
        if !package.contains('/') {
            r.observe(high(ObservableKind::AppId, &package, "package"));
        }
        let text = |k: &str| match entry.get(k) {
            Some(plist::Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        if let Some(bundle) = text("BundleId") {
            r.observe(high(ObservableKind::Process, bundle, "BundleId"));
            r.observe(high(ObservableKind::AppId, bundle, "BundleId"));
        }
        for field in ["BundlePath", "Executable", "Registered"] {
            // `Registered` is sometimes a boolean: only paths are checked.
            if let Some(path) = text(field) {
                r.observe(high(ObservableKind::FilePath, path, field));
            }
        }
        r.data = data;
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
