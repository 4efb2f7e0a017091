//! Shortcuts.sqlite: the user's Shortcuts (Siri shortcuts) and the URLs their actions open
//! or fetch.
//!
//! MVT reads every text column as bytes and writes them as bytes; here they are strings
//! (invalid UTF-8 kept as `\xNN`). MVT finds URLs with its link regex over Python's `str()`
//! of each action's parameter dictionary, then strips trailing quotes and commas the
//! `repr` added; here the regex runs over each string value of the parameters (walked in
//! order, with a depth cap), which finds the same URLs without the quoting artefacts.

use super::coredata::{Columns, iso, mac_time, py_str};
use super::{report_rows, unreadable};
use crate::links::find_links;
use crate::{Ios, Locations, rows};
use bridle_evidence::plist_json::{self, escape_bytes};
use bridle_evidence::sqlite::for_each_row;
use bridle_model::{
    Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem, ProblemKind, Record,
    Sink, Source, TimelineEvent,
};
use plist::Value;
use serde_json::Value as Json;

ios_module!(
    Shortcuts,
    "shortcuts",
    "Shortcuts",
    "Shortcuts and the URLs their actions use (Shortcuts.sqlite)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/Shortcuts/Shortcuts.sqlite")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/Shortcuts/Shortcuts.sqlite"],
};

/// Deepest nesting of action parameters searched for URLs.
const MAX_DEPTH: usize = 32;
/// Most URLs kept per shortcut.
const MAX_URLS: usize = 10_000;

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable("Shortcuts.sqlite", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound("no Shortcuts.sqlite".into()));
    };
    let (db, file) = ios
        .open_db(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let shortcut = Columns::of(&db, "ZSHORTCUT");
    if !shortcut.exists() {
        return Ok(ModuleOutcome::NotFound(format!(
            "{}: no ZSHORTCUT table",
            located.logical
        )));
    }
    let actions = Columns::of(&db, "ZSHORTCUTACTIONS");
    let joined = actions.has("ZSHORTCUT") && shortcut.has("Z_PK");
    let mut sql = format!(
        "SELECT {}, {}, {}, {}, {}, {} FROM ZSHORTCUT",
        shortcut.select("Z_PK", "shortcut_id"),
        shortcut.select("ZNAME", "shortcut_name"),
        shortcut.select("ZCREATIONDATE", "created_date"),
        shortcut.select("ZMODIFICATIONDATE", "modified_date"),
        shortcut.select("ZACTIONSDESCRIPTION", "description"),
        if joined {
            actions.select("ZDATA", "action_data")
        } else {
            "NULL AS \"action_data\"".into()
        },
    );
    if joined {
        sql.push_str(" LEFT JOIN ZSHORTCUTACTIONS ON ZSHORTCUTACTIONS.ZSHORTCUT = ZSHORTCUT.Z_PK");
    }
    let mut bad_plists = 0u64;
    let read = for_each_row(db.conn(), &sql, [], |row| {
        let id = rows::json(row, 0);
        let name = rows::bytes(row, 1).map(|b| escape_bytes(&b));
        let description = rows::bytes(row, 4);
        let created = mac_time(row, 2);
        let modified = mac_time(row, 3);
        let mut data = Map::new();
        data.insert("shortcut_id".into(), id.clone());
        data.insert(
            "shortcut_name".into(),
            name.clone().map_or(Json::Null, Json::String),
        );
        data.insert("modified_date".into(), Json::String(iso(modified)));
        data.insert(
            "description".into(),
            description
                .as_deref()
                .map_or(Json::Null, |d| Json::String(escape_bytes(d))),
        );
        let parsed = rows::bytes(row, 5).and_then(|b| plist_json::parse_plist(&b).ok());
        let urls = match &parsed {
            Some(Value::Array(list)) => {
                let mut urls = Vec::new();
                for action in list {
                    let params = plist_json::get(action, "WFWorkflowActionParameters");
                    if let Some(p) = params {
                        collect_urls(p, 0, &mut urls);
                    }
                }
                data.insert("parsed_actions".into(), Json::from(list.len()));
                data.insert("action_urls".into(), Json::from(urls.clone()));
                urls
            }
            _ => {
                // No action data, or not a plist list: MVT's "shortcut without action data".
                // Non-empty data that is not a list of actions is damage worth reporting.
                if rows::bytes(row, 5).is_some_and(|b| !b.is_empty()) {
                    bad_plists += 1;
                }
                data.insert("action_urls".into(), Json::Null);
                data.insert("parsed_actions".into(), Json::from(0));
                Vec::new()
            }
        };
        data.insert("isodate".into(), Json::String(iso(created)));

        let mut r = Record::new(Source::row(&file, "ZSHORTCUT", py_str(&id)));
        let found = if urls.is_empty() {
            String::new()
        } else {
            format!("- URLs in actions: {}", urls.join(", "))
        };
        // MVT drops undecodable bytes from the description in the timeline.
        let desc = description.as_deref().map(valid_utf8).unwrap_or_default();
        let text = format!(
            "iOS Shortcut '{}': {desc} {found}",
            name.as_deref().unwrap_or_default()
        );
        r.event(TimelineEvent::new(
            created,
            "shortcut_created",
            text.clone(),
        ));
        r.event(TimelineEvent::new(modified, "shortcut_modified", text));
        for url in urls {
            r.observe(Observable::new(ObservableKind::Url, url, "action_urls"));
        }
        r.data = data;
        sink.record(r);
    });
    report_rows(sink, &file, "ZSHORTCUT", &read);
    if bad_plists > 0 {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            file.logical_path.clone(),
            format!("{bad_plists} shortcut action lists are not readable plists"),
        ));
    }
    Ok(ModuleOutcome::Done)
}

/// Links in every string of a parameter value, in order, without the quotes and commas
/// MVT's regex over a Python `repr` would have swallowed.
fn collect_urls(v: &Value, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH || out.len() >= MAX_URLS {
        return;
    }
    match v {
        Value::String(s) => {
            for link in find_links(s) {
                let link = link.trim_end_matches(['\'', ',']);
                if !link.is_empty() && out.len() < MAX_URLS {
                    out.push(link.to_owned());
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_urls(x, depth + 1, out)),
        Value::Dictionary(d) => d.values().for_each(|x| collect_urls(x, depth + 1, out)),
        _ => {}
    }
}

/// The valid UTF-8 of some bytes, invalid sequences dropped (Python's `errors="ignore"`).
fn valid_utf8(b: &[u8]) -> String {
    b.utf8_chunks().map(|c| c.valid()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_nested_parameters() {
        let mut d = plist::Dictionary::new();
        d.insert("UUID".into(), Value::String("x".into()));
        d.insert(
            "WFURLActionURL".into(),
            Value::String("https://a.example/x',".into()),
        );
        d.insert(
            "nested".into(),
            Value::Array(vec![Value::String("see http://b.example/y now".into())]),
        );
        let mut out = Vec::new();
        collect_urls(&Value::Dictionary(d), 0, &mut out);
        assert_eq!(out, ["https://a.example/x", "http://b.example/y"]);
        assert_eq!(valid_utf8(b"ok\xffok"), "okok");
    }
}
