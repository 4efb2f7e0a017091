//! WebKit's `full_browsing_session_resourceLog.plist`: per site, the sites that redirected to
//! it, the sites it redirected to, and the frames and resources it loaded.
//!
//! MVT raises HIGH "Found HTTP redirect between suspicious domains" next to an indicator
//! match on the entry. That only means something with a match, which the engine makes, so
//! instead each record carries its redirect chain (`redirect_chain`, in MVT's wording) and an
//! observable for every site it names; the matcher's alert points at the record.

use super::found;
use crate::{Ios, Locations};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{ModuleError, ModuleOutcome, Observable, ObservableKind, Record, Sink, Source};
use serde_json::Value as Json;
use std::borrow::Cow;

ios_module!(
    WebkitSessionResourceLog,
    "webkit_session_resource_log",
    "WebkitSessionResourceLog",
    "WebKit browsing session resource logs: redirects, frames and resources per site"
);

const RELATIVE_PATH: &str =
    "Library/WebKit/WebsiteData/ResourceLoadStatistics/full_browsing_session_resourceLog.plist";

const LOCATIONS: Locations = Locations {
    backup: &[("AppDomain-com.apple.mobilesafari", RELATIVE_PATH)],
    backup_like: &[RELATIVE_PATH],
    fs: &[
        "private/var/mobile/Containers/Data/Application/*/SystemData/com.apple.SafariViewService/Library/WebKit/WebsiteData/full_browsing_session_resourceLog.plist",
        "private/var/mobile/Containers/Data/Application/*/Library/WebKit/WebsiteData/ResourceLoadStatistics/full_browsing_session_resourceLog.plist",
        "private/var/mobile/Library/WebClips/*/Storage/full_browsing_session_resourceLog.plist",
    ],
};

/// Most entries read from one log.
pub const MAX_ENTRIES: usize = 1_000_000;
/// Most sites taken from one list of one entry.
pub const MAX_SITES_PER_LIST: usize = 10_000;

/// The lists of an entry: (plist key, record key).
const LISTS: [(&str, &str); 4] = [
    ("topFrameUniqueRedirectsFrom", "redirect_source"),
    ("topFrameUniqueRedirectsTo", "redirect_destination"),
    ("subframeUnderTopFrameOrigins", "subframe_under_origin"),
    (
        "subresourceUnderTopFrameOrigins",
        "subresource_under_origin",
    ),
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let files = match found::all(ios, &LOCATIONS, "WebKit session resource log")? {
        Ok(f) => f,
        Err(outcome) => return Ok(outcome),
    };
    let mut tally = found::Tally::default();
    for located in &files {
        let (plist, file) = match ios.read_plist(located) {
            Ok(x) => x,
            Err(e) => {
                tally.failed(sink, located, &e);
                continue;
            }
        };
        if plist.as_dictionary().is_none() {
            tally.unusable(sink, located, "the plist is not a dictionary");
            continue;
        }
        tally.ok();
        let Some(stats) =
            plist_json::get(&plist, "browsingStatistics").and_then(plist::Value::as_array)
        else {
            continue;
        };
        for (i, item) in stats.iter().enumerate().take(MAX_ENTRIES) {
            if item.as_dictionary().is_none() {
                continue;
            }
            let mut r = Record::new(Source {
                file: Some(std::sync::Arc::clone(&file)),
                table: Some(Cow::Borrowed("browsingStatistics")),
                row: Some(i.to_string()),
            });
            entry(&mut r, item, &located.stored);
            sink.record(r);
        }
    }
    tally.finish()
}

/// The sites of one list: each element's `origin` and `domain` (older and newer WebKit),
/// or the element itself when it is a plain string.
fn sites(list: Option<&plist::Value>) -> Vec<String> {
    let mut out = Vec::new();
    let Some(items) = list.and_then(plist::Value::as_array) else {
        return out;
    };
    for item in items.iter().take(MAX_SITES_PER_LIST) {
        match item {
            plist::Value::String(s) => out.push(s.clone()),
            plist::Value::Dictionary(d) => {
                for key in ["origin", "domain"] {
                    if let Some(plist::Value::String(s)) = d.get(key) {
                        out.push(s.clone());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// A date as WebKit writes it: a plist date, or seconds since 1970.
fn date(v: Option<&plist::Value>) -> Json {
    let t = match v {
        Some(plist::Value::Date(d)) => crate::pyfmt::plist_date(*d),
        Some(other) => plist_json::as_f64(other)
            .filter(|s| *s != 0.0)
            .and_then(crate::pyfmt::unix_seconds),
        None => return Json::Null,
    };
    t.map_or(Json::Null, |t| Json::from(t.to_mvt()))
}

/// MVT's wording of a redirect path: `SOURCE: "a", "b" -> ORIGIN: "o" -> DESTINATION: "c"`.
fn redirect_chain(sources: &[String], origin: &str, destinations: &[String]) -> String {
    let quote = |v: &[String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut out = String::new();
    if !sources.is_empty() {
        out.push_str(&format!("SOURCE: {} -> ", quote(sources)));
    }
    out.push_str(&format!("ORIGIN: \"{origin}\""));
    if !destinations.is_empty() {
        out.push_str(&format!(" -> DESTINATION: {}", quote(destinations)));
    }
    out
}

/// A site as an observable: a bare host is a domain, anything with a scheme a URL.
fn site(value: &str, field: &'static str) -> Observable {
    let kind = if value.contains("://") {
        ObservableKind::Url
    } else {
        ObservableKind::Domain
    };
    Observable::new(kind, value, field)
}

fn entry(r: &mut Record, item: &plist::Value, log: &str) {
    let text = |k: &str| match plist_json::get(item, k) {
        Some(plist::Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    // Newer WebKit names the key after the registrable domain.
    let origin = text("PrevalentResourceOrigin")
        .or_else(|| text("PrevalentResourceDomain"))
        .unwrap_or_default();
    r.set("origin", origin.as_str());
    let mut lists: Vec<Vec<String>> = Vec::with_capacity(LISTS.len());
    for (key, field) in LISTS {
        let v = plist_json::get(item, key);
        r.set(
            field,
            v.map_or(Json::from(""), |v| plist_json::to_json(v, Bytes::Escaped)),
        );
        lists.push(sites(v));
    }
    r.set(
        "user_interaction",
        plist_json::get(item, "hadUserInteraction")
            .map_or(Json::Null, |v| plist_json::to_json(v, Bytes::Escaped)),
    )
    .set(
        "most_recent_interaction",
        date(plist_json::get(item, "mostRecentUserInteraction")),
    )
    .set("last_seen", date(plist_json::get(item, "lastSeen")));
    let empty = Vec::new();
    let sources = lists.first().unwrap_or(&empty);
    let destinations = lists.get(1).unwrap_or(&empty);
    r.set(
        "redirect_chain",
        redirect_chain(sources, &origin, destinations),
    )
    .set("resource_log", log);

    let mut seen: Vec<&str> = Vec::new();
    if !origin.is_empty() {
        r.observe(site(&origin, "origin"));
        seen.push(&origin);
    }
    for ((_, field), values) in LISTS.iter().zip(&lists) {
        for v in values {
            if !v.is_empty() && !seen.contains(&v.as_str()) {
                r.observe(site(v, field));
                seen.push(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_reads_like_mvt() {
        assert_eq!(
            redirect_chain(
                &["a.com".into(), "b.com".into()],
                "o.com",
                &["c.com".into()]
            ),
            "SOURCE: \"a.com\", \"b.com\" -> ORIGIN: \"o.com\" -> DESTINATION: \"c.com\""
        );
        assert_eq!(redirect_chain(&[], "o.com", &[]), "ORIGIN: \"o.com\"");
    }
}
