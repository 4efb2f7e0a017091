//! Recall on a synthetic backup with planted indicators (../shared/bench/gen_ios_backup.py at
//! its "small" scale): every planted indicator is found on the record it was planted in, and
//! no decoy is flagged. MVT finds 46 of 50 and flags 34 of 85 decoys at medium scale.

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
