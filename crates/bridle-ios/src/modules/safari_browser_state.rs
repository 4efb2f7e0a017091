//! Safari's BrowserState.db (the default profile and every named profile): the open tabs,
//! and each tab's back/forward history from its session data.

use super::{found, report_rows};
use crate::{Ios, Located, Locations, pyfmt, rows};
use bridle_evidence::plist_json::{self, parse_plist};
use bridle_evidence::sqlite::{Database, for_each_row};
use bridle_model::{
    EvidenceFile, Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink,
    Source, TimelineEvent, Timestamp,
};
use serde_json::Value as Json;
use std::sync::Arc;

ios_module!(
    SafariBrowserState,
    "safari_browser_state",
    "SafariBrowserState",
    "Safari open tabs and their session history (all profiles)"
);

const LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[
        "Library/Safari/BrowserState.db",
        "Library/Safari/Profiles/*/BrowserState.db",
    ],
    fs: &[
        "private/var/mobile/Library/Safari/BrowserState.db",
        "private/var/mobile/Library/Safari/Profiles/*/BrowserState.db",
        "private/var/mobile/Containers/Data/Application/*/Library/Safari/BrowserState.db",
        "private/var/mobile/Containers/Data/Application/*/Library/Safari/Profiles/*/BrowserState.db",
    ],
};

/// Session data starts with a 4-byte header before the plist.
const SESSION_HEADER: usize = 4;
/// Most session history entries kept per tab.
pub const MAX_SESSION_ENTRIES: usize = 10_000;

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = match found::all(ios, &LOCATIONS, "Safari BrowserState.db")? {
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
        if !db.has_table("tabs") {
            tally.unusable(sink, located, "no `tabs` table");
            continue;
        }
        tally.ok();
        read_db(&db, &file, located, sink);
    }
    tally.finish()
}

fn read_db(db: &Database, file: &Arc<EvidenceFile>, located: &Located, sink: &mut dyn Sink) {
    let col = |c: &str| {
        if db.has_column("tabs", c) {
            format!("tabs.{c}")
        } else {
            "NULL".to_owned()
        }
    };
    let (title, url, visible, viewed) = (
        col("title"),
        col("url"),
        col("user_visible_url"),
        col("last_viewed_time"),
    );
    // Since iOS 12 the session data is in `tab_sessions`; before, in `tabs` itself.
    let sql = if db.has_table("tab_sessions")
        && db.has_column("tab_sessions", "session_data")
        && db.has_column("tabs", "uuid")
    {
        format!(
            "SELECT {title}, {url}, {visible}, {viewed}, tab_sessions.session_data, tabs.rowid \
             FROM tabs JOIN tab_sessions ON tabs.uuid = tab_sessions.tab_uuid \
             ORDER BY {viewed}"
        )
    } else {
        format!(
            "SELECT {title}, {url}, {visible}, {viewed}, {}, tabs.rowid FROM tabs ORDER BY {viewed}",
            col("session_data")
        )
    };
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let tab_title = rows::text(row, 0);
        let tab_url = rows::text(row, 1);
        let visible_url = rows::text(row, 2);
        let viewed = rows::real(row, 3)
            .filter(|t| *t != 0.0)
            .and_then(pyfmt::mac_seconds);
        let entries = rows::bytes(row, 4)
            .map(|b| session_entries(&b))
            .unwrap_or_default();
        let mut r = Record::new(Source::row(
            file,
            "tabs",
            rows::int(row, 5).unwrap_or_default(),
        ));
        r.event(TimelineEvent::new(
            viewed,
            "tab",
            format!(
                "{} - {}",
                pyfmt::opt(tab_title.as_deref()),
                pyfmt::opt(tab_url.as_deref())
            ),
        ));
        let mut urls: Vec<(&'static str, String)> = Vec::new();
        urls.extend(tab_url.clone().map(|u| ("tab_url", u)));
        urls.extend(visible_url.clone().map(|u| ("tab_visible_url", u)));
        for e in &entries {
            for key in ["entry_url", "entry_title"] {
                if let Some(Json::String(u)) = e.get(key) {
                    urls.push(("session_data", u.clone()));
                }
            }
        }
        let mut seen: Vec<String> = Vec::new();
        for (field, u) in urls {
            if !seen.contains(&u) {
                r.observe(Observable::new(ObservableKind::Url, u.as_str(), field));
                seen.push(u);
            }
        }
        let opt = |s: Option<String>| s.map_or(Json::Null, Json::from);
        r.set("tab_title", opt(tab_title))
            .set("tab_url", opt(tab_url))
            .set("tab_visible_url", opt(visible_url))
            .set(
                "last_viewed_timestamp",
                viewed.map(Timestamp::to_mvt).unwrap_or_default(),
            )
            .set(
                "session_data",
                Json::Array(entries.into_iter().map(Json::Object).collect()),
            )
            .set("safari_browser_state_db", located.stored.as_str());
        sink.record(r);
    });
    report_rows(sink, file, "tabs", &read);
}

/// The back/forward list of a tab: `SessionHistory.SessionHistoryEntries` of the plist after
/// the header. `entry_title` holds the entry's *original URL*, as in MVT's output (its key
/// name is kept so that scripts reading MVT's JSON keep working). Unreadable data gives no
/// entries, as in MVT.
fn session_entries(blob: &[u8]) -> Vec<Map> {
    let Some(body) = blob.get(SESSION_HEADER..) else {
        return Vec::new();
    };
    let Ok(plist) = parse_plist(body) else {
        return Vec::new();
    };
    let Some(list) = plist_json::get(&plist, "SessionHistory")
        .and_then(|h| plist_json::get(h, "SessionHistoryEntries"))
        .and_then(plist::Value::as_array)
    else {
        return Vec::new();
    };
    let text = |e: &plist::Value, k: &str| match plist_json::get(e, k) {
        Some(plist::Value::String(s)) => Json::from(s.as_str()),
        Some(other) => plist_json::to_json(other, plist_json::Bytes::Escaped),
        None => Json::Null,
    };
    list.iter()
        .take(MAX_SESSION_ENTRIES)
        .filter(|e| e.as_dictionary().is_some())
        .map(|e| {
            let length = match plist_json::get(e, "SessionHistoryEntryData") {
                Some(plist::Value::Data(d)) => d.len(),
                Some(plist::Value::String(s)) => s.chars().count(),
                Some(plist::Value::Array(a)) => a.len(),
                Some(plist::Value::Dictionary(d)) => d.len(),
                _ => 0,
            };
            let mut m = Map::new();
            m.insert(
                "entry_title".into(),
                text(e, "SessionHistoryEntryOriginalURL"),
            );
            m.insert("entry_url".into(), text(e, "SessionHistoryEntryURL"));
            m.insert("data_length".into(), Json::from(length));
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session_blob(entries: Vec<plist::Value>) -> Vec<u8> {
        let mut hist = plist::Dictionary::new();
        hist.insert("SessionHistoryEntries".into(), plist::Value::Array(entries));
        let mut top = plist::Dictionary::new();
        top.insert("SessionHistory".into(), plist::Value::Dictionary(hist));
        let mut out = vec![0, 0, 0, 1];
        plist::Value::Dictionary(top)
            .to_writer_binary(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn session_entries_after_the_header() {
        let mut e = plist::Dictionary::new();
        e.insert(
            "SessionHistoryEntryURL".into(),
            plist::Value::String("https://a.example/x".into()),
        );
        e.insert(
            "SessionHistoryEntryOriginalURL".into(),
            plist::Value::String("http://a.example/".into()),
        );
        e.insert(
            "SessionHistoryEntryData".into(),
            plist::Value::Data(vec![1; 7]),
        );
        let blob = session_blob(vec![
            plist::Value::Dictionary(e),
            plist::Value::Boolean(true),
        ]);
        let got = session_entries(&blob);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0]["entry_url"], "https://a.example/x");
        assert_eq!(got[0]["entry_title"], "http://a.example/");
        assert_eq!(got[0]["data_length"], 7);
        // Truncated, garbage, too short: no entries, no panic.
        assert!(session_entries(&blob[..blob.len() / 2]).is_empty());
        assert!(session_entries(b"\x00\x01").is_empty());
        assert!(session_entries(b"abcdgarbage").is_empty());
    }
}
