//! Parity with MVT on its own Android test artifacts: the numbers of mvt-features.md §5.2
//! and §7 (record, timeline and alert counts, exact strings). Expected values live here only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_android::modules::{self, DumpsysOrigin};
use bridle_android::parsers::{adb, appops, battery, dumpsys_misc, packages, simple, tombstone};
use bridle_android::tz::DeviceTz;
use bridle_android::{AndroidQf, Backup, Bugreport, OpenOptions};
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::ArchiveLimits;
use bridle_model::{Level, ModuleOutcome, ObservableKind};
use common::*;
use std::sync::Arc;

fn aqf(path: &std::path::Path) -> Arc<AndroidQf> {
    Arc::new(AndroidQf::open(path, EvidenceLog::new(), &OpenOptions::default()).unwrap())
}

fn bugreport() -> Arc<Bugreport> {
    Arc::new(
        Bugreport::open(
            &mvt("android_data/bugreport"),
            EvidenceLog::new(),
            ArchiveLimits::default(),
        )
        .unwrap(),
    )
}

#[test]
fn androidqf_packages_7_with_5_heuristic_alerts() {
    let before = tree_hash(&mvt("androidqf"));
    let a = aqf(&mvt("androidqf"));
    let mods = modules::androidqf_modules(&a);
    let (out, sink) = run_slug(&mods, "aqf_packages");
    assert_eq!(out, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 7);
    let mut lv = levels(&sink);
    lv.sort();
    assert_eq!(
        lv,
        [
            Level::Informational,
            Level::Medium,
            Level::Medium,
            Level::Medium,
            Level::Medium
        ]
    );
    let msgs: Vec<&str> = sink.heuristics().map(|h| h.message.as_str()).collect();
    assert!(msgs.contains(
        &"Found a non-system package installed via adb or another method: \"com.whatsapp\""
    ));
    assert!(msgs.contains(
        &"Found a package installed via a browser (installer=\"com.google.android.packageinstaller\"): \"app.revanced.manager.flutter\""
    ));
    assert!(msgs.contains(&"Found a package installed via a third party store (installer=\"org.fdroid.fdroid\"): \"org.nuclearfog.apollo\""));
    // MVT's IOC tests: an app id, a file hash and a certificate hash, all on com.malware.muahaha.
    let muahaha = sink
        .records
        .iter()
        .find(|r| field(r, "name") == "com.malware.muahaha")
        .unwrap();
    assert!(observes(
        muahaha,
        ObservableKind::AppId,
        "com.malware.muahaha"
    ));
    assert!(observes(
        muahaha,
        ObservableKind::FileHash,
        "31037a27af59d4914906c01ad14a318eee2f3e31d48da8954dca62a99174e3fa"
    ));
    assert!(observes(
        muahaha,
        ObservableKind::CertHash,
        "c7e56178748be1441370416d4c10e34817ea0c961eb636c8e9d98e0fd79bf730"
    ));
    let blah = sink
        .records
        .iter()
        .find(|r| field(r, "name") == "com.malware.blah")
        .unwrap();
    assert!(observes(blah, ObservableKind::AppId, "com.malware.blah"));
    assert_eq!(sink.timeline().count(), 0);
    // The record is packages.json's object as stored.
    assert_eq!(sink.records[0].data["uid"], 10271);
    assert!(sink.records[0].source.file.as_ref().unwrap().sha256.len() == 64);
    assert_eq!(tree_hash(&mvt("androidqf")), before);
}

#[test]
fn androidqf_processes_getprop_settings_files_root_binaries() {
    let a = aqf(&mvt("androidqf"));
    let mods = modules::androidqf_modules(&a);

    let (_, ps) = run_slug(&mods, "aqf_processes");
    assert_eq!(ps.records.len(), 15);
    assert_eq!(field(&ps.records[0], "proc_name"), "init");
    assert_eq!(ps.heuristics().count(), 0);
    assert!(observes(&ps.records[0], ObservableKind::Process, "init"));

    let (_, gp) = run_slug(&mods, "aqf_get_prop");
    assert_eq!(gp.records.len(), 10);
    assert_eq!(field(&gp.records[0], "name"), "dalvik.vm.appimageformat");
    assert_eq!(field(&gp.records[0], "value"), "lz4");
    assert_eq!(gp.timeline().count(), 0);
    assert_eq!(gp.heuristics().count(), 0);
    assert!(gp.records.iter().any(|r| observes(
        r,
        ObservableKind::AndroidProperty,
        "dalvik.vm.heapmaxfree"
    )));

    let (_, st) = run_slug(&mods, "aqf_settings");
    assert_eq!(st.records.len(), 1);
    let ns: Vec<&String> = st.records[0].data.keys().collect();
    assert_eq!(ns, ["random"]);
    assert_eq!(st.records[0].data["random"]["samsung_errorlog_agree"], "0");
    let alerts: Vec<_> = st.heuristics().collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, Level::Medium);
    assert!(alerts[0].message.contains("samsung_errorlog_agree"));

    let (_, files) = run_slug(&mods, "aqf_files");
    assert_eq!(files.records.len(), 3);
    assert_eq!(files.timeline().count(), 6);
    assert_eq!(files.heuristics().count(), 0);
    let first = &files.records[0];
    assert_eq!(field(first, "path"), "/sdcard/.profig.os");
    assert_eq!(field(first, "changed_time"), "2019-02-14 14:47:52.000000");
    assert_eq!(first.data["device_timezone"], serde_json::Value::Null);
    let events: Vec<_> = first
        .timeline
        .iter()
        .map(|e| (e.event.as_ref(), e.data.as_str()))
        .collect();
    assert_eq!(
        events,
        [
            ("--C-", "/sdcard/.profig.os (u:object_r:sdcardfs:s0)"),
            ("MA--", "/sdcard/.profig.os (u:object_r:sdcardfs:s0)")
        ]
    );

    let (_, rb) = run_slug(&mods, "root_binaries");
    assert_eq!(rb.records.len(), 4);
    assert_eq!(levels(&rb), [Level::High; 4]);
    let got: Vec<(&str, &str)> = rb
        .records
        .iter()
        .map(|r| (field(r, "path"), field(r, "description")))
        .collect();
    assert_eq!(
        got,
        [
            ("/system/bin/su", "SuperUser binary"),
            ("/system/xbin/busybox", "BusyBox utilities"),
            ("/data/local/tmp/magisk", "Magisk root framework"),
            ("/system/bin/magiskhide", "Magisk hide utility"),
        ]
    );
    let tl: Vec<_> = rb.timeline().collect();
    assert_eq!(tl.len(), 4);
    assert!(
        tl.iter()
            .all(|e| e.timestamp.is_none() && e.event == "root_binary_found")
    );
    assert_eq!(tl[0].data, "Root binary found: /system/bin/su (binary: su)");
    assert_eq!(
        rb.heuristics().next().unwrap().message,
        "Found root binary \"su\" at path \"/system/bin/su\""
    );

    for slug in [
        "mounts",
        "aqf_log_timestamps",
        "dumpsys_appops",
        "tombstones",
        "dns_event",
        "security_event",
    ] {
        let (out, sink) = run_slug(&mods, slug);
        assert!(matches!(out, ModuleOutcome::NotFound(_)), "{slug}: {out:?}");
        assert!(sink.records.is_empty());
    }
}

#[test]
fn androidqf_alert_and_timeline_totals_match_mvt_for_mvt_modules() {
    // §7: check-androidqf writes 10 alerts (packages 5, settings 1, root binaries 4) and a
    // timeline of 10 rows (AQFFiles 6 + RootBinaries 4), plus sms 2 from backup.ab.
    let a = aqf(&mvt("androidqf"));
    let mut alerts = 0;
    let mut timeline = 0;
    let mut sms = 0;
    for m in modules::androidqf_modules(&a) {
        if m.info().slug.starts_with("aqf_dumpsys") || m.info().slug == "aqf_dbinfo" {
            continue;
        }
        let (_, sink) = run(m.as_ref());
        alerts += sink.heuristics().count();
        timeline += sink.timeline().count();
        if m.info().slug == "sms" {
            sms = sink.records.len();
        }
    }
    assert_eq!(alerts, 10);
    assert_eq!(timeline, 10);
    assert_eq!(sms, 2);
}

#[test]
fn androidqf_nested_backup_sms_and_urls() {
    let a = aqf(&mvt("androidqf"));
    let (_, sink) = run_slug(&modules::androidqf_modules(&a), "sms");
    assert_eq!(sink.records.len(), 2);
    let mut urls: Vec<&str> = sink
        .records
        .iter()
        .flat_map(|r| {
            r.observables
                .iter()
                .filter(|o| o.kind == ObservableKind::Url)
                .map(|o| o.value.as_str())
        })
        .collect();
    urls.sort();
    assert_eq!(urls, ["http://google.com", "https://google.com/"]);
    let f = sink.records[0].source.file.as_ref().unwrap();
    assert!(
        f.stored_path
            .starts_with("backup.ab!/apps/com.android.providers.telephony/d_f/"),
        "{}",
        f.stored_path
    );
}

#[test]
fn androidqf_zip_reads_getprop() {
    let a = aqf(&mvt("androidqf.zip"));
    let mods = modules::androidqf_modules(&a);
    let (_, gp) = run_slug(&mods, "aqf_get_prop");
    assert_eq!(gp.records.len(), 10);
    assert_eq!(field(&gp.records[0], "value"), "lz4");
    let (out, _) = run_slug(&mods, "aqf_packages");
    assert!(matches!(out, ModuleOutcome::NotFound(_)));
}

#[test]
fn androidqf_dumpsys_is_analysed() {
    // MVT collects dumpsys.txt and never reads it; bridle runs the dumpsys parsers on it.
    let a = aqf(&mvt("androidqf"));
    let mods = modules::androidqf_modules(&a);
    let ds = a.dumpsys().unwrap().unwrap();
    let mut problems = Vec::new();
    let section: Vec<String> = ds
        .section("package", &mut problems)
        .unwrap()
        .unwrap()
        .collect();
    assert_eq!(
        section.join("\n").chars().count(),
        3907,
        "MVT's test_artifact section length"
    );
    let (_, acc) = run_slug(&mods, "aqf_dumpsys_accessibility");
    assert!(!acc.records.is_empty());
    assert_eq!(acc.heuristics().count(), acc.records.len());
    let (_, pk) = run_slug(&mods, "aqf_dumpsys_packages");
    assert_eq!(pk.records.len(), 2);
    let (_, ap) = run_slug(&mods, "aqf_dumpsys_appops");
    assert!(!ap.records.is_empty());
    let (_, adb) = run_slug(&mods, "aqf_dumpsys_adb_state");
    assert_eq!(adb.records.len(), 1);
    // No acquisition.json: every trusted key is "not the acquisition's" (LOW), as MVT's
    // nested bugreport check would say.
    assert!(adb.heuristics().all(|h| h.level == Level::Low));
}

#[test]
fn bugreport_modules_match_mvt() {
    let before = tree_hash(&mvt("android_data/bugreport"));
    let b = bugreport();
    let mods = modules::bugreport_modules(&b);
    assert_eq!(mods.len(), 13);

    let (_, ap) = run_slug(&mods, "dumpsys_appops");
    assert_eq!(ap.records.len(), 12);
    assert_eq!(ap.timeline().count(), 16);
    let alerts: Vec<_> = ap.heuristics().collect();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].level, Level::Medium);
    assert_eq!(
        alerts[0].message,
        "Package 'org.mozilla.firefox' had risky permission 'REQUEST_INSTALL_PACKAGES' set to 'Unknown' at "
    );

    let (_, pk) = run_slug(&mods, "dumpsys_packages");
    assert_eq!(pk.records.len(), 2);
    assert_eq!(
        field(&pk.records[0], "package_name"),
        "com.samsung.android.provider.filterprovider"
    );
    assert_eq!(field(&pk.records[0], "installer"), "");
    assert_eq!(
        pk.records[0].data["permissions"].as_array().unwrap().len(),
        4
    );
    assert_eq!(
        field(&pk.records[1], "package_name"),
        "com.instagram.android"
    );
    assert_eq!(field(&pk.records[1], "installer"), "com.android.vending");
    assert_eq!(
        pk.records[1].data["permissions"].as_array().unwrap().len(),
        32
    );
    assert_eq!(pk.timeline().count(), 6);

    let (_, pc) = run_slug(&mods, "dumpsys_platform_compat");
    assert_eq!(pc.records.len(), 2);

    let (out, gp) = run_slug(&mods, "dumpsys_get_prop");
    assert!(matches!(out, ModuleOutcome::NotFound(_)));
    assert!(gp.records.is_empty());

    let (_, tb) = run_slug(&mods, "tombstones");
    assert_eq!(tb.records.len(), 2);
    assert_eq!(tb.records[1].data["pid"], 3559);
    assert_eq!(tb.timeline().count(), 2);

    let (_, ts) = run_slug(&mods, "bugreport_timestamps");
    assert_eq!(ts.records.len(), 2);
    assert_eq!(ts.timeline().count(), 2);
    assert!(ts.timeline().all(|e| e.event == "M---"));

    // §7: 26 timeline rows = appops 16 + packages 6 + tombstones 2 + timestamps 2.
    let total: usize = mods
        .iter()
        .map(|m| run(m.as_ref()).1.timeline().count())
        .sum();
    assert_eq!(total, 26);
    assert_eq!(tree_hash(&mvt("android_data/bugreport")), before);
}

#[test]
fn artifact_parsers_match_mvt() {
    let data = mvt("android_data");
    let tz = DeviceTz::unknown();

    let mut pkgs = Vec::new();
    let lines = fixture_lines(&data.join("dumpsys_appops.txt"));
    appops::parse(&lines, &tz, |p| pkgs.push(p));
    assert_eq!(pkgs.len(), 13);
    assert_eq!(pkgs[0].package_name, "com.android.phone");
    assert_eq!(pkgs[0].uid.as_deref(), Some("0"));
    assert_eq!(pkgs[0].permissions.len(), 1);
    assert_eq!(pkgs[0].permissions[0].name, "MANAGE_IPSEC_TUNNELS");
    assert_eq!(pkgs[0].permissions[0].access.as_deref(), Some("allow"));
    assert_eq!(pkgs[6].package_name, "com.sec.factory.camera");
    assert_eq!(pkgs[6].permissions[1].entries.len(), 1);
    assert_eq!(pkgs[11].permissions.len(), 4);
    let risky: usize = pkgs
        .iter()
        .map(|p| modules::dumpsys_appops::appops_heuristics(p).len())
        .sum();
    assert_eq!(risky, 2, "MVT: 2 REQUEST_INSTALL_PACKAGES heuristic alerts");
    assert!(pkgs.iter().any(|p| p.package_name == "com.facebook.katana"));

    let daily = battery::parse_daily(fixture_lines(&data.join("dumpsys_battery.txt")));
    assert_eq!(daily.records.len(), 3);
    assert!(
        daily
            .records
            .iter()
            .any(|r| r.package_name == "com.facebook.system")
    );
    let mut hist = Vec::new();
    let lines = fixture_lines(&data.join("dumpsys_battery.txt"));
    battery::parse_history(&lines, |e| hist.push(e));
    assert_eq!(hist.len(), 5);
    assert_eq!(hist[0].package_name, "com.samsung.android.app.reminder");
    assert_eq!(hist[1].event, "end_job");
    assert_eq!(
        (
            hist[2].event,
            hist[2].uid.as_str(),
            hist[2].package_name.as_str()
        ),
        ("start_top", "u0a280", "com.whatsapp")
    );
    assert_eq!(hist[3].event, "end_top");
    assert_eq!(hist[4].package_name, "com.sec.android.app.launcher");

    let mut ops = Vec::new();
    dumpsys_misc::parse_dbinfo(fixture_lines(&data.join("dumpsys_dbinfo.txt")), |o| {
        ops.push(o)
    });
    assert_eq!(ops.len(), 5);
    assert_eq!(ops[0].action, "executeForCursorWindow");
    assert_eq!(ops[0].sql, "PRAGMA database_list;");
    assert_eq!(
        ops[0].path,
        "/data/user/0/com.wssyncmldm/databases/idmsdk.db"
    );

    let pk_lines = fixture_lines(&data.join("dumpsys_packages.txt"));
    let mut acts = Vec::new();
    dumpsys_misc::parse_activities(&pk_lines, |a| acts.push(a));
    assert_eq!(acts.len(), 4);
    assert_eq!(acts[0].package_name, "com.samsung.android.app.social");
    assert_eq!(
        acts[0].activity,
        "com.samsung.android.app.social/.feed.FeedsActivity"
    );
    let mut pks = Vec::new();
    packages::parse(&pk_lines, |p| pks.push(p));
    assert_eq!(pks.len(), 2);
    assert_eq!(
        pks[0].package_name,
        "com.samsung.android.provider.filterprovider"
    );
    assert_eq!(pks[0].version_name, "5.0.07");
    assert_eq!(pks[0].first_install_time, "2008-12-31 16:00:00");
    assert!(pks[0].system);
    assert!(
        pks.iter()
            .any(|p| p.package_name == "com.sec.android.app.DataCreate")
    );
    let receivers = dumpsys_misc::parse_receivers(&pk_lines);
    assert_eq!(receivers.len(), 4);
    assert_eq!(
        receivers[0].0,
        "com.android.storagemanager.automatic.SHOW_NOTIFICATION"
    );
    assert_eq!(receivers[0].1[0].package_name, "com.android.storagemanager");

    let mut compat = Vec::new();
    dumpsys_misc::parse_platform_compat(
        fixture_lines(&data.join("dumpsys_platform_compat.txt")),
        |p| compat.push(p),
    );
    assert_eq!(
        compat,
        ["org.torproject.torbrowser", "org.article19.circulo.next"]
    );

    let props: Vec<_> = fixture_lines(&data.join("getprop.txt"))
        .iter()
        .filter_map(|l| simple::getprop_line(l))
        .collect();
    assert_eq!(props.len(), 13);
    assert_eq!(
        (props[0].name.as_str(), props[0].value.as_str()),
        ("af.fast_track_multiplier", "1")
    );
    let procs: Vec<_> = fixture_lines(&data.join("ps.txt"))
        .iter()
        .skip(1)
        .filter_map(|l| simple::ps_line(l).unwrap())
        .collect();
    assert_eq!(procs.len(), 17);
    assert_eq!(procs[0].name, "init");
    assert!(procs.iter().any(|p| p.name == "lru-add-drain"));

    let mut acc = Vec::new();
    dumpsys_misc::parse_accessibility(
        fixture_lines(&data.join("dumpsys_accessibility.txt")),
        |s| acc.push(s),
    );
    assert_eq!(acc.len(), 4);
    assert_eq!(acc[0].package_name, "com.android.settings");
    assert_eq!(
        acc[0].service,
        "com.android.settings/com.samsung.android.settings.development.gpuwatch.GPUWatchInterceptor"
    );
    let mut acc14 = Vec::new();
    dumpsys_misc::parse_accessibility(
        fixture_lines(&data.join("dumpsys_accessibility_v14_or_later.txt")),
        |s| acc14.push(s),
    );
    assert_eq!(acc14.len(), 1);
    assert_eq!(acc14[0].package_name, "com.malware.accessibility");
    assert_eq!(acc14[0].service, "com.malware.service.malwareservice");
}

fn adb_section(path: &std::path::Path) -> Vec<u8> {
    // The artifact files hold the section with its header; MVT's parser gets what follows.
    let raw = std::fs::read(path).unwrap();
    let marker = b"DUMP OF SERVICE adb:\n";
    let start = raw.windows(marker.len()).position(|w| w == marker).unwrap() + marker.len();
    let body = &raw[start..];
    let end = body
        .windows(78)
        .position(|w| w == [b'-'; 78])
        .map_or(body.len(), |e| e);
    body[..end]
        .strip_suffix(b"\n")
        .unwrap_or(&body[..end])
        .to_vec()
}

#[test]
fn adb_state_matches_mvt() {
    let data = mvt("android_data");
    let s = adb::parse(&adb_section(&data.join("dumpsys_adb.txt"))).unwrap();
    assert_eq!(s.user_keys.len(), 1);
    assert_eq!(
        s.user_keys[0].fingerprint,
        "F0:A1:3D:8C:B3:F4:7B:09:9F:EE:8B:D8:38:2E:BD:C6"
    );
    assert_eq!(s.user_keys[0].user, "user@linux");
    let wifi = adb::parse(&adb_section(&data.join("dumpsys_adb_wifi.txt"))).unwrap();
    assert!(!wifi.json["keystore"].as_str().unwrap().contains("adb_wifi"));
    assert!(wifi.json["adb_wifi"].is_object());
    let xml = adb::parse(&adb_section(&data.join("dumpsys_adb_xml.txt"))).unwrap();
    assert_eq!(xml.user_keys[0].user, "user@laptop");
    assert_eq!(xml.keystore[0].user, "user@laptop");
    assert_eq!(
        xml.keystore[0].fingerprint,
        "F0:0B:27:08:E3:68:7B:FA:4C:79:A2:B4:BF:0E:CF:70"
    );
    assert_eq!(
        xml.keystore[0].last_connected.as_deref(),
        Some("1628501829898")
    );

    // MVT's AndroidQF-context checks: the acquisition's key last connected 2 days before
    // (INFORMATIONAL), another host's key (LOW), an invalid key (LOW).
    let key = |k: &str, user: &str, last: Option<&str>| adb::AdbKey {
        user: user.into(),
        fingerprint: format!("{user}-fp"),
        key: k.into(),
        last_connected: last.map(str::to_owned),
    };
    let state = adb::AdbState {
        json: serde_json::Map::new(),
        user_keys: vec![
            key("QUJDRA==", "acquisition@host", None),
            key("RUZHSA==", "other@host", None),
            key("not-base64", "invalid@host", None),
        ],
        keystore: vec![key("QUJDRA==", "acquisition@host", Some("1750266000000"))],
    };
    let ctx = bridle_android::AcquisitionContext {
        started: Some("2025-06-20T18:00:00Z".into()),
        adb_host_public_key: Some("QUJDRA== acquisition@host".into()),
    };
    let h = modules::dumpsys_adb_state::adb_heuristics(&state, &ctx);
    let lv: Vec<Level> = h.iter().map(|x| x.level).collect();
    assert_eq!(lv, [Level::Informational, Level::Low, Level::Low]);
    assert!(h[0].message.contains("at least one day before"));
    assert_eq!(
        h[0].event_time.unwrap().to_mvt(),
        "2025-06-18 17:00:00.000000"
    );
    assert!(
        h[1].message
            .contains("different from the AndroidQF acquisition host")
    );
    assert!(h[2].message.contains("invalid trusted ADB host key"));
    // No host key in the context: LOW "does not include its host key".
    let h = modules::dumpsys_adb_state::adb_heuristics(
        &adb::AdbState {
            json: serde_json::Map::new(),
            user_keys: vec![key("QUJDRA==", "h", None)],
            keystore: vec![],
        },
        &bridle_android::AcquisitionContext::default(),
    );
    assert_eq!(h.len(), 1);
    assert!(h[0].message.contains("does not include its host key"));
    // A recent connection: nothing.
    let h = modules::dumpsys_adb_state::adb_heuristics(
        &adb::AdbState {
            json: serde_json::Map::new(),
            user_keys: vec![],
            keystore: vec![key("QUJDRA==", "a", Some("1750438800000"))],
        },
        &ctx,
    );
    assert!(h.is_empty());
}

#[test]
fn tombstones_text_and_protobuf_match_mvt() {
    let data = mvt("android_data");
    let tz = DeviceTz::unknown();
    let text = tombstone::parse_text(
        "tombstone_process.txt",
        None,
        &String::from_utf8_lossy(&std::fs::read(data.join("tombstone_process.txt")).unwrap()),
        &tz,
    )
    .unwrap();
    let pb = tombstone::parse_protobuf(
        "tombstone_process.pb",
        None,
        &std::fs::read(data.join("tombstone_process.pb")).unwrap(),
        &tz,
    )
    .unwrap();
    for c in [&text, &pb] {
        assert_eq!(
            c.command_line.as_deref().unwrap(),
            ["/vendor/bin/hw/android.hardware.media.c2@1.2-mediatek"]
        );
        assert_eq!(c.uid, 1046);
        assert_eq!(c.pid, 25541);
        assert_eq!(c.process_name.as_deref(), Some("mtk.ape.decoder"));
        // MVT prints the wall time "2023-04-12 12:32:40.518290" and drops the +0200 offset;
        // bridle converts to UTC.
        assert_eq!(c.timestamp.unwrap().to_mvt(), "2023-04-12 10:32:40.518290");
    }
    assert_eq!(text.tid, 21307);
    assert_eq!(
        text.binary_path.as_deref(),
        Some("/vendor/bin/hw/android.hardware.media.c2@1.2-mediatek")
    );
    assert_eq!(
        pb.causes.as_ref().unwrap(),
        &[serde_json::json!({"human_readable": "null pointer dereference", "memory_error": null})]
    );
    let t00 = tombstone::parse_text(
        "tombstone_00",
        None,
        &String::from_utf8_lossy(
            &std::fs::read(data.join("bugreport/FS/data/tombstones/tombstone_00")).unwrap(),
        ),
        &tz,
    )
    .unwrap();
    assert_eq!(
        t00.abort_message.as_deref(),
        Some("Check failed: payload.size() <= bytes_left (payload.size()=99, bytes_left=51) ")
    );
}

#[test]
fn backups_match_mvt() {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let dir = mvt("android_backup");
    for (file, sms, tar_sha) in [
        (
            "backup.ab",
            2,
            "ce1ac5009fea5187a9f546b51e1446ba450243ae91d31dc779233ec0937b5d18",
        ),
        (
            "backup3.ab",
            1,
            "33e73df2ede9798dcb3a85c06200ee41c8f52dd2f2e50ffafcceb0407bc13e3a",
        ),
    ] {
        let path = dir.join(file);
        let (_, mut body) =
            bridle_android::backup::open_ab(std::fs::File::open(&path).unwrap(), None).unwrap();
        let mut tar = Vec::new();
        body.read_to_end(&mut tar).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&tar)), tar_sha, "{file}");
        let b = Arc::new(
            Backup::open(&path, EvidenceLog::new(), None, ArchiveLimits::default()).unwrap(),
        );
        let (_, sink) = run_slug(&modules::backup_modules(&b), "sms");
        assert_eq!(sink.records.len(), sms, "{file}");
        assert_eq!(sink.records[0].data["links"].as_array().unwrap().len(), 1);
        assert!(sink.timeline().next().is_none());
    }
    let b = Arc::new(
        Backup::open(
            &dir.join("backup.ab"),
            EvidenceLog::new(),
            None,
            ArchiveLimits::default(),
        )
        .unwrap(),
    );
    let (_, sink) = run_slug(&modules::backup_modules(&b), "sms");
    assert_eq!(sink.records[0].data["links"][0], "http://google.com");

    // The unpacked folder.
    let b =
        Arc::new(Backup::open(&dir, EvidenceLog::new(), None, ArchiveLimits::default()).unwrap());
    let (_, sink) = run_slug(&modules::backup_modules(&b), "sms");
    assert_eq!(sink.records.len(), 2);
    assert_eq!(sink.records[0].data["links"][0], "https://google.com/");
    assert_eq!(field(&sink.records[0], "direction"), "received");
    assert_eq!(
        field(&sink.records[0], "isodate"),
        "2022-02-22 15:29:41.956000"
    );
    assert_eq!(
        field(&sink.records[1], "body"),
        "Very suspicious MMS, click on this link http://google.com"
    );
    assert!(sink.records[1].data.get("mms_body").is_none());
    assert_eq!(field(&sink.records[1], "direction"), "sent");
}

#[test]
fn encrypted_backup_is_refused_until_the_decryptor_is_wired() {
    // backup2.ab (AES-256, password 123456): the decryption seam reports it encrypted.
    let path = mvt("android_backup/backup2.ab");
    let b =
        Arc::new(Backup::open(&path, EvidenceLog::new(), None, ArchiveLimits::default()).unwrap());
    let mods = modules::backup_modules(&b);
    let mut sink = bridle_model::VecSink::default();
    let err = mods[0].run(&mut sink).unwrap_err();
    assert!(
        matches!(err, bridle_model::ModuleError::Encrypted { .. }),
        "{err}"
    );
    // Through AndroidQF too (androidqf_encrypted holds the same file).
    let a = aqf(&mvt("androidqf_encrypted"));
    let err = run_slug_err(&modules::androidqf_modules(&a), "sms");
    assert!(err.contains("encrypted"), "{err}");
}

fn run_slug_err(mods: &[Box<dyn bridle_model::Module>], slug: &str) -> String {
    let m = mods.iter().find(|m| m.info().slug == slug).unwrap();
    let mut sink = bridle_model::VecSink::default();
    m.run(&mut sink).unwrap_err().to_string()
}

#[test]
fn module_lists() {
    let infos = modules::androidqf_module_infos();
    let slugs: Vec<&str> = infos.iter().map(|i| i.slug).collect();
    assert_eq!(
        &slugs[..8],
        [
            "aqf_packages",
            "aqf_processes",
            "aqf_get_prop",
            "aqf_settings",
            "aqf_files",
            "aqf_log_timestamps",
            "root_binaries",
            "mounts"
        ]
    );
    let mut unique = slugs.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), slugs.len(), "slugs collide: {slugs:?}");
    let a = aqf(&mvt("androidqf"));
    let built: Vec<&str> = modules::androidqf_modules(&a)
        .iter()
        .map(|m| m.info().slug)
        .collect();
    assert_eq!(built, slugs);
    assert_eq!(modules::bugreport_module_infos().len(), 13);
    assert_eq!(
        modules::intrusion_log_module_infos()
            .iter()
            .map(|i| i.slug)
            .collect::<Vec<_>>(),
        ["dns_event", "connect_event", "security_event"]
    );
    assert_eq!(modules::backup_module_infos()[0].slug, "sms");
    let _ = DumpsysOrigin::AqfDumpsys(a);
}

#[test]
fn detect_kinds() {
    use bridle_android::{AndroidKind, detect};
    assert_eq!(detect(&mvt("androidqf")), Some(AndroidKind::AndroidQf));
    assert_eq!(detect(&mvt("androidqf.zip")), Some(AndroidKind::AndroidQf));
    assert_eq!(
        detect(&mvt("android_data/bugreport")),
        Some(AndroidKind::Bugreport)
    );
    assert_eq!(
        detect(&mvt("android_backup/backup.ab")),
        Some(AndroidKind::Backup)
    );
    assert_eq!(
        detect(&mvt("android_backup")),
        Some(AndroidKind::BackupFolder)
    );
    assert_eq!(detect(&mvt("ios_backup")), None);
    assert_eq!(detect(&mvt("android_data/getprop.txt")), None);
}
