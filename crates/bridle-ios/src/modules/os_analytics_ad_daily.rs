//! `com.apple.osanalytics.addaily.plist`: a daily network-use baseline per process, which
//! keeps the names of processes that no longer run.

use super::{found, unreadable};
use crate::{Ios, Locations, pyfmt};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source, TimelineEvent,
    Timestamp,
};
use serde_json::Value as Json;

ios_module!(
    OsAnalyticsAdDaily,
    "os_analytics_ad_daily",
    "OSAnalyticsADDaily",
    "Network use baseline per process (com.apple.osanalytics.addaily.plist)"
);

const LOCATIONS: Locations = Locations {
    backup: &[(
        "HomeDomain",
        "Library/Preferences/com.apple.osanalytics.addaily.plist",
    )],
    backup_like: &[],
    fs: &["private/var/mobile/Library/Preferences/com.apple.osanalytics.addaily.plist"],
};

/// The record keys of the values after the date, in the plist's order.
const COUNTERS: [&str; 4] = ["wifi_in", "wifi_out", "wwan_in", "wwan_out"];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let located = match found::first(ios, &LOCATIONS, "osanalytics addaily plist")? {
        Ok(l) => l,
        Err(outcome) => return Ok(outcome),
    };
    let (plist, file) = ios
        .read_plist(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    if plist.as_dictionary().is_none() {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "the plist is not a dictionary".into(),
        });
    }
    let Some(baseline) =
        plist_json::get(&plist, "netUsageBaseline").and_then(plist::Value::as_dictionary)
    else {
        return Ok(ModuleOutcome::Done);
    };
    for (package, values) in baseline {
        let values = values.as_array().map(Vec::as_slice).unwrap_or_default();
        let ts = match values.first() {
            Some(plist::Value::Date(d)) => pyfmt::plist_date(*d),
            _ => None,
        };
        let mut r = Record::new(Source::row(&file, "netUsageBaseline", package));
        r.set("package", package.as_str())
            .set("ts", ts.map(Timestamp::to_mvt).unwrap_or_default());
        let mut counters = Vec::with_capacity(COUNTERS.len());
        for (i, key) in COUNTERS.iter().enumerate() {
            let v = values
                .get(i + 1)
                .map_or(Json::Null, |v| plist_json::to_json(v, Bytes::Escaped));
            counters.push(pyfmt::value(&v));
            r.set(key, v);
        }
        let c = |i: usize| counters.get(i).map_or("None", String::as_str);
        r.event(TimelineEvent::new(
            ts,
            "osanalytics_addaily",
            format!(
                "{package} WIFI IN: {}, WIFI OUT: {} - WWAN IN: {}, WWAN OUT: {}",
                c(0),
                c(1),
                c(2),
                c(3)
            ),
        ));
        r.observe(Observable::new(
            ObservableKind::Process,
            package.as_str(),
            "package",
        ));
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
