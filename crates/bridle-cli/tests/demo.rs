//! The demo acquisition shipped in the repository: a fresh machine's first command.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn demo_check_finds_the_planted_indicators() {
    let (backup, stix) = demo();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("results");
    let before = tree_hash(&backup);
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let alerts = read_json(&dir.join("alerts.json"));
    let alerts = alerts.as_array().unwrap();
    let modules: Vec<&str> = alerts
        .iter()
        .map(|a| a["module"].as_str().unwrap())
        .collect();
    assert!(modules.contains(&"sms"), "{modules:?}");
    assert!(modules.contains(&"tcc"), "{modules:?}");
    assert!(modules.contains(&"manifest"), "{modules:?}");
    for a in alerts.iter().filter(|a| !a["matched_indicator"].is_null()) {
        let m = &a["matched_indicator"];
        assert_eq!(m["stix2_file_name"], "demo.stix2");
        assert!(m["stix_id"].as_str().unwrap().starts_with("indicator--"));
        assert_eq!(a["provenance"]["sha256"].as_str().unwrap().len(), 64);
    }
    for f in bridle_engine::OUTPUT_FILES {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    assert_eq!(tree_hash(&backup), before, "the evidence changed");
}

#[test]
fn same_input_same_output_bytes() {
    let (backup, stix) = demo();
    let out = tempfile::tempdir().unwrap();
    let mut trees = Vec::new();
    for name in ["a", "b"] {
        let dir = out.path().join(name);
        let o = run(&[
            "check",
            backup.to_str().unwrap(),
            "--iocs",
            stix.to_str().unwrap(),
            "--output",
            dir.to_str().unwrap(),
            "--jobs",
            if name == "a" { "1" } else { "4" },
        ]);
        assert_eq!(code(&o), 1);
        // info.json and report.html hold the run's own metadata (times, command line, paths),
        // and the results manifest hashes them: everything else must be identical.
        let tree: Vec<_> = tree_hash(&dir)
            .into_iter()
            .filter(|(p, _)| {
                !["info.json", "report.html", "bridle-manifest.json"].contains(&p.as_str())
            })
            .collect();
        trees.push(tree);
    }
    assert!(trees[0].len() > 5);
    assert_eq!(trees[0], trees[1]);
}

#[test]
fn output_inside_the_evidence_is_refused() {
    let (backup, stix) = demo();
    let inside = backup.join("results");
    let o = run(&[
        "check",
        backup.to_str().unwrap(),
        "--iocs",
        stix.to_str().unwrap(),
        "--output",
        inside.to_str().unwrap(),
    ]);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("inside the evidence"), "{}", stderr(&o));
    assert!(!inside.exists());
}

#[test]
fn no_indicators_and_print_only() {
    let (backup, _) = demo();
    let o = run(&["check", backup.to_str().unwrap()]);
    // Without indicators nothing matches; the demo has no severe heuristic.
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stderr(&o).contains("NOTHING FOUND"));
}

#[test]
fn not_an_acquisition_is_exit_2() {
    let empty = tempfile::tempdir().unwrap();
    let o = run(&["check", empty.path().to_str().unwrap()]);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("not a recognised acquisition"),
        "{}",
        stderr(&o)
    );
    let o = run(&["check", "/no/such/path"]);
    assert_eq!(code(&o), 2);
}

#[test]
fn unknown_module_is_refused_and_modules_listed() {
    let (backup, _) = demo();
    let o = run(&["check", backup.to_str().unwrap(), "--module", "nope"]);
    assert_eq!(code(&o), 2);
    let o = run(&["check", "--list-modules"]);
    assert_eq!(code(&o), 0);
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(list.lines().any(|l| l.starts_with("sms ")), "{list}");
    assert!(list.contains("ios_fs:"), "{list}");
}

#[test]
fn demo_is_reproducible() {
    // The committed demo must be exactly what the generator writes.
    let out = tempfile::tempdir().unwrap();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "bridle-demo", "--"])
        .arg(out.path())
        .current_dir(repo())
        .status()
        .unwrap();
    assert!(status.success());
    let (backup, stix) = demo();
    assert_eq!(tree_hash(&out.path().join("backup")), tree_hash(&backup));
    assert_eq!(
        std::fs::read(out.path().join("demo.stix2")).unwrap(),
        std::fs::read(stix).unwrap()
    );
}
