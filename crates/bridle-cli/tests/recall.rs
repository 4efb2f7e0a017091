//! Recall on synthetic acquisitions with planted indicators (../shared/bench/gen_ios_backup.py
//! and gen_ios_fs.py at their "small" scale): every planted indicator is found on the record it
//! was planted in, every heuristic trigger fires, and no decoy is flagged. MVT finds 46 of 50
//! and flags 34 of 85 decoys on the medium backup, and 42 of 50 with 31 of 81 decoys flagged on
//! the medium dump.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::Value;

#[test]
fn every_planted_indicator_found_and_no_decoy_flagged() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let backup = tmp.path().join("small");
    let status = std::process::Command::new("python3")
        .arg(shared.join("bench/gen_ios_backup.py"))
        .args([
            "--out",
            backup.to_str().unwrap(),
            "--seed",
            "1",
            "--sms",
            "10000",
        ])
        .args([
            "--history",
            "10000",
            "--processes",
            "300",
            "--files",
            "1000",
        ])
        .args(["--whatsapp", "5000", "--plant-count", "50"])
        .arg("--plant")
        .arg(shared.join("iocs"))
        .status()
        .expect("python3 is needed to generate the test backup");
    assert!(status.success(), "the generator failed");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("small.truth.json")).unwrap())
            .unwrap();

    let out = tmp.path().join("out");
    let iocs = shared.join("iocs");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        iocs.to_str().unwrap(),
        "--only-given-iocs",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let alerts = read_json(&out.join("alerts.json"));
    let indicator_alerts: Vec<&Value> = alerts
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| !a["matched_indicator"].is_null())
        .collect();

    let mut missed = Vec::new();
    for p in truth["planted"].as_array().unwrap() {
        let module = p["module"].as_str().unwrap();
        let value = p["value"].as_str().unwrap();
        let placed = p["placed"].as_str().unwrap();
        let found = indicator_alerts.iter().any(|a| {
            a["module"] == module
                && a["matched_indicator"]["value"].as_str() == Some(value)
                && a["event"].to_string().contains(placed)
        });
        if !found {
            missed.push(format!("{} {module} {value} ({})", p["id"], p["variant"]));
        }
    }
    let mut flagged = Vec::new();
    for d in truth["decoys"].as_array().unwrap() {
        let placed = d["placed"].as_str().unwrap();
        let module = d["module"].as_str().unwrap();
        if indicator_alerts.iter().any(|a| {
            a["module"] == module
                && (a["matched_indicator"]["observable_value"]
                    .as_str()
                    .is_some_and(|v| v.contains(placed))
                    || a["event"].to_string().contains(placed))
        }) {
            flagged.push(format!("{} {module} {placed}", d["id"]));
        }
    }
    let planted = truth["planted"].as_array().unwrap().len();
    assert!(
        missed.is_empty(),
        "missed {} of {planted}: {missed:#?}",
        missed.len()
    );
    assert!(flagged.is_empty(), "decoys flagged: {flagged:#?}");
}

/// Checks an acquisition's output against a generator's truth file: (missed plants, flagged
/// decoys, heuristic triggers that did not fire).
fn compare(out: &std::path::Path, truth: &Value) -> (Vec<String>, Vec<String>, Vec<String>) {
    // The sysdiagnose generator calls the crash-report artifact `crash_ips`.
    let slug = |m: &str| {
        if m == "crash_ips" {
            "crash_reports".to_owned()
        } else {
            m.to_owned()
        }
    };
    let alerts = read_json(&out.join("alerts.json"));
    let alerts = alerts.as_array().unwrap();
    let indicator: Vec<&Value> = alerts
        .iter()
        .filter(|a| !a["matched_indicator"].is_null())
        .collect();
    let heuristic: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["matched_indicator"].is_null())
        .collect();
    let mut missed = Vec::new();
    for p in truth["planted"].as_array().unwrap() {
        let module = slug(p["module"].as_str().unwrap());
        let module = module.as_str();
        let value = p["value"].as_str().unwrap();
        let placed = p["placed"].as_str().unwrap();
        if !indicator.iter().any(|a| {
            a["module"] == module
                && a["matched_indicator"]["value"].as_str() == Some(value)
                && (a["event"].to_string().contains(placed)
                    || a["matched_indicator"]["observable_value"]
                        .as_str()
                        .is_some_and(|v| v.contains(placed) || placed.contains(v)))
        }) {
            missed.push(format!("{} {module} {value} ({})", p["id"], p["variant"]));
        }
    }
    let mut flagged = Vec::new();
    for d in truth["decoys"].as_array().unwrap() {
        let placed = d["placed"].as_str().unwrap();
        let module = slug(d["module"].as_str().unwrap());
        let module = module.as_str();
        if indicator.iter().any(|a| {
            a["module"] == module
                && a["matched_indicator"]["observable_value"]
                    .as_str()
                    .is_some_and(|v| v.contains(placed))
        }) {
            flagged.push(format!("{} {module} {placed}", d["id"]));
        }
    }
    let mut silent = Vec::new();
    for h in truth["heuristics"].as_array().into_iter().flatten() {
        let module = slug(h["module"].as_str().unwrap());
        let module = module.as_str();
        let level = h["severity"].as_str().unwrap().to_uppercase();
        let placed = h["placed"].as_str();
        if !heuristic.iter().any(|a| {
            a["module"] == module
                && a["level"] == level.as_str()
                && placed.is_none_or(|p| {
                    a["message"].as_str().is_some_and(|m| m.contains(p))
                        || a["event"].to_string().contains(p)
                })
        }) {
            silent.push(format!("{} {module} {} {:?}", h["id"], h["kind"], placed));
        }
    }
    (missed, flagged, silent)
}

#[test]
fn filesystem_dump_folder_and_tar_recall() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let dump = tmp.path().join("dump");
    let tar = tmp.path().join("dump.tar.gz");
    let status = std::process::Command::new("python3")
        .arg(shared.join("bench/gen_ios_fs.py"))
        .args([
            "--out",
            dump.to_str().unwrap(),
            "--seed",
            "1",
            "--sms",
            "10000",
        ])
        .args([
            "--history",
            "10000",
            "--processes",
            "300",
            "--files",
            "1000",
        ])
        .args(["--whatsapp", "5000", "--plant-count", "50", "--plant"])
        .arg(shared.join("iocs"))
        .arg("--tar")
        .arg(&tar)
        .status()
        .expect("python3 is needed to generate the test dump");
    assert!(status.success(), "the generator failed");
    let truth: Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("dump.truth.json")).unwrap())
            .unwrap();
    let iocs = shared.join("iocs");
    for (i, input) in [&dump, &tar].into_iter().enumerate() {
        let out = tmp.path().join(format!("out{i}"));
        let o = run(&[
            "check",
            input.to_str().unwrap(),
            "--iocs",
            iocs.to_str().unwrap(),
            "--only-given-iocs",
            "--output",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code(&o), 1, "{}", stderr(&o));
        let (missed, flagged, silent) = compare(&out, &truth);
        assert!(missed.is_empty(), "{}: missed {missed:#?}", input.display());
        assert!(
            flagged.is_empty(),
            "{}: decoys flagged {flagged:#?}",
            input.display()
        );
        assert!(
            silent.is_empty(),
            "{}: heuristics silent {silent:#?}",
            input.display()
        );
    }
}

#[test]
fn sysdiagnose_archive_recall() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp
        .path()
        .join("sysdiagnose_2025.03.14_09-26-53+0100_iPhone-OS_iPhone_22D82.tar.gz");
    let status = std::process::Command::new("python3")
        .arg(shared.join("bench/gen_sysdiagnose.py"))
        .args([
            "--out",
            archive.to_str().unwrap(),
            "--seed",
            "1",
            "--plant-count",
            "20",
        ])
        .args(["--logarchive-mb", "1", "--plant"])
        .arg(shared.join("iocs"))
        .status()
        .expect("python3 is needed to generate the test archive");
    assert!(status.success(), "the generator failed");
    let truth_path = archive.with_file_name(
        archive
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".tar.gz", ".truth.json"),
    );
    let truth: Value = serde_json::from_slice(&std::fs::read(truth_path).unwrap()).unwrap();
    let out = tmp.path().join("out");
    let iocs = shared.join("iocs");
    let o = run(&[
        "check",
        archive.to_str().unwrap(),
        "--iocs",
        iocs.to_str().unwrap(),
        "--only-given-iocs",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let (missed, flagged, silent) = compare(&out, &truth);
    assert!(missed.is_empty(), "missed {missed:#?}");
    assert!(flagged.is_empty(), "decoys flagged {flagged:#?}");
    assert!(silent.is_empty(), "heuristics silent {silent:#?}");
}
