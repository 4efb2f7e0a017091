//! Intrusion logs, on NDJSON built in the tests (MVT's own tests use the same shapes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bridle_android::IntrusionLogs;
use bridle_android::modules::{self, security_event};
use bridle_android::tz::DeviceTz;
use bridle_evidence::EvidenceLog;
use bridle_evidence::archive::ArchiveLimits;
use bridle_model::{Level, ObservableKind, ProblemKind};
use common::*;
use serde_json::json;
use std::sync::Arc;

fn ndjson(records: &[serde_json::Value]) -> String {
    records
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn open(dir: &std::path::Path, tz: DeviceTz) -> Arc<IntrusionLogs> {
    Arc::new(IntrusionLogs::open(dir, EvidenceLog::new(), tz, ArchiveLimits::default()).unwrap())
}

#[test]
fn core_and_unknown_events() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("intrusion.txt"),
        ndjson(&[
            json!({"dns_event": {"event_time": 1_700_000_000_000_i64, "hostname": "example.com", "package_name": "com.example.app", "ip_addresses": ["/1.2.3.4", "0.0.0.0"]}}),
            json!({"connect_event": {"event_time": 1_700_000_001_000_i64, "ip_address": "/5.6.7.8", "port": 443, "package_name": "com.example.app"}}),
            json!({"security_event": {"event_time": 1_700_000_002_000_000_000_i64, "app_process_start": {"process": "com.example.app:remote", "uid": 10000, "pid": 1234}}}),
            json!({"security_event": {"event_time": 1_700_000_003_000_000_000_i64, "future_google_event": {"field": "value"}}}),
            json!({"future_event": {"event_time": 1_700_000_000_000_i64, "field": "value"}}),
        ]),
    )
    .unwrap();
    let before = tree_hash(dir.path());
    let logs = open(dir.path(), DeviceTz::from_name("Europe/Paris"));
    let mods = modules::intrusion_log_modules(&logs);
    let counts: Vec<usize> = mods
        .iter()
        .map(|m| run(m.as_ref()).1.records.len())
        .collect();
    assert_eq!(counts, [1, 1, 2]);

    let (_, dns) = run(mods[0].as_ref());
    let r = &dns.records[0];
    // Times are UTC; the device's zone is recorded beside them.
    assert_eq!(field(r, "timestamp"), "2023-11-14 22:13:20.000000");
    assert_eq!(field(r, "device_timezone"), "Europe/Paris");
    assert_eq!(r.timeline[0].event, "dns_query");
    assert_eq!(
        r.timeline[0].data,
        "DNS query for example.com by com.example.app [IPs: 1.2.3.4]"
    );
    assert!(observes(r, ObservableKind::Domain, "example.com"));
    assert!(observes(r, ObservableKind::Ip, "1.2.3.4"));
    assert!(!observes(r, ObservableKind::Ip, "0.0.0.0"));
    assert!(observes(r, ObservableKind::AppId, "com.example.app"));
    let unknown: Vec<_> = dns
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Skipped)
        .collect();
    assert_eq!(unknown.len(), 1);
    assert!(
        unknown[0].message.contains("future_event (1)"),
        "{}",
        unknown[0].message
    );

    let (_, conn) = run(mods[1].as_ref());
    assert_eq!(
        conn.records[0].timeline[0].data,
        "Connection to 5.6.7.8:443 by com.example.app"
    );
    assert!(observes(&conn.records[0], ObservableKind::Ip, "5.6.7.8"));

    let (_, sec) = run(mods[2].as_ref());
    let events: Vec<(&str, &str)> = sec
        .timeline()
        .map(|e| (e.event.as_ref(), e.data.as_str()))
        .collect();
    assert_eq!(
        events[0],
        (
            "app_process_start",
            "Process started: com.example.app:remote (UID: 10000, PID: 1234)"
        )
    );
    assert_eq!(
        events[1],
        (
            "future_google_event",
            "future_google_event: {'field': 'value'}"
        )
    );
    assert!(observes(
        &sec.records[0],
        ObservableKind::AppId,
        "com.example.app:remote"
    ));
    assert!(observes(&sec.records[0], ObservableKind::AppId, "remote"));
    assert_eq!(
        field(&sec.records[0], "timestamp"),
        "2023-11-14 22:13:22.000000"
    );
    assert_eq!(tree_hash(dir.path()), before);
}

#[test]
fn duplicates_across_files_and_types_are_dropped_and_bad_lines_reported() {
    let dir = tempfile::tempdir().unwrap();
    let dns = json!({"dns_event": {"event_time": 1, "hostname": "a.example"}});
    std::fs::write(
        dir.path().join("day1.txt"),
        ndjson(&[
            dns.clone(),
            json!({"connect_event": {"event_time": 1, "hostname": "a.example"}}),
        ]),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("day2.txt"),
        format!(
            "{}\nnot json\n[1,2]\n\n{}",
            dns,
            json!({"dns_event": {"event_time": 2, "hostname": "b.example"}})
        ),
    )
    .unwrap();
    let logs = open(dir.path(), DeviceTz::unknown());
    let mods = modules::intrusion_log_modules(&logs);
    let (_, d) = run(mods[0].as_ref());
    assert_eq!(d.records.len(), 2, "the repeated event of day2 is dropped");
    // The connect event has the same data as the DNS event: MVT drops it across types too.
    let (_, c) = run(mods[1].as_ref());
    assert_eq!(c.records.len(), 0);
    let bad: Vec<_> = d
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Partial)
        .collect();
    assert_eq!(bad.len(), 1);
    assert!(bad[0].message.starts_with("2 lines"), "{}", bad[0].message);
}

#[test]
fn security_heuristics_and_texts() {
    let dir = tempfile::tempdir().unwrap();
    let t = 1_700_000_000_000_000_000_i64;
    std::fs::write(
        dir.path().join("sec.txt"),
        ndjson(&[
            json!({"security_event": {"event_id": 1, "event_time": t, "keyguard_dismiss_auth_attempt": {"success": true, "method_strength": 1}}}),
            json!({"security_event": {"event_id": 2, "event_time": t, "keyguard_dismissed": {}}}),
            json!({"security_event": {"event_time": t, "key_generated": {"success": false, "key_id": "PinStorage_crossReboot_key", "uid": 1001}}}),
            json!({"security_event": {"event_time": t, "cert_authority_installed": {"success": true, "subject": "CN=Evil"}}}),
            json!({"security_event": {"event_time": t + 1, "cert_authority_installed": {"success": false, "subject": "CN=Failed"}}}),
            json!({"security_event": {"event_time": t + 2, "cert_authority_installed": {"success": 0, "subject": "CN=Zero"}}}),
            json!({"security_event": {"event_time": t, "cert_validation_failure": "bad chain"}}),
            json!({"security_event": {"event_time": t, "wipe_failure": {}}}),
            json!({"security_event": {"event_time": t, "key_integrity_violation": {"key_id": "k1"}}}),
            json!({"security_event": {"event_time": t, "crypto_self_test_completed": 0}}),
            json!({"security_event": {"event_time": t, "package_installed": {"package_name": "com.evil", "version_code": 3, "user_id": 0}}}),
            json!({"security_event": {"event_time": t, "adb_sync_send_file": {"path": "/data/local/tmp/x"}}}),
        ]),
    )
    .unwrap();
    let logs = open(dir.path(), DeviceTz::unknown());
    let (_, sec) = run(modules::intrusion_log_modules(&logs)[2].as_ref());
    assert_eq!(sec.records.len(), 12);
    let texts: Vec<&str> = sec.timeline().map(|e| e.data.as_str()).collect();
    assert_eq!(texts[0], "Auth attempt: Success (method strength: 1)");
    assert_eq!(texts[1], "Keyguard dismissed");
    assert_eq!(
        texts[2],
        "Key generation failed: PinStorage_crossReboot_key (UID: 1001)"
    );
    assert_eq!(texts[10], "Package Installed: com.evil (v3, user: 0)");
    let alerts: Vec<(Level, &str)> = sec
        .heuristics()
        .map(|h| (h.level, h.message.as_str()))
        .collect();
    assert_eq!(
        alerts,
        [
            (Level::Medium, "Certificate authority installed: CN=Evil"),
            (
                Level::Medium,
                "Certificate validation failure detected: bad chain"
            ),
            (Level::Medium, "Device wipe failure detected"),
            (
                Level::Medium,
                "Key integrity violation detected: {'key_id': 'k1'}"
            ),
            (Level::Medium, "Cryptographic self test failed"),
        ]
    );
    assert!(sec.heuristics().all(|h| h.event_time.is_some()));
    assert!(observes(
        &sec.records[10],
        ObservableKind::AppId,
        "com.evil"
    ));
    assert!(observes(
        &sec.records[11],
        ObservableKind::FilePath,
        "/data/local/tmp/x"
    ));
    assert_eq!(
        security_event::tag_of(&sec.records[0].data),
        Some("keyguard_dismiss_auth_attempt")
    );
}

#[test]
fn nested_zips_and_aqf_intrusion_logs_with_unsafe_names() {
    let dir = tempfile::tempdir().unwrap();
    let inner_dir = tempfile::tempdir().unwrap();
    let inner = inner_dir.path().join("inner.zip");
    write_zip(
        &inner,
        &[(
            "logs/day.txt",
            json!({"dns_event": {"event_time": 5, "hostname": "nested.example"}})
                .to_string()
                .as_bytes(),
        )],
    );
    let inner_bytes = std::fs::read(&inner).unwrap();
    let aqf = dir.path().join("acq.zip");
    write_zip(
        &aqf,
        &[
            ("acq/getprop.txt", b"[persist.sys.timezone]: [Asia/Tokyo]\n"),
            (
                "acq/intrusion_logs/a.txt",
                json!({"dns_event": {"event_time": 6, "hostname": "top.example"}})
                    .to_string()
                    .as_bytes(),
            ),
            ("acq/intrusion_logs/more.zip", &inner_bytes),
            ("acq/intrusion_logs/XX/x.txt", b"{}"),
        ],
    );
    // Make the last name a zip-slip (`..`): writers refuse to, so patch the bytes.
    let mut bytes = std::fs::read(&aqf).unwrap();
    let from = b"intrusion_logs/XX/x.txt";
    let to = b"intrusion_logs/../x.txt";
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
        }
        i += 1;
    }
    std::fs::write(&aqf, &bytes).unwrap();
    let log = EvidenceLog::new();
    let a = Arc::new(
        bridle_android::AndroidQf::open(&aqf, log.clone(), &bridle_android::OpenOptions::default())
            .unwrap(),
    );
    assert_eq!(a.tz().name(), Some("Asia/Tokyo"));
    let (_, d) = run_slug(&modules::androidqf_modules(&a), "dns_event");
    let hosts: Vec<&str> = d.records.iter().map(|r| field(r, "hostname")).collect();
    assert_eq!(hosts, ["top.example", "nested.example"]);
    assert_eq!(field(&d.records[0], "device_timezone"), "Asia/Tokyo");
    let nested = d.records[1].source.file.as_ref().unwrap();
    assert_eq!(
        nested.stored_path,
        "acq/intrusion_logs/more.zip!/logs/day.txt"
    );
    let skipped: Vec<_> = log
        .problems()
        .into_iter()
        .filter(|p| p.kind == ProblemKind::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]
            .file
            .as_deref()
            .unwrap()
            .ends_with("intrusion_logs/../x.txt")
    );
}
