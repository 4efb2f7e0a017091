//! Installed configuration profiles (`profile-*` plists of the configurationprofiles system
//! group), in full.
//!
//! A profile can install certificates, VPNs, MDM enrolment or hide notifications, which is
//! why operators use them. The profile's `PayloadUUID` and `PayloadIdentifier` are checked
//! against profile indicators, and URLs in its payloads (MDM servers, web clips) against URL
//! indicators. A notification-settings payload raises MEDIUM, always (MVT only with
//! indicators loaded, and only when it is the first payload).

use super::coredata::py_str;
use super::unreadable;
use crate::{Ios, ManifestFilter};
use base64::Engine;
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind, Problem,
    ProblemKind, Record, Sink, Source, TimelineEvent,
};
use plist::Value;
use serde_json::Value as Json;
use std::borrow::Cow;

ios_module!(
    ConfigurationProfiles,
    "configuration_profiles",
    "ConfigurationProfiles",
    "Installed configuration profiles (configurationprofiles system group)"
);

const DOMAIN: &str = "SysSharedContainerDomain-systemgroup.com.apple.configurationprofiles";

/// Most profile files read from one backup (a real device has a handful).
const MAX_PROFILES: usize = 10_000;

const NOTIFICATION_SETTINGS: &str = "com.apple.notificationsettings";

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    if let Some(problem) = ios.manifest_problem() {
        return Err(ModuleError::Unreadable {
            file: "Manifest.db".into(),
            reason: problem.to_owned(),
        });
    }
    // The profile rows are gathered first (a handful on a real device, capped) so that
    // Manifest.db is closed before the profile files are read.
    let mut rows = Vec::new();
    let read = ios
        .manifest_rows(ManifestFilter::Domain(DOMAIN), false, |r| {
            let base = r.relative_path.rsplit('/').next().unwrap_or_default();
            if base.starts_with("profile-") && rows.len() < MAX_PROFILES {
                rows.push(r);
            }
        })
        .map_err(|e| unreadable("Manifest.db", &e))?;
    if let Some(e) = read.error {
        sink.problem(Problem::file(
            ProblemKind::Partial,
            "Manifest.db",
            format!("Files: read {} rows, then: {e}", read.rows),
        ));
    }
    if rows.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no configuration profile in Manifest.db".into(),
        ));
    }
    for row in rows {
        let located = match ios.backup_file(&row.file_id, &row.domain, &row.relative_path) {
            Ok(Some(l)) => l,
            // Listed but not in the backup: MVT skips it too.
            Ok(None) => continue,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    format!("{}/{}", row.domain, row.relative_path),
                    e.to_string(),
                ));
                continue;
            }
        };
        let file = match ios.register(&located) {
            Ok(f) => f,
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Unreadable,
                    located.logical.clone(),
                    e.to_string(),
                ));
                continue;
            }
        };
        // An unreadable profile is still listed (with an empty plist), as MVT does.
        let plist = match plist_json::read_plist(&located.path, ios.limits()) {
            Ok(p @ Value::Dictionary(_)) => p,
            Ok(_) => {
                sink.problem(Problem::file(
                    ProblemKind::Partial,
                    located.logical.clone(),
                    "the profile is not a dictionary",
                ));
                Value::Dictionary(plist::Dictionary::new())
            }
            Err(e) => {
                sink.problem(Problem::file(
                    ProblemKind::Partial,
                    located.logical.clone(),
                    e.to_string(),
                ));
                Value::Dictionary(plist::Dictionary::new())
            }
        };
        let mut r = Record::new(Source::file(&file));
        let install = match plist_json::get(&plist, "InstallDate") {
            Some(Value::Date(d)) => plist_json::plist_date(*d),
            _ => None,
        };
        let get = |k: &str| {
            plist_json::get(&plist, k).map_or_else(
                || "None".to_owned(),
                |v| py_str(&plist_json::to_json(v, Bytes::Escaped)),
            )
        };
        if install.is_some() {
            r.event(TimelineEvent::new(
                install,
                "configuration_profile_install",
                format!(
                    "{} installed: {} - {}: {}",
                    get("PayloadType"),
                    get("PayloadUUID"),
                    get("PayloadDisplayName"),
                    get("PayloadDescription")
                ),
            ));
        }
        let payloads: &[Value] = plist_json::get(&plist, "PayloadContent")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice);
        let has_uuid =
            plist_json::get(&plist, "PayloadUUID").is_some_and(|v| v.as_string() != Some(""));
        if has_uuid
            && let Some(kind) = payloads.iter().find_map(|p| {
                plist_json::get(p, "PayloadType")
                    .and_then(Value::as_string)
                    .filter(|t| *t == NOTIFICATION_SETTINGS)
            })
        {
            r.alert(Heuristic::new(
                Level::Medium,
                format!(
                    "Found a potentially suspicious configuration profile \"{}\" with payload type {kind}",
                    get("PayloadDisplayName")
                ),
            ));
        }
        for key in ["PayloadUUID", "PayloadIdentifier"] {
            if let Some(v) = plist_json::get(&plist, key).and_then(Value::as_string) {
                r.observe(Observable {
                    kind: ObservableKind::ProfileId,
                    value: v.to_owned(),
                    field: Cow::Owned(format!("plist.{key}")),
                    level: Level::Critical,
                });
            }
        }
        for p in payloads {
            let Some(d) = p.as_dictionary() else { continue };
            for (k, v) in d {
                if let Some(s) = v.as_string()
                    && k.ends_with("URL")
                    && (s.starts_with("http://") || s.starts_with("https://"))
                {
                    r.observe(Observable {
                        kind: ObservableKind::Url,
                        value: s.to_owned(),
                        field: Cow::Owned(format!("plist.PayloadContent.{k}")),
                        level: Level::Critical,
                    });
                }
            }
        }
        r.set("file_id", row.file_id.as_str())
            .set("relative_path", row.relative_path.as_str())
            .set("domain", row.domain.as_str())
            .set("plist", profile_json(&plist))
            .set(
                "install_date",
                install.map(|t| t.to_mvt()).unwrap_or_default(),
            );
        sink.record(r);
    }
    Ok(ModuleOutcome::Done)
}

/// The profile as JSON, with the binary fields MVT base64-encodes (certificates, push
/// tokens, keychain references) in base64 and other binary data escaped.
fn profile_json(plist: &Value) -> Json {
    let mut json = plist_json::to_json(plist, Bytes::Escaped);
    let (Some(obj), Some(dict)) = (json.as_object_mut(), plist.as_dictionary()) else {
        return json;
    };
    base64_list(obj, dict, "SignerCerts");
    base64_key(obj, dict, "PushTokenDataSentToServerKey");
    base64_key(obj, dict, "LastPushTokenHash");
    if let (Some(Json::Object(stub)), Some(Value::Dictionary(pstub))) =
        (obj.get_mut("OTAProfileStub"), dict.get("OTAProfileStub"))
    {
        base64_list(stub, pstub, "SignerCerts");
        if let (Some(Json::Object(c)), Some(Value::Dictionary(pc))) =
            (stub.get_mut("PayloadContent"), pstub.get("PayloadContent"))
        {
            base64_key(c, pc, "EnrollmentIdentityPersistentID");
        }
    }
    if let (Some(Json::Array(items)), Some(Value::Array(pitems))) =
        (obj.get_mut("PayloadContent"), dict.get("PayloadContent"))
    {
        for (item, pitem) in items.iter_mut().zip(pitems) {
            if let (Json::Object(o), Value::Dictionary(d)) = (item, pitem) {
                base64_key(o, d, "PERSISTENT_REF");
                base64_key(o, d, "IdentityPersistentRef");
            }
        }
    }
    json
}

fn b64(d: &[u8]) -> Json {
    Json::String(base64::engine::general_purpose::STANDARD.encode(d))
}

fn base64_key(obj: &mut Map, dict: &plist::Dictionary, key: &str) {
    if let Some(Value::Data(d)) = dict.get(key) {
        obj.insert(key.to_owned(), b64(d));
    }
}

fn base64_list(obj: &mut Map, dict: &plist::Dictionary, key: &str) {
    if let (Some(Json::Array(out)), Some(Value::Array(items))) = (obj.get_mut(key), dict.get(key)) {
        for (o, i) in out.iter_mut().zip(items) {
            if let Value::Data(d) = i {
                *o = b64(d);
            }
        }
    }
}
