//! `bridle check` on MVT's own iOS backup fixture gives MVT's record counts, timeline and
//! detections (reference/mvt-features.md §5.2 and §7). MVT's numbers are expectations here,
//! never values in the code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use std::path::Path;

fn records(out: &Path, module: &str) -> usize {
    match read_json(&out.join(format!("{module}.json"))) {
        serde_json::Value::Array(a) => a.len(),
        serde_json::Value::Object(o) => o.len(),
        _ => panic!("{module}.json is neither a list nor an object"),
    }
}

#[test]
fn parity_with_mvt_on_its_backup_fixture() {
    let shared = shared();
    let backup = shared.join("fixtures/mvt/ios_backup");
    let stix = shared.join("fixtures/mvt/stix2/test.stix2");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let before = tree_hash(&backup);
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(tree_hash(&backup), before);

    for (module, n) in [
        ("manifest", 3721),
        ("datausage", 42),
        ("tcc", 11),
        ("global_preferences", 16),
        ("whatsapp", 6),
        ("whatsapp_contacts", 2),
        ("interaction_c", 3),
        ("calendar", 1),
        ("sms", 1),
        ("safari_browser_state", 1),
        ("webkit_resource_load_statistics", 2),
        ("backup_info", 18),
    ] {
        assert_eq!(records(&out, module), n, "{module}");
    }
    // The same files as MVT: modules with no records write no <module>.json.
    for absent in ["safari_history", "sms_attachments", "shortcuts", "calls"] {
        assert!(!out.join(format!("{absent}.json")).exists(), "{absent}");
    }

    let timeline = std::fs::read_to_string(out.join("timeline.csv")).unwrap();
    assert_eq!(timeline.lines().count() - 1, 5981, "timeline rows");
    let per_plugin = |p: &str| {
        timeline
            .lines()
            .filter(|l| l.split("\",\"").nth(1) == Some(p))
            .count()
    };
    for (plugin, n) in [
        ("Manifest", 5881),
        ("Datausage", 60),
        ("TCC", 11),
        ("Whatsapp", 9),
        ("InteractionC", 6),
        ("WhatsappContacts", 5),
        ("Calendar", 4),
        ("SMS", 2),
        ("WebkitResourceLoadStatistics", 2),
        ("SafariBrowserState", 1),
    ] {
        assert_eq!(per_plugin(plugin), n, "timeline rows of {plugin}");
    }

    let alerts = read_json(&out.join("alerts.json"));
    let alerts = alerts.as_array().unwrap();
    let indicator: Vec<(&str, &str)> = alerts
        .iter()
        .filter(|a| !a["matched_indicator"].is_null())
        .map(|a| {
            (
                a["module"].as_str().unwrap(),
                a["matched_indicator"]["value"].as_str().unwrap(),
            )
        })
        .collect();
    let mut sorted = indicator.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            ("sms", "example.org"),
            ("tcc", "Launch"),
            ("whatsapp", "example.org")
        ]
    );
    let heuristics: Vec<(&str, &str)> = alerts
        .iter()
        .filter(|a| a["matched_indicator"].is_null())
        .map(|a| (a["module"].as_str().unwrap(), a["level"].as_str().unwrap()))
        .collect();
    assert_eq!(heuristics.len(), 2, "{heuristics:?}");
    assert!(heuristics.contains(&("datausage", "LOW")));
    assert!(heuristics.contains(&("global_preferences", "INFORMATIONAL")));
    for m in ["sms", "tcc", "whatsapp", "datausage", "global_preferences"] {
        assert!(
            out.join(format!("{m}_detected.json")).is_file(),
            "{m}_detected.json"
        );
    }
}

#[test]
fn backup_found_one_folder_down() {
    let shared = shared();
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("MobileSync/Backup");
    copy_tree(
        &shared.join("fixtures/mvt/ios_backup"),
        &parent.join("00008030-001A2B3C4D5E6F70"),
    );
    let o = run(&["check", parent.to_str().unwrap(), "--module", "tcc"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("Checked 1 of 1 modules"),
        "{}",
        stderr(&o)
    );
}
