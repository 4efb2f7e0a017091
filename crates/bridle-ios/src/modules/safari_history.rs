//! Safari's History.db (the default profile and every named profile): each page visit, and
//! MVT's check for network injection: an `http://` visit redirected to another site in less
//! than a second (MEDIUM), as a man-in-the-middle injecting a redirect would cause.

use super::{found, report_rows};
use crate::{Ios, Located, Locations, pyfmt, rows};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    EvidenceFile, Heuristic, Level, ModuleError, ModuleOutcome, Observable, ObservableKind, Record,
    Sink, Source, TimelineEvent, Timestamp,
};
use rusqlite::OptionalExtension;
use serde_json::Value as Json;
use std::sync::Arc;

ios_module!(
    SafariHistory,
    "safari_history",
    "SafariHistory",
    "Safari browsing history (all profiles), with fast cross-site redirects of http visits"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[
        "Library/Safari/History.db",
        "Library/Safari/Profiles/*/History.db",
    ],
    fs: &[
        "private/var/mobile/Library/Safari/History.db",
        "private/var/mobile/Library/Safari/Profiles/*/History.db",
        "private/var/mobile/Containers/Data/Application/*/Library/Safari/History.db",
        "private/var/mobile/Containers/Data/Application/*/Library/Safari/Profiles/*/History.db",
    ],
};

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = match found::all(ios, &LOCATIONS, "Safari History.db")? {
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
        if !db.has_table("history_items") || !db.has_table("history_visits") {
            tally.unusable(
                sink,
                located,
                "no `history_items` and `history_visits` tables",
            );
            continue;
        }
        tally.ok();
        read_db(&db, &file, located, sink);
    }
    tally.finish()
}

/// The site of a URL for the redirect check: the host in lower case without a leading
/// `www.`, with an explicit port; "" when the URL does not parse.
fn site(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return String::new();
    };
    let host = u.host_str().unwrap_or_default().to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    match u.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    }
}

fn mac(v: Option<f64>) -> Option<Timestamp> {
    v.filter(|t| *t != 0.0).and_then(pyfmt::mac_seconds)
}

fn read_db(db: &Database, file: &Arc<EvidenceFile>, located: &Located, sink: &mut dyn Sink) {
    let col = |c: &str| {
        if db.has_column("history_visits", c) {
            format!("history_visits.{c}")
        } else {
            "NULL".to_owned()
        }
    };
    let time = col("visit_time");
    let sql = format!(
        "SELECT history_items.id, history_items.url, history_visits.id, {time}, {}, {} \
         FROM history_items JOIN history_visits ON history_visits.history_item = history_items.id \
         ORDER BY {time}",
        col("redirect_source"),
        col("redirect_destination"),
    );
    // The destination of a redirect, looked up by visit id in the same database (visit ids
    // are local to a database). Only http visits with a destination need it, so a keyed
    // lookup per such visit keeps the main query a plain stream.
    let mut lookup = db
        .conn()
        .prepare(
            "SELECT history_items.url, history_visits.visit_time FROM history_visits \
             JOIN history_items ON history_items.id = history_visits.history_item \
             WHERE history_visits.id = ?1",
        )
        .ok();
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let id = rows::json(row, 0);
        let url = rows::text(row, 1).unwrap_or_default();
        let visit_id = rows::json(row, 2);
        let raw_time = rows::json(row, 3);
        let time = mac(rows::real(row, 3));
        let destination = rows::json(row, 5);
        let mut r = Record::new(Source::row(file, "history_visits", pyfmt::value(&visit_id)));
        r.event(TimelineEvent::new(
            time,
            "safari_history",
            format!(
                "Safari visit to {url} (ID: {}, Visit ID: {})",
                pyfmt::value(&id),
                pyfmt::value(&visit_id)
            ),
        ));
        if url.to_ascii_lowercase().starts_with("http://")
            && pyfmt::truthy(&destination)
            && let Some(stmt) = lookup.as_mut()
        {
            let dest: Option<(Option<String>, Option<f64>)> = stmt
                .query_row([&destination_param(&destination)], |d| {
                    Ok((rows::text(d, 0), rows::real(d, 1)))
                })
                .optional()
                .ok()
                .flatten();
            if let Some((dest_url, dest_time)) = dest
                && let Some(h) =
                    fast_redirect(&url, time, &dest_url.unwrap_or_default(), mac(dest_time))
            {
                r.alert(h);
            }
        }
        r.observe(Observable::new(ObservableKind::Url, url.as_str(), "url"));
        // Written straight to JSON: History.db is one of the largest tables of a phone.
        let mut o = rows::JsonObject::with_capacity(256);
        o.value("id", &id)
            .str("url", &url)
            .value("visit_id", &visit_id)
            .value("timestamp", &raw_time)
            .str("isodate", &time.map(Timestamp::to_mvt).unwrap_or_default())
            .column("redirect_source", row, 4)
            .value("redirect_destination", &destination)
            .str("safari_history_db", &located.stored);
        r.raw = Some(o.finish());
        sink.record(r);
    });
    report_rows(sink, file, "history_visits", &read);
}

/// A visit id as a query parameter, keeping its SQLite type (an id stored as text must still
/// find its row).
fn destination_param(v: &Json) -> rusqlite::types::Value {
    match v {
        Json::Number(n) => n.as_i64().map_or_else(
            || rusqlite::types::Value::Real(n.as_f64().unwrap_or_default()),
            rusqlite::types::Value::Integer,
        ),
        Json::String(s) => rusqlite::types::Value::Text(s.clone()),
        _ => rusqlite::types::Value::Null,
    }
}

/// MVT's injection check: an http visit redirected to a different site within a second.
fn fast_redirect(
    origin: &str,
    origin_time: Option<Timestamp>,
    destination: &str,
    destination_time: Option<Timestamp>,
) -> Option<Heuristic> {
    if site(origin) == site(destination) {
        // Same site: most likely an upgrade to https.
        return None;
    }
    let elapsed = destination_time?
        .unix_micros()
        .checked_sub(origin_time?.unix_micros())?;
    if !(0..1_000_000).contains(&elapsed) {
        return None;
    }
    #[allow(clippy::cast_precision_loss)]
    let ms = elapsed as f64 / 1000.0;
    Some(
        Heuristic::new(
            Level::Medium,
            format!(
                "Redirect took less than a second! ({} milliseconds)",
                pyfmt::float(ms)
            ),
        )
        .at(origin_time),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_compare_hosts() {
        assert_eq!(site("http://WWW.Example.com/a"), "example.com");
        assert_eq!(site("https://example.com:8443/"), "example.com:8443");
        assert_eq!(site("not a url"), "");
    }

    #[test]
    fn fast_cross_site_redirect_only() {
        let t0 = Timestamp::from_unix_seconds(1_700_000_000);
        let t = |us: i64| Timestamp::from_unix_micros(1_700_000_000_000_000 + us);
        let h = fast_redirect("http://a.com/", t0, "https://b.com/", t(250_500)).unwrap();
        assert_eq!(
            h.message,
            "Redirect took less than a second! (250.5 milliseconds)"
        );
        assert_eq!(h.level, Level::Medium);
        assert!(fast_redirect("http://a.com/", t0, "https://a.com/", t(1)).is_none());
        assert!(fast_redirect("http://a.com/", t0, "https://b.com/", t(1_000_000)).is_none());
        assert!(fast_redirect("http://a.com/", t0, "https://b.com/", t(-1)).is_none());
        // A redirect a day later is not fast (MVT compares only the seconds field).
        assert!(fast_redirect("http://a.com/", t0, "https://b.com/", t(86_400_000_100)).is_none());
        assert!(fast_redirect("http://a.com/", None, "https://b.com/", t(1)).is_none());
    }
}
