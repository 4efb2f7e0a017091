//! Sysdiagnose folders: recall, decoys and heuristics on an archive made by
//! shared/bench/gen_sysdiagnose.py (unpacked with Python's tarfile), device info and time
//! zone, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "iosfs/support.rs"]
mod support;

use bridle_evidence::{EvidenceLog, Limits};
use bridle_ios::modules::{
    crash_reports, mc_state, mobile_installation, sysdiagnose_module_infos, sysdiagnose_modules,
};
use bridle_ios::{Ios, IosKind, find_dump_root, find_sysdiagnose_root, parse_sysdiagnose_name};
use bridle_model::{Level, ModuleOutcome, ObservableKind, ProblemKind, Record};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use support::*;

/// The module each truth `module` name is read by.
fn slug(truth_module: &str) -> &'static str {
    match truth_module {
        "ps" => "ps",
        "shutdown_log" => "shutdown_log",
        "crash_ips" => "crash_reports",
        other => panic!("unknown truth module {other}"),
    }
}

/// The generated archive unpacked (once), its truth, and the top folder.
fn sysdiagnose() -> &'static (PathBuf, Json) {
    static S: OnceLock<(PathBuf, Json)> = OnceLock::new();
    S.get_or_init(|| {
        let dir = scratch("sysdiagnose");
        let archive = dir.join("sysdiagnose_test.tar.gz");
        let iocs = shared().join("iocs");
        generate(
            "gen_sysdiagnose.py",
            &[
                "--out",
                archive.to_str().unwrap(),
                "--seed",
                "1",
                "--plant",
                iocs.to_str().unwrap(),
                "--plant-count",
                "30",
                "--logarchive-mb",
                "1",
            ],
        );
        let unpacked = dir.join("unpacked");
        std::fs::create_dir_all(&unpacked).unwrap();
        // Until the archive view is wired into `Ios`, unpack with Python's tarfile (its
        // "data" filter refuses links out, absolute names and device nodes).
        let script = "import sys, tarfile\n\
                      with tarfile.open(sys.argv[1]) as t:\n    t.extractall(sys.argv[2], filter='data')\n";
        let out = std::process::Command::new(python())
            .args(["-c", script, archive.to_str().unwrap(), unpacked.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        (unpacked, truth(&dir.join("sysdiagnose_test.truth.json")))
    })
}

fn run_sysdiagnose() -> &'static Results {
    static RUN: OnceLock<Results> = OnceLock::new();
    RUN.get_or_init(|| {
        let (path, _) = sysdiagnose();
        run_all(sysdiagnose_modules(&open_sysdiagnose(path)))
    })
}

fn is_record(module: &str, r: &Record, want: &Json, top: &str) -> bool {
    let ws = |k: &str| {
        want.get(k)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    match module {
        "ps" => {
            r.source.table.as_deref() == Some("ps.txt")
                && r.data["pid"] == want["pid"]
                && s(r, "command") == ws("command")
                && r.source.row.as_deref() == Some(want["line"].to_string().as_str())
        }
        "shutdown_log" => s(r, "client") == ws("client"),
        "crash_reports" => {
            s(r, "file")
                == ws("file")
                    .strip_prefix(&format!("{top}/"))
                    .unwrap_or_default()
        }
        other => panic!("{other}"),
    }
}

#[test]
fn every_planted_indicator_is_found_and_no_decoy_flagged() {
    let (path, t) = sysdiagnose();
    let before = tree_hash(path);
    let top = t["top_folder"].as_str().unwrap();
    let results = run_sysdiagnose();
    let m = matcher(&[shared().join("iocs")]);
    let planted = t["planted"].as_array().unwrap();
    assert!(planted.len() >= 25);
    let mut missed = Vec::new();
    for p in planted {
        let module = slug(p["module"].as_str().unwrap());
        let (outcome, sink) = &results[module];
        assert_eq!(outcome.as_ref().unwrap(), &ModuleOutcome::Done);
        let value = p["value"].as_str().unwrap();
        let records: Vec<&Record> = sink
            .records
            .iter()
            .filter(|r| is_record(module, r, &p["record"], top))
            .collect();
        assert!(!records.is_empty(), "{} has no record", p["id"]);
        let found = records.iter().any(|r| {
            hits(&m, r)
                .iter()
                .any(|h| h.stix_id == p["indicator_id"].as_str().unwrap() || h.value == value)
        });
        if !found {
            missed.push(format!("{} {module} {value}", p["id"]));
        }
    }
    assert!(missed.is_empty(), "missed: {missed:#?}");
    let decoys = t["decoys"].as_array().unwrap();
    assert!(decoys.len() >= 20);
    for d in decoys {
        let module = slug(d["module"].as_str().unwrap());
        let records: Vec<&Record> = results[module]
            .1
            .records
            .iter()
            .filter(|r| is_record(module, r, &d["record"], top))
            .collect();
        assert!(!records.is_empty(), "decoy {} has no record", d["id"]);
        for r in records {
            let h = hits(&m, r);
            assert!(h.is_empty(), "decoy {} flagged: {:?}", d["id"], h);
        }
    }
    assert_eq!(before, tree_hash(path), "the sysdiagnose was modified");
}

#[test]
fn every_heuristic_trigger_fires_and_nothing_else() {
    let (_, t) = sysdiagnose();
    let top = t["top_folder"].as_str().unwrap();
    let results = run_sysdiagnose();
    let mut expected: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for h in t["heuristics"].as_array().unwrap() {
        let module = slug(h["module"].as_str().unwrap());
        let sink = &results[module].1;
        let kind = h["kind"].as_str().unwrap();
        if kind == "shutdown_delay_anomaly" {
            let when = bridle_model::Timestamp::from_unix_seconds(
                h["record"]["sigterm"].as_i64().unwrap(),
            )
            .unwrap();
            assert!(
                sink.heuristics()
                    .any(|x| x.level == Level::Low && x.event_time == Some(when)),
                "{} not raised",
                h["id"]
            );
            continue;
        }
        let dir = if kind.ends_with("_db") {
            "/private/var/db/"
        } else {
            "/private/var/tmp/"
        };
        let records: Vec<&Record> = sink
            .records
            .iter()
            .filter(|r| is_record(module, r, &h["record"], top))
            .collect();
        assert!(!records.is_empty(), "{}", h["id"]);
        for r in &records {
            assert!(
                has_heuristic(r, Level::High, dir),
                "{} ({kind}) not flagged",
                h["id"]
            );
        }
        let key = match module {
            "shutdown_log" => s(records[0], "client").to_owned(),
            "ps" => s(records[0], "pid").to_owned() + &records[0].data["pid"].to_string(),
            _ => s(records[0], "file").to_owned(),
        };
        expected.entry(module).or_default().insert(key);
    }
    // Precision: nothing else is HIGH.
    for (module, want) in expected {
        let got: BTreeSet<String> = results[module]
            .1
            .records
            .iter()
            .filter(|r| r.heuristics.iter().any(|h| h.level == Level::High))
            .map(|r| match module {
                "shutdown_log" => s(r, "client").to_owned(),
                "ps" => s(r, "pid").to_owned() + &r.data["pid"].to_string(),
                _ => s(r, "file").to_owned(),
            })
            .collect();
        assert_eq!(got, want, "{module}");
    }
    let lows = results["shutdown_log"]
        .1
        .heuristics()
        .filter(|h| h.level == Level::Low)
        .count();
    assert_eq!(lows, 1);
}

#[test]
fn device_identity_and_time_zone_come_from_the_name_and_remotectl() {
    let (path, t) = sysdiagnose();
    let top = t["top_folder"].as_str().unwrap();
    let name = parse_sysdiagnose_name(top).unwrap();
    let results = run_sysdiagnose();
    let info = &results["sysdiagnose_info"].1.records;
    assert_eq!(info.len(), 1);
    let r = &info[0];
    assert_eq!(s(r, "name"), top);
    assert_eq!(s(r, "utc_offset"), t["stats"]["tz"].as_str().unwrap());
    assert_eq!(
        s(r, "isodate"),
        bridle_model::Timestamp::from_unix_seconds(t["stats"]["time"].as_f64().unwrap() as i64)
            .unwrap()
            .to_mvt()
    );
    let dev = &t["stats"]["device"];
    assert_eq!(s(r, "serial_number"), dev["serial"].as_str().unwrap());
    assert_eq!(s(r, "unique_device_id"), dev["udid"].as_str().unwrap());
    assert_eq!(s(r, "os_version"), dev["version"].as_str().unwrap());
    assert_eq!(s(r, "build_version"), dev["build"].as_str().unwrap());
    assert_eq!(r.timeline[0].event, "sysdiagnose_created");
    // Every ps record is dated at the moment the sysdiagnose was taken.
    let ps = &results["ps"].1;
    assert!(ps.timeline().all(|e| e.timestamp == name.created));
    assert!(
        ps.records
            .iter()
            .all(|r| r.data["threads"].as_u64().unwrap() >= 1)
    );
    assert!(
        ps.records
            .iter()
            .all(|r| s(r, "utc_offset") == name.utc_offset)
    );
    assert_eq!(
        ps.records.len() as u64,
        t["stats"]["ps"]["processes"].as_u64().unwrap()
    );
    // Crash reports: their own offset, converted to UTC.
    let crash = results["crash_reports"]
        .1
        .records
        .iter()
        .find(|r| s(r, "timestamp").ends_with(t["stats"]["tz"].as_str().unwrap()))
        .unwrap();
    let local = s(crash, "timestamp");
    let want = jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S%.f %z", local)
        .unwrap()
        .to_timestamp()
        .unwrap();
    assert_eq!(
        s(crash, "isodate"),
        want.strftime("%Y-%m-%d %H:%M:%S%.6f").to_string()
    );
    assert_ne!(&local[..19], &s(crash, "isodate")[..19]);
    assert_eq!(
        results["crash_reports"].1.records.len() as u64,
        t["stats"]["crashes_and_spins"]["reports"].as_u64().unwrap()
    );
    // The root is found from the folder holding it; a dump is not a sysdiagnose.
    assert_eq!(find_sysdiagnose_root(path).unwrap(), path.join(top));
    let ios = open_sysdiagnose(path);
    assert_eq!(ios.kind(), IosKind::Sysdiagnose);
    assert!(ios.file_names().is_none());
    assert!(find_dump_root(path).is_none());
    for (slug, (outcome, sink)) in results {
        assert!(outcome.is_ok(), "{slug}: {outcome:?}");
        assert!(sink.problems.is_empty(), "{slug}: {:?}", sink.problems);
    }
    let infos: Vec<&str> = sysdiagnose_module_infos().iter().map(|i| i.slug).collect();
    assert_eq!(
        infos,
        [
            "sysdiagnose_info",
            "ps",
            "shutdown_log",
            "crash_reports",
            "mobile_installation",
            "mc_state"
        ]
    );
    // The generated MCState holds two settings events.
    assert_eq!(results["mc_state"].1.records.len(), 2);
}

/// A small sysdiagnose folder built in the test.
fn small(name: &str) -> PathBuf {
    let dir = scratch(name);
    let root = dir.join("sysdiagnose_2025.04.07_08-06-18-0700_iPhone-OS_iPhone_20A362");
    std::fs::create_dir_all(root.join("crashes_and_spins")).unwrap();
    std::fs::write(root.join("sysdiagnose.log"), b"x\n").unwrap();
    dir
}

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn garbage_ips_files_are_reported_and_the_rest_read() {
    let dir = small("ips-garbage");
    let root = find_sysdiagnose_root(&dir).unwrap();
    let good = "{\"app_name\":\"bh\",\"timestamp\":\"2025-04-07 06:00:00.00 -0700\",\"bug_type\":\"309\",\"bundleID\":\"com.example.bh\"}\n{\"procName\":\"bh\",\"procPath\":\"/private/var/db/com.apple.xpc.roleaccountd.staging/bh\",\"pid\":42}\n";
    write(&root, "crashes_and_spins/good.ips", good.as_bytes());
    write(&root, "crashes_and_spins/empty.ips", b"");
    write(
        &root,
        "crashes_and_spins/binary.ips",
        b"\x00\x01\x02\xff\xfe\n\x00",
    );
    write(&root, "crashes_and_spins/notjson.ips", b"hello world\n{}");
    let mut long = b"{\"app_name\":\"".to_vec();
    long.extend(std::iter::repeat_n(b'a', 2 << 20));
    write(&root, "crashes_and_spins/longline.ips", &long);
    write(
        &root,
        "crashes_and_spins/badbody.ips",
        b"{\"app_name\":\"x\",\"bug_type\":\"298\"}\n{\"processes\": [{\"name\": \"roleaccountd\"",
    );
    write(
        &root,
        "crashes_and_spins/legacy.ips",
        b"{\"app_name\":\"y\",\"bug_type\":\"109\",\"timestamp\":\"2019-02-13 10:00:00.00 +0100\"}\nIncident Identifier: X\nProcess:   msgacntd [77]\nPath:      /private/var/tmp/msgacntd\n",
    );
    write(
        &root,
        "crashes_and_spins/big.ips",
        &vec![b'{'; (33 << 20) as usize],
    );
    let before = tree_hash(&dir);
    let ios = open_sysdiagnose(&dir);
    let (outcome, sink) = common::run(&crash_reports::CrashReports::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    let files: BTreeSet<&str> = sink.records.iter().map(|r| s(r, "file")).collect();
    assert_eq!(
        files,
        [
            "crashes_and_spins/badbody.ips",
            "crashes_and_spins/good.ips",
            "crashes_and_spins/legacy.ips"
        ]
        .into_iter()
        .collect()
    );
    let bad: BTreeMap<&str, ProblemKind> = sink
        .problems
        .iter()
        .map(|p| {
            (
                p.file.as_deref().unwrap().rsplit('/').next().unwrap(),
                p.kind,
            )
        })
        .collect();
    for name in [
        "empty.ips",
        "binary.ips",
        "notjson.ips",
        "longline.ips",
        "big.ips",
    ] {
        assert_eq!(
            bad.get(name),
            Some(&ProblemKind::Unreadable),
            "{name}: {bad:?}"
        );
    }
    assert_eq!(bad.get("badbody.ips"), Some(&ProblemKind::Partial));
    let good = sink
        .records
        .iter()
        .find(|r| s(r, "file").ends_with("good.ips"))
        .unwrap();
    assert_eq!(s(good, "isodate"), "2025-04-07 13:00:00.000000");
    assert!(has_heuristic(good, Level::High, "/private/var/db/"));
    assert!(
        good.observables
            .iter()
            .any(|o| o.kind == ObservableKind::AppId && o.value == "com.example.bh")
    );
    let legacy = sink
        .records
        .iter()
        .find(|r| s(r, "file").ends_with("legacy.ips"))
        .unwrap();
    assert_eq!(s(legacy, "proc_path"), "/private/var/tmp/msgacntd");
    assert_eq!(legacy.data["pid"], 77);
    assert!(has_heuristic(legacy, Level::High, "/private/var/tmp/"));
    assert_eq!(before, tree_hash(&dir));
}

#[test]
fn installed_apps_and_profiles_with_the_device_time_zone() {
    let dir = small("apps-profiles");
    let root = find_sysdiagnose_root(&dir).unwrap();
    write(
        &root,
        "logs/MobileInstallation/mobile_installation.log.0",
        b"Mon Apr  7 06:13:52 2025 [234] <notice> (0x16b48f000) -[MIInstaller performInstallationWithError:]: Install Successful for (Customer:org.whispersystems.signal); Staging: 0.03s\n\
          \x00\xff junk\n\
          Mon Apr  7 07:40:47 2025 [446] <notice> (0x16fc9b000) -[MIUninstaller _uninstallBundleWithIdentity:]: Uninstalling identifier org.whispersystems.signal\n\
          Mon Apr  7 07:40:47 2025 [446] <err> (0x16fc9b000) -[MIUninstaller x]: Destroying container org.whispersystems.signal with persona (null) at /private/var/containers/Bundle/Application/1EC20F02-263B-4299-AE05-3F5D7A7744E9\n",
    );
    let mut stub = plist::Dictionary::new();
    stub.insert(
        "PayloadUUID".into(),
        plist::Value::String("11111111-2222-3333-4444-555555555555".into()),
    );
    stub.insert(
        "PayloadIdentifier".into(),
        plist::Value::String("com.example.profile".into()),
    );
    stub.insert(
        "PayloadDisplayName".into(),
        plist::Value::String("Notifications".into()),
    );
    stub.insert(
        "PayloadType".into(),
        plist::Value::String("Configuration".into()),
    );
    stub.insert(
        "InstallDate".into(),
        plist::Value::String("2025-04-01T10:00:00.000000".into()),
    );
    let mut payload = plist::Dictionary::new();
    payload.insert(
        "PayloadType".into(),
        plist::Value::String("com.apple.notificationsettings".into()),
    );
    stub.insert(
        "PayloadContent".into(),
        plist::Value::Array(vec![plist::Value::Dictionary(payload)]),
    );
    let mut buf = Vec::new();
    plist::Value::Dictionary(stub)
        .to_writer_xml(&mut buf)
        .unwrap();
    write(&root, "logs/MCState/Shared/profile-abc.stub", &buf);
    write(
        &root,
        "logs/MCState/Shared/profile-junk.stub",
        b"\x00\x01 not a plist",
    );
    let ios = open_sysdiagnose(&dir);
    assert_eq!(ios.sysdiagnose_name().unwrap().offset_seconds, -7 * 3600);

    let (outcome, sink) = common::run(&mobile_installation::MobileInstallation::new(ios.clone()));
    assert_eq!(outcome, ModuleOutcome::Done);
    let events: Vec<(&str, &str)> = sink
        .records
        .iter()
        .map(|r| (s(r, "event"), s(r, "isodate")))
        .collect();
    assert_eq!(
        events,
        [
            ("app_installed", "2025-04-07 13:13:52.000000"),
            ("app_uninstalled", "2025-04-07 14:40:47.000000"),
            ("container_destroyed", "2025-04-07 14:40:47.000000"),
        ]
    );
    assert_eq!(
        sink.records[0].timeline[0].data,
        "App org.whispersystems.signal installed (Customer)"
    );
    let m = matcher_from(&stix(&[("app:id", "org.whispersystems.signal")]));
    assert_eq!(
        sink.records
            .iter()
            .filter(|r| !hits(&m, r).is_empty())
            .count(),
        3
    );
    assert_eq!(sink.problems.len(), 1, "the junk line");

    let (outcome, sink) = common::run(&mc_state::McState::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(sink.records.len(), 1);
    let r = &sink.records[0];
    assert_eq!(s(r, "isodate"), "2025-04-01 10:00:00.000000");
    assert!(has_heuristic(
        r,
        Level::Medium,
        "com.apple.notificationsettings"
    ));
    assert_eq!(
        r.timeline[0].data,
        "Configuration installed: 11111111-2222-3333-4444-555555555555 - Notifications: None"
    );
    let m = matcher_from(&stix(&[(
        "configuration-profile:id",
        "11111111-2222-3333-4444-555555555555",
    )]));
    assert_eq!(hits(&m, r).len(), 1);
    assert_eq!(sink.problems.len(), 1);
    assert!(
        sink.problems[0]
            .file
            .as_deref()
            .unwrap()
            .ends_with("profile-junk.stub")
    );
}

#[test]
fn a_sysdiagnose_without_a_name_assumes_utc_and_says_so() {
    let dir = scratch("renamed");
    let root = dir.join("case-42");
    write(&root, "ps.txt", b"USER UID PRSNA PID PPID F %CPU %MEM PRI NI VSZ RSS WCHAN TT STAT STARTED TIME COMMAND\nroot 0 99 7 1 4004004 0.0 0.0 0 0 0 0 - ?? ? 1:00PM 0:00.00 /private/var/tmp/x\n");
    write(
        &root,
        "remotectl_dumpstate.txt",
        b"Local device\n\tProperties: {\n\t\tOSVersion => 17.1\n\t}\n",
    );
    write(
        &root,
        "logs/MobileInstallation/mobile_installation.log.1",
        b"Mon Apr  7 06:13:52 2025 [234] <notice> (0x1) -[MIInstaller p]: Install Successful for (Placeholder:com.example.x);\n",
    );
    let ios = open_sysdiagnose(&dir);
    assert!(ios.sysdiagnose_name().is_none());
    let results = run_all(sysdiagnose_modules(&ios));
    let mi = &results["mobile_installation"].1.records[0];
    assert_eq!(s(mi, "isodate"), "2025-04-07 06:13:52.000000");
    assert_eq!(s(mi, "utc_offset"), "assumed +0000");
    let ps = &results["ps"].1.records[0];
    assert!(has_heuristic(ps, Level::High, "/private/var/tmp/"));
    assert_eq!(
        s(&results["sysdiagnose_info"].1.records[0], "os_version"),
        "17.1"
    );
    // A name given by the caller (the archive's file name) wins.
    let named = Ios::open_sysdiagnose(&dir, EvidenceLog::new(), Limits::default())
        .unwrap()
        .with_sysdiagnose_name(
            parse_sysdiagnose_name(
                "sysdiagnose_2025.04.07_08-06-18+0200_iPhone-OS_iPhone_20A362.tar.gz",
            )
            .unwrap(),
        );
    assert_eq!(named.sysdiagnose_name().unwrap().utc_offset, "+0200");
    // Not a sysdiagnose.
    let empty = scratch("not-sysdiagnose");
    assert!(Ios::open_sysdiagnose(&empty, EvidenceLog::new(), Limits::default()).is_err());
}

#[cfg(unix)]
#[test]
fn links_out_of_a_sysdiagnose_are_not_followed() {
    use std::os::unix::fs::symlink;
    let dir = small("links");
    let root = find_sysdiagnose_root(&dir).unwrap();
    let outside = dir.join("outside");
    write(
        &outside,
        "ps.txt",
        b"USER UID PRSNA PID PPID F %CPU %MEM PRI NI VSZ RSS WCHAN TT STAT STARTED TIME COMMAND\nroot 0 99 7 1 4004004 0.0 0.0 0 0 0 0 - ?? ? 1:00PM 0:00.00 /private/var/tmp/x\n",
    );
    write(
        &outside,
        "r.ips",
        b"{\"app_name\":\"x\",\"bug_type\":\"309\"}\n{\"procPath\":\"/private/var/tmp/x\"}\n",
    );
    symlink(outside.join("ps.txt"), root.join("ps.txt")).unwrap();
    symlink(outside.join("r.ips"), root.join("crashes_and_spins/r.ips")).unwrap();
    symlink(&outside, root.join("logs")).unwrap();
    symlink("loop", root.join("crashes_and_spins/loop")).unwrap();
    let before = tree_hash(&dir);
    let log = EvidenceLog::new();
    let ios =
        std::sync::Arc::new(Ios::open_sysdiagnose(&dir, log.clone(), Limits::default()).unwrap());
    let results = run_all(sysdiagnose_modules(&ios));
    for (slug, (outcome, sink)) in &results {
        assert!(outcome.is_ok(), "{slug}: {outcome:?}");
        if *slug != "sysdiagnose_info" {
            assert!(sink.records.is_empty(), "{slug} read a file outside");
        }
    }
    assert!(log.files().is_empty(), "{:?}", log.files());
    assert_eq!(before, tree_hash(&dir));
}
