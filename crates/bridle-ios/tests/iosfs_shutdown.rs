//! shutdown.log heuristics and indicator checks on the fixtures in
//! shared/fixtures/shutdown (excerpts of a real log, and a positive built from it), in a
//! filesystem dump and in a sysdiagnose.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "iosfs/support.rs"]
mod support;

use bridle_ios::modules::shutdown_log::{self, ShutdownLog, parse_shutdown_log};
use bridle_model::{Level, ModuleOutcome, Record, VecSink};
use std::path::{Path, PathBuf};
use support::*;

fn fixture(name: &str) -> PathBuf {
    shared().join("fixtures/shutdown").join(name)
}

/// A dump whose shutdown.log is the given bytes.
fn dump_with(name: &str, log: &[u8]) -> PathBuf {
    let dir = scratch(name);
    let p = dir.join("private/var/db/diagnostics/shutdown.log");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, log).unwrap();
    dir
}

fn run_dump(dir: &Path) -> VecSink {
    let (outcome, sink) = common::run(&ShutdownLog::new(open_fs(dir)));
    assert_eq!(outcome, ModuleOutcome::Done);
    sink
}

fn pegasus() -> bridle_indicators::Matcher {
    matcher(&[shared().join("iocs/investigations/2021-07-18_nso/pegasus.stix2")])
}

#[test]
fn benign_log_raises_nothing() {
    let bytes = std::fs::read(fixture("benign_two_reboots.shutdown.log")).unwrap();
    let dir = dump_with("benign", &bytes);
    let before = tree_hash(&dir);
    let sink = run_dump(&dir);
    let p = parse_shutdown_log(&bytes[..], u64::MAX).unwrap();
    assert_eq!(
        p.shutdowns
            .iter()
            .map(|s| s.time.unwrap().unix_seconds())
            .collect::<Vec<_>>(),
        [1_550_094_666, 1_550_097_973]
    );
    assert_eq!(
        p.shutdowns
            .iter()
            .map(|s| s.delay_blocks)
            .collect::<Vec<_>>(),
        [2, 2]
    );
    assert_eq!(sink.records.len(), p.clients.len());
    assert!(
        sink.heuristics().next().is_none(),
        "{:?}",
        sink.heuristics().collect::<Vec<_>>()
    );
    assert!(sink.problems.is_empty());
    let m = pegasus();
    assert!(sink.records.iter().all(|r| hits(&m, r).is_empty()));
    // Paths with spaces are kept whole.
    assert!(
        sink.records
            .iter()
            .any(|r| s(r, "client").contains("Software Update.app"))
    );
    assert_eq!(before, tree_hash(&dir));
}

#[test]
fn positive_log_flags_the_staging_client_sticky_and_by_indicator() {
    let bytes = std::fs::read(fixture("positive_roleaccountd_staging_bh.shutdown.log")).unwrap();
    let dir = dump_with("positive", &bytes);
    let sink = run_dump(&dir);
    let flagged: Vec<&Record> = sink
        .records
        .iter()
        .filter(|r| r.heuristics.iter().any(|h| h.level == Level::High))
        .collect();
    assert_eq!(flagged.len(), 2);
    let pids: Vec<&str> = flagged.iter().map(|r| s(r, "pid")).collect();
    assert_eq!(pids, ["1123", "1131"]);
    for r in &flagged {
        assert_eq!(
            s(r, "client"),
            "/private/var/db/com.apple.xpc.roleaccountd.staging/bh/E55D9A31-C0F3-5517-BB0A-838CDD0C3D6D"
        );
        assert!(has_heuristic(r, Level::High, "/private/var/db/"));
        assert!(has_heuristic(r, Level::High, "listed in 2 shutdowns"));
        assert!(has_heuristic(
            r,
            Level::High,
            "Process /private/var/db/com.apple.xpc.roleaccountd.staging/bh (PID"
        ));
    }
    assert_eq!(s(flagged[0], "isodate"), "2018-04-30 23:46:23.000000");
    // No delay rule: one delay block per shutdown.
    assert!(sink.heuristics().all(|h| h.level == Level::High));
    // `bh` is a Pegasus process name; the staging folder a Pegasus path (Amnesty's files.txt).
    let m = pegasus();
    for r in &sink.records {
        let h = hits(&m, r);
        if flagged.iter().any(|f| std::ptr::eq(*f, r)) {
            assert!(
                h.iter().any(|h| h.value == "bh" && h.bucket == "processes"),
                "{h:?}"
            );
        } else {
            assert!(h.is_empty(), "{} flagged: {h:?}", s(r, "client"));
        }
    }
    // Amnesty's files.txt writes this path without its leading `/`; the STIX form is absolute.
    let m = matcher_from(&stix(&[(
        "file:path",
        "/private/var/db/com.apple.xpc.roleaccountd.staging/",
    )]));
    assert_eq!(
        sink.records
            .iter()
            .filter(|r| !hits(&m, r).is_empty())
            .count(),
        2
    );
}

#[test]
fn three_delay_blocks_are_low_supporting_evidence() {
    // The benign log with a third delay header before its first SIGTERM.
    let text = std::fs::read_to_string(fixture("benign_two_reboots.shutdown.log")).unwrap();
    let first_sigterm = text.find("SIGTERM:").unwrap();
    let mut log = text[..first_sigterm].to_owned();
    log.push_str("After 4.50s, these clients are still here:\n\t\tremaining client pid: 88 (/usr/libexec/locationd/AAE63798-380F-3516-AAB4-FE8C9E370A97)\n");
    log.push_str(&text[first_sigterm..]);
    let dir = dump_with("delays", log.as_bytes());
    let sink = run_dump(&dir);
    let low: Vec<_> = sink
        .heuristics()
        .filter(|h| h.level == Level::Low)
        .collect();
    assert_eq!(low.len(), 1, "one alert per shutdown, not per client");
    assert!(low[0].message.contains("waited 3 times"));
    assert_eq!(low[0].event_time.unwrap().unix_seconds(), 1_550_094_666);
    assert!(sink.heuristics().all(|h| h.level == Level::Low));
}

#[test]
fn the_same_module_reads_a_sysdiagnose() {
    let bytes = std::fs::read(fixture("positive_roleaccountd_staging_bh.shutdown.log")).unwrap();
    let dir = scratch("sysdiag-shutdown");
    let root = dir.join("sysdiagnose_2018.05.01_10-00-00+0200_iPhone-OS_iPhone_15E216");
    let p = root.join("system_logs.logarchive/Extra/shutdown.log");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, &bytes).unwrap();
    std::fs::write(root.join("ps.txt"), b"").unwrap();
    let ios = open_sysdiagnose(&dir);
    let (outcome, sink) = common::run(&ShutdownLog::new(ios));
    assert_eq!(outcome, ModuleOutcome::Done);
    assert_eq!(
        sink.heuristics().filter(|h| h.level == Level::High).count(),
        2
    );
    assert_eq!(
        sink.records[0].source.file.as_ref().unwrap().logical_path,
        "sysdiagnose_2018.05.01_10-00-00+0200_iPhone-OS_iPhone_15E216/system_logs.logarchive/Extra/shutdown.log"
    );
    // A dump's path is not looked up in a sysdiagnose, nor the reverse.
    assert!(shutdown_log::SYSDIAGNOSE_PATHS[0].starts_with("system_logs.logarchive"));
}
