//! WebKit's ResourceLoadStatistics `observations.db`, one per app that embeds WebKit: every
//! site (registrable domain) that loaded resources, even in apps that keep no history.

use super::{found, report_rows};
use crate::{Ios, Located, Locations, pyfmt, rows};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    EvidenceFile, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source,
    TimelineEvent, Timestamp,
};
use std::sync::Arc;

ios_module!(
    WebkitResourceLoadStatistics,
    "webkit_resource_load_statistics",
    "WebkitResourceLoadStatistics",
    "Sites seen by WebKit in every app (ResourceLoadStatistics observations.db)"
);

/// The relative path of the store in every app's container (MVT queries it in any domain).
const RELATIVE_PATH: &str = "Library/WebKit/WebsiteData/ResourceLoadStatistics/observations.db";

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[RELATIVE_PATH],
    fs: &[
        "private/var/mobile/Containers/Data/Application/*/Library/WebKit/WebsiteData/ResourceLoadStatistics/observations.db",
        "private/var/mobile/Containers/Data/Application/*/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData/observations.db",
    ],
};

const REQUIRED: [&str; 4] = [
    "domainID",
    "registrableDomain",
    "lastSeen",
    "hadUserInteraction",
];
/// Columns newer WebKit adds, with the record key MVT gives them.
const OPTIONAL: [(&str, &str); 2] = [
    (
        "mostRecentUserInteractionTime",
        "most_recent_user_interaction_time",
    ),
    (
        "mostRecentWebPushInteractionTime",
        "most_recent_web_push_interaction_time",
    ),
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = match found::all(ios, &LOCATIONS, "WebKit observations.db")? {
        Ok(f) => f,
        Err(outcome) => return Ok(outcome),
    };
    let mut tally = found::Tally::default();
    for located in &files {
        let (db, file) = match ios.open_db(located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        let missing: Vec<&str> = REQUIRED
            .into_iter()
            .filter(|c| !db.has_column("ObservedDomains", c))
            .collect();
        if !missing.is_empty() {
            tally.unusable(
                sink,
                located,
                &format!(
                    "table ObservedDomains missing or without column(s) {}",
                    missing.join(", ")
                ),
            );
            continue;
        }
        tally.ok();
        read_db(&db, &file, located, sink);
    }
    tally.finish()
}

/// Unix seconds as WebKit stores them; 0 and unreadable values are no date.
fn unix(v: Option<f64>) -> Option<Timestamp> {
    v.filter(|t| *t != 0.0).and_then(pyfmt::unix_seconds)
}

fn read_db(db: &Database, file: &Arc<EvidenceFile>, located: &Located, sink: &mut dyn Sink) {
    let optional: Vec<(&str, &str)> = OPTIONAL
        .into_iter()
        .filter(|(c, _)| db.has_column("ObservedDomains", c))
        .collect();
    let mut cols: Vec<&str> = REQUIRED.to_vec();
    cols.extend(optional.iter().map(|(c, _)| *c));
    let sql = format!("SELECT {} FROM ObservedDomains", cols.join(", "));
    let domain = located.domain.clone().unwrap_or_default();
    let path = located
        .relative_path
        .clone()
        .unwrap_or_else(|| located.stored.clone());
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let domain_id = rows::json(row, 0);
        let registrable = rows::text(row, 1).unwrap_or_default();
        let last_seen = unix(rows::real(row, 2));
        let mut r = Record::new(Source::row(
            file,
            "ObservedDomains",
            pyfmt::value(&domain_id),
        ));
        r.set("domain_id", domain_id)
            .set("registrable_domain", registrable.as_str())
            .set("last_seen", rows::json(row, 2))
            .set("had_user_interaction", pyfmt::truthy(&rows::json(row, 3)))
            .set(
                "last_seen_isodate",
                last_seen.map(Timestamp::to_mvt).unwrap_or_default(),
            )
            .set("domain", domain.as_str())
            .set("path", path.as_str());
        for (i, (_, key)) in optional.iter().enumerate() {
            let idx = REQUIRED.len() + i;
            let v = rows::json(row, idx);
            let t = rows::real(row, idx);
            r.set(key, v);
            // -1 means "never"; MVT adds a date only for non-negative values.
            if t.is_some_and(|t| t >= 0.0) {
                r.set(
                    &format!("{key}_isodate"),
                    unix(t).map(Timestamp::to_mvt).unwrap_or_default(),
                );
            }
        }
        let mut description = format!("Webkit resource loaded from {registrable}");
        if !domain.is_empty() {
            description.push_str(&format!(" by app in domain {domain}"));
        }
        r.event(TimelineEvent::new(last_seen, "visit", description));
        r.observe(Observable::new(
            ObservableKind::Domain,
            registrable.as_str(),
            "registrable_domain",
        ));
        sink.record(r);
    });
    report_rows(sink, file, "ObservedDomains", &read);
}
