//! Installed applications: the `Applications` dictionary of a backup's Info.plist (each app's
//! iTunesMetadata and placeholder icon), or each app bundle's iTunesMetadata.plist in a
//! filesystem dump.
//!
//! Two heuristics run always: an app whose metadata has no `softwareVersionBundleId`
//! (MEDIUM, which MVT only raises when indicators are loaded), and an app installed by
//! something other than the App Store or MDM (MEDIUM). The purchase date is UTC (its `Z`
//! says so); MVT reads it as local time, which shifts it by the analyst's time zone.

use super::coredata::py_str;
use super::unreadable;
use crate::{Ios, IosKind, Located, Locations};
use bridle_evidence::plist_json::{self, Bytes};
use bridle_model::{
    EvidenceFile, Heuristic, Level, Map, ModuleError, ModuleOutcome, Observable, ObservableKind,
    Problem, ProblemKind, Record, Sink, Source, TimelineEvent, Timestamp,
};
use plist::Value;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::sync::Arc;

ios_module!(
    Applications,
    "applications",
    "Applications",
    "Installed applications and where they were installed from (Info.plist / iTunesMetadata.plist)"
);

/// In a filesystem dump, each app bundle's metadata.
const FS_LOCATIONS: Locations = Locations {
    backup: &[],
    backup_like: &[],
    fs: &["private/var/containers/Bundle/Application/*/iTunesMetadata.plist"],
};

/// Installers that are the App Store or an MDM (`sourceApp`); a missing one counts as the
/// App Store.
const KNOWN_INSTALLERS: [&str; 4] = [
    "com.apple.AppStore",
    "com.apple.AppStore.ProductPageExtension",
    "com.apple.dmd",
    "dmd",
];

fn run(ios: &Ios, sink: &mut dyn Sink) -> Result<ModuleOutcome, ModuleError> {
    // A backup lists its apps in Info.plist; a dump has each app's metadata in its bundle.
    let info = if ios.kind() == IosKind::Backup {
        ios.root_file("Info.plist")
            .map_err(|e| unreadable("Info.plist", &e))?
    } else {
        None
    };
    let dumps = ios
        .locate(&FS_LOCATIONS)
        .map_err(|e| unreadable("iTunesMetadata.plist", &e))?;
    if info.is_none() && dumps.is_empty() {
        return Ok(ModuleOutcome::NotFound(
            "no Info.plist and no iTunesMetadata.plist".into(),
        ));
    }
    if let Some(located) = info {
        let (plist, file) = ios
            .read_plist(&located)
            .map_err(|e| unreadable("Info.plist", &e))?;
        match plist_json::get(&plist, "Applications") {
            Some(Value::Dictionary(apps)) => {
                for (bundle, app) in apps {
                    backup_app(bundle, app, &file, sink);
                }
            }
            None => {}
            Some(_) => sink.problem(Problem::file(
                ProblemKind::Partial,
                "Info.plist",
                "`Applications` is not a dictionary",
            )),
        }
    }
    for located in dumps {
        dump_app(ios, &located, sink);
    }
    Ok(ModuleOutcome::Done)
}

/// One entry of Info.plist's `Applications`: `{name}` + its iTunesMetadata + `isodate` +
/// `icon_sha256`.
fn backup_app(bundle: &str, app: &Value, file: &Arc<EvidenceFile>, sink: &mut dyn Sink) {
    let mut data = Map::new();
    data.insert("name".into(), Json::from(bundle));
    match plist_json::get(app, "iTunesMetadata") {
        Some(Value::Data(bytes)) => match plist_json::parse_plist(bytes) {
            Ok(Value::Dictionary(meta)) => merge(&mut data, &meta),
            Ok(_) => sink.problem(Problem::file(
                ProblemKind::Partial,
                file.logical_path.clone(),
                format!("Applications/{bundle}/iTunesMetadata is not a dictionary"),
            )),
            Err(e) => sink.problem(Problem::file(
                ProblemKind::Partial,
                file.logical_path.clone(),
                format!("Applications/{bundle}/iTunesMetadata: {e}"),
            )),
        },
        // Some tools write the metadata as a dictionary rather than an embedded plist.
        Some(Value::Dictionary(meta)) => merge(&mut data, meta),
        _ => {}
    }
    let installed = purchase_date(&data);
    if let Some(t) = installed {
        data.insert("isodate".into(), Json::String(t.to_mvt()));
    }
    if let Some(Value::Data(icon)) = plist_json::get(app, "PlaceholderIcon") {
        data.insert(
            "icon_sha256".into(),
            Json::String(hex::encode(Sha256::digest(icon))),
        );
    }
    let source = Source {
        table: Some(Cow::Borrowed("Applications")),
        row: Some(bundle.to_owned()),
        ..Source::file(file)
    };
    sink.record(record(data, installed, source));
}

fn dump_app(ios: &Ios, located: &Located, sink: &mut dyn Sink) {
    let (plist, file) = match ios.read_plist(located) {
        Ok(x) => x,
        Err(e) => {
            sink.problem(Problem::file(
                ProblemKind::Unreadable,
                located.logical.clone(),
                e.to_string(),
            ));
            return;
        }
    };
    let Some(meta) = plist.as_dictionary() else {
        sink.problem(Problem::file(
            ProblemKind::Unreadable,
            located.logical.clone(),
            "the plist is not a dictionary",
        ));
        return;
    };
    let mut data = Map::new();
    merge(&mut data, meta);
    data.insert("file_path".into(), Json::from(located.logical.as_str()));
    let installed = purchase_date(&data);
    if let Some(t) = installed {
        data.insert("isodate".into(), Json::String(t.to_mvt()));
    }
    sink.record(record(data, installed, Source::file(&file)));
}

fn merge(data: &mut Map, meta: &plist::Dictionary) {
    for (k, v) in meta {
        data.insert(k.clone(), plist_json::to_json(v, Bytes::Escaped));
    }
}

/// `com.apple.iTunesStore.downloadInfo.purchaseDate`: `YYYY-mm-ddTHH:MM:SSZ`, UTC.
fn purchase_date(data: &Map) -> Option<Timestamp> {
    let s = data
        .get("com.apple.iTunesStore.downloadInfo")?
        .get("purchaseDate")?
        .as_str()?;
    if s.is_empty() {
        return None;
    }
    Timestamp::parse(s)
}

fn text(data: &Map, key: &str) -> Option<String> {
    match data.get(key) {
        None | Some(Json::Null) => None,
        Some(v) => Some(py_str(v)),
    }
}

fn record(data: Map, installed: Option<Timestamp>, source: Source) -> Record {
    let mut r = Record::new(source);
    let bundle_id = text(&data, "softwareVersionBundleId");
    let name = text(&data, "name");
    let installer = text(&data, "sourceApp");
    if installed.is_some() {
        let field = |k: &str| text(&data, k).unwrap_or_default();
        r.event(TimelineEvent::new(
            installed,
            "app_installed",
            format!(
                "App {} version {} from {} installed from {}",
                field("name"),
                field("bundleShortVersionString"),
                field("artistName"),
                field("sourceApp")
            ),
        ));
    }
    if bundle_id.is_none() {
        r.alert(Heuristic::new(
            Level::Medium,
            "Suspicious application identified without softwareVersionBundleId",
        ));
    }
    if let Some(installer) = &installer
        && !KNOWN_INSTALLERS.contains(&installer.as_str())
    {
        let who = bundle_id.as_deref().or(name.as_deref()).unwrap_or_default();
        r.alert(Heuristic::new(
            Level::Medium,
            format!("Suspicious app not installed from the App Store or MDM: {who}"),
        ));
    }
    if let Some(id) = &bundle_id {
        r.observe(Observable::new(
            ObservableKind::Process,
            id.as_str(),
            "softwareVersionBundleId",
        ));
        r.observe(Observable::new(
            ObservableKind::AppId,
            id.as_str(),
            "softwareVersionBundleId",
        ));
    }
    // The Info.plist key is the bundle id too; checked as well when it differs.
    if let Some(n) = &name
        && bundle_id.as_deref() != Some(n.as_str())
    {
        r.observe(Observable::new(ObservableKind::Process, n.as_str(), "name"));
        r.observe(Observable::new(ObservableKind::AppId, n.as_str(), "name"));
    }
    // The installer is an app too (a third-party store, a sideloading tool).
    if let Some(i) = installer {
        r.observe(Observable::new(ObservableKind::AppId, i, "sourceApp"));
    }
    r.data = data;
    r
}
