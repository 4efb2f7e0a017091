//! Every heuristic of mvt-features.md §2.6-2.9 not already covered by the parity and
//! intrusion-log tests, on inputs built here; and a bugreport nested in an AndroidQF zip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_android::modules::{
    self, aqf_packages::package_heuristics, dumpsys_appops::appops_heuristics,
};
use bridle_android::parsers::{appops, simple};
use bridle_android::tz::DeviceTz;
use bridle_android::{AndroidQf, OpenOptions};
use bridle_evidence::EvidenceLog;
use bridle_model::{Level, ModuleOutcome, ObservableKind};
use common::*;
use serde_json::json;
use std::sync::Arc;

fn pkg(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().unwrap().clone()
}

#[test]
fn package_heuristics_cover_every_mvt_rule() {
    let h = package_heuristics(&pkg(
        json!({"name": "com.topjohnwu.magisk", "installer": "com.google.android.packageinstaller", "system": false}),
    ));
    assert_eq!(h.len(), 1, "a rooting app raises only the rooting alert");
    assert_eq!(
        (h[0].level, h[0].message.as_str()),
        (
            Level::Medium,
            "Found an installed package related to rooting/jailbreaking: \"com.topjohnwu.magisk\""
        )
    );
    let h = package_heuristics(&pkg(
        json!({"name": "com.policydm", "installer": "com.android.vending", "system": true, "disabled": true}),
    ));
    assert_eq!(
        h[0].message,
        "Security package \"com.policydm\" disabled on the phone"
    );
    let h = package_heuristics(&pkg(
        json!({"name": "com.google.android.gms", "installer": "null", "system": true, "disabled": true}),
    ));
    assert_eq!(h.len(), 1);
    assert_eq!(
        h[0].message,
        "System OTA update package \"com.google.android.gms\" disabled on the phone"
    );
    assert!(package_heuristics(&pkg(json!({"name": "com.google.android.gms", "installer": "null", "system": true, "disabled": false}))).is_empty());
    assert!(
        package_heuristics(&pkg(
            json!({"name": "x", "installer": "com.android.vending", "system": false})
        ))
        .is_empty()
    );
    // `installer == "null"` flags only packages whose `system` is exactly false.
    assert!(package_heuristics(&pkg(json!({"name": "x", "installer": "null"}))).is_empty());
    assert_eq!(
        package_heuristics(&pkg(json!({"name": "x", "installer": "com.aurora.store"})))[0].level,
        Level::Informational
    );
}

#[test]
fn dangerous_settings() {
    assert!(simple::dangerous_setting("accessibility_enabled", "1").is_some());
    assert!(simple::dangerous_setting("accessibility_enabled", "0").is_none());
    assert!(simple::dangerous_setting("package_verifier_enable", "0").is_some());
    assert!(simple::dangerous_setting("package_verifier_enable", "1").is_none());
    assert!(simple::dangerous_setting("unrelated", "0").is_none());
    assert_eq!(simple::DANGEROUS_SETTINGS.len(), 10);
}

#[test]
fn appops_shell_and_install_permission() {
    let text = "  Uid 0:\n  Uid 2000:\n    Package com.android.shell:\n      READ_CLIPBOARD (allow):\n          Access: [top-s] 2023-01-02 03:04:05.006 (-1d)\n          Access: [top-s] 2023-01-01 03:04:05.006 (-2d)\n      WAKE_LOCK (allow):\n  Uid u0a9:\n    Package com.x:\n      REQUEST_INSTALL_PACKAGES (allow):\n          Access: [fg] 2023-05-05 01:02:03.004 (-1d)\n";
    let mut pkgs = Vec::new();
    appops::parse(text.lines(), &DeviceTz::unknown(), |p| pkgs.push(p));
    let shell = appops_heuristics(&pkgs[0]);
    let msgs: Vec<&str> = shell.iter().map(|h| h.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Risky package 'com.android.shell' had 'READ_CLIPBOARD' permission set to 'Access' at 2023-01-01 03:04:05.006000",
            "Risky package 'com.android.shell' had 'READ_CLIPBOARD' permission set to 'Access' at 2023-01-02 03:04:05.006000",
            "Risky package 'com.android.shell' had 'WAKE_LOCK' permission set to 'Unknown' at ",
        ]
    );
    assert_eq!(
        shell[0].event_time.unwrap().to_mvt(),
        "2023-01-01 03:04:05.006000"
    );
    let x = appops_heuristics(&pkgs[1]);
    assert_eq!(x.len(), 1);
    assert_eq!(
        x[0].message,
        "Package 'com.x' had risky permission 'REQUEST_INSTALL_PACKAGES' set to 'Access' at 2023-05-05 01:02:03.004000"
    );
}

/// A bugreport folder with a rooting app in the package list, a SYSTEM PROPERTIES block with a
/// time zone, and a daily-stats downgrade.
fn bugreport_with_root_package(dir: &std::path::Path) {
    let dashes = "-".repeat(78);
    let dump = format!(
        "------ SYSTEM PROPERTIES (getprop) ------\n[persist.sys.timezone]: [America/New_York]\n[ro.build.version.security_patch]: [2019-01-01]\n------\n\
DUMP OF SERVICE package:\nPackages:\n  Package [com.topjohnwu.magisk] (1):\n    userId=10100\n    timeStamp=2023-01-05 10:00:00\n    firstInstallTime=2023-01-05 10:00:00\n    lastUpdateTime=2023-01-06 10:00:00\n    installerPackageName=null\n  Package [com.topjohnwu.magisk] (2):\n    userId=10101\n\n{dashes}\n\
DUMP OF SERVICE batterystats:\n  Daily from 2023-01-01-00-00-00 to 2023-01-02-00-00-00:\n      Update com.app vers=20\n  Daily from 2023-01-02-00-00-00 to 2023-01-03-00-00-00:\n      Update com.app vers=19\n{dashes}\n"
    );
    std::fs::write(dir.join("main_entry.txt"), "dumpstate.txt").unwrap();
    std::fs::write(dir.join("dumpstate.txt"), dump).unwrap();
}

#[test]
fn bugreport_root_package_timezone_and_downgrade() {
    let dir = tempfile::tempdir().unwrap();
    bugreport_with_root_package(dir.path());
    let b = Arc::new(
        bridle_android::Bugreport::open(dir.path(), EvidenceLog::new(), Default::default())
            .unwrap(),
    );
    let mods = modules::bugreport_modules(&b);
    let (_, pk) = run_slug(&mods, "dumpsys_packages");
    assert_eq!(pk.records.len(), 2);
    let alerts: Vec<_> = pk.heuristics().collect();
    assert_eq!(alerts.len(), 1, "once per package name");
    assert_eq!(
        alerts[0].message,
        "Found an installed package related to rooting/jailbreaking: \"com.topjohnwu.magisk\""
    );
    // Device wall times converted with the dumpstate's own zone (EST, UTC-5).
    let install = pk.records[0]
        .timeline
        .iter()
        .find(|e| e.event == "package_install")
        .unwrap();
    assert_eq!(
        install.timestamp.unwrap().to_mvt(),
        "2023-01-05 15:00:00.000000"
    );
    assert_eq!(field(&pk.records[0], "device_timezone"), "America/New_York");
    assert_eq!(field(&pk.records[0], "timestamp"), "2023-01-05 10:00:00");

    let (_, daily) = run_slug(&mods, "dumpsys_battery_daily");
    let d: Vec<_> = daily.heuristics().collect();
    assert_eq!(d.len(), 1);
    assert_eq!(
        d[0].message,
        "Detected downgrade of package com.app from vers 20 to vers 19"
    );
    assert_eq!(
        d[0].event_time.unwrap().to_mvt(),
        "2023-01-02 05:00:00.000000"
    );

    let (_, gp) = run_slug(&mods, "dumpsys_get_prop");
    assert_eq!(gp.records.len(), 2);
    assert!(gp.records.iter().any(|r| observes(
        r,
        ObservableKind::AndroidProperty,
        "persist.sys.timezone"
    )));
    assert_eq!(gp.heuristics().count(), 1, "a 2019 patch level is old");
}

#[test]
fn bugreport_nested_in_androidqf_zip() {
    // An AndroidQF zip holding a bugreport.zip built from MVT's bugreport fixture, and an
    // acquisition.json: the nested bugreport is read from memory, with the context.
    let dir = tempfile::tempdir().unwrap();
    let src = mvt("android_data/bugreport");
    let br = dir.path().join("bugreport.zip");
    let files = [
        ("main_entry.txt", "main_entry.txt"),
        ("dumpstate.txt", "dumpstate.txt"),
        (
            "FS/data/tombstones/tombstone_00",
            "FS/data/tombstones/tombstone_00",
        ),
        (
            "FS/data/tombstones/tombstone_01",
            "FS/data/tombstones/tombstone_01",
        ),
    ];
    let contents: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(n, p)| (*n, std::fs::read(src.join(p)).unwrap()))
        .collect();
    let refs: Vec<(&str, &[u8])> = contents.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    write_zip(&br, &refs);
    let br_bytes = std::fs::read(&br).unwrap();
    let packages = std::fs::read(mvt("androidqf/packages.json")).unwrap();
    let aqf_zip = dir.path().join("androidqf.zip");
    write_zip(
        &aqf_zip,
        &[
            ("uuid/packages.json", &packages),
            ("uuid/bugreport.zip", &br_bytes),
            ("uuid/acquisition.json", br#"{"started": "2025-06-20T18:00:00Z", "adb_host_public_key": "QUJDRA== me@host"}"#),
        ],
    );
    let before = tree_hash(dir.path());
    let log = EvidenceLog::new();
    let a = Arc::new(AndroidQf::open(&aqf_zip, log.clone(), &OpenOptions::default()).unwrap());
    assert_eq!(a.context().started.as_deref(), Some("2025-06-20T18:00:00Z"));
    let mods = modules::androidqf_modules(&a);
    let (out, ap) = run_slug(&mods, "dumpsys_appops");
    assert_eq!(out, ModuleOutcome::Done);
    assert_eq!(ap.records.len(), 12);
    assert_eq!(ap.timeline().count(), 16);
    let (_, tb) = run_slug(&mods, "tombstones");
    assert_eq!(tb.records.len(), 2);
    assert_eq!(
        tb.heuristics().filter(|h| h.level == Level::Medium).count(),
        2,
        "uid 2000 and 1000"
    );
    let stored = &tb.records[0].source.file.as_ref().unwrap().stored_path;
    assert_eq!(
        stored,
        "uuid/bugreport.zip!/FS/data/tombstones/tombstone_00"
    );
    let (_, ts) = run_slug(&mods, "bugreport_timestamps");
    assert_eq!(ts.records.len(), 2);
    assert!(
        log.files()
            .iter()
            .any(|f| f.stored_path == "uuid/bugreport.zip!/dumpstate.txt")
    );
    assert_eq!(tree_hash(dir.path()), before);
}
