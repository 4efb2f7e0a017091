//! .GlobalPreferences.plist: system-wide preferences, read for Lockdown Mode.
//!
//! `LDMGlobalEnabled` true gives an INFORMATIONAL note "Lockdown mode enabled" (worth knowing
//! when weighing other evidence); false gives LOW "Lockdown mode disabled" (it was on once).

use super::unreadable;
use crate::{Ios, Locations};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{Heuristic, Level, ModuleError, ModuleOutcome, Record, Sink, Source};
use plist::Value;
use std::borrow::Cow;

ios_module!(
    GlobalPreferences,
    "global_preferences",
    "GlobalPreferences",
    "System-wide preferences, including whether Lockdown Mode is on (.GlobalPreferences.plist)"
);

const LOCATIONS: Locations = Locations {
    backup: &[("HomeDomain", "Library/Preferences/.GlobalPreferences.plist")],
    backup_like: &[],
    fs: &["private/var/mobile/Library/Preferences/.GlobalPreferences.plist"],
};

const LOCKDOWN_KEY: &str = "LDMGlobalEnabled";

/// Python's truthiness of a plist value, which decides MVT's enabled/disabled message.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Boolean(b) => *b,
        Value::Integer(i) => i.as_signed() != Some(0) && i.as_unsigned() != Some(0),
        Value::Real(r) => *r != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Data(d) => !d.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Dictionary(d) => !d.is_empty(),
        _ => true,
    }
}

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    let Some(located) = ios
        .locate(&LOCATIONS)
        .map_err(|e| unreadable(".GlobalPreferences.plist", &e))?
        .into_iter()
        .next()
    else {
        return Ok(ModuleOutcome::NotFound(
            "no .GlobalPreferences.plist".into(),
        ));
    };
    let (plist, file) = ios
        .read_plist(&located)
        .map_err(|e| unreadable(&located.logical, &e))?;
    let Some(dict) = plist.as_dictionary() else {
        return Err(ModuleError::Unreadable {
            file: located.logical,
            reason: "the plist is not a dictionary".into(),
        });
    };
    for (key, value) in dict {
        let mut r = Record::new(Source {
            table: Some(Cow::Owned(key.clone())),
            ..Source::file(&file)
        });
        r.set("entry", key.as_str())
            .set("value", plist_json::to_json(value, Bytes::Escaped));
        if key == LOCKDOWN_KEY {
            r.alert(if truthy(value) {
                Heuristic::new(Level::Informational, "Lockdown mode enabled")
            } else {
                Heuristic::new(Level::Low, "Lockdown mode disabled")
            });
        }
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}
